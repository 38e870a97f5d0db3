"""Score tables: render a ``ScoreReport`` as JSON, CSV, Markdown or LaTeX and write them atomically.

Files written by ``write_score_tables``: ``scores.{json,csv,md,tex}``
(system × metric with CI and rank cluster), ``documents.csv``,
``segments.csv``, ``significance.csv`` and, for reports with groupings,
``groups.csv``; ``segment_details.jsonl`` holds per-segment extras of
metrics that have them (XCOMET's ``error_spans``). Every CSV row carries the
sacrebleu signature of its number; Markdown and LaTeX list them under the
table. CSV and JSON keep full precision; Markdown and LaTeX show 2 decimals.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evalmt.errors import EvalMTError
from evalmt.metrics.records import CorpusScore, ScoreReport
from evalmt.report.run_dir import atomic_write_text

FORMATS = ("json", "csv", "md", "tex")
SCORE_COLUMNS = ("system", "metric", "score", "ci_low", "ci_high", "ci_mean", "ci_halfwidth",
                 "ci_unit", "cluster", "rank_low", "rank_high", "signature")
DOCUMENT_COLUMNS = ("system", "metric", "doc_id", "score", "num_segments", "flag", "signature")
GROUP_COLUMNS = ("system", "metric", "grouping", "group", "score", "num_segments", "signature")
SEGMENT_COLUMNS = ("system", "metric", "doc_id", "seg_id", "score", "signature")
SIGNIFICANCE_COLUMNS = ("metric", "method", "unit", "system_a", "system_b", "score_a", "score_b",
                        "delta_b_minus_a", "delta_ci_low", "delta_ci_high", "p_value",
                        "p_mc_error", "p_adjusted", "correction", "alpha", "significant",
                        "samples", "seed", "signature")
#: Said wherever sacrebleu's paired bootstrap appears (docs/scoring.md, "The null experiment").
SACREBLEU_PB_NOTE = ("sacrebleu-paired-bootstrap is sacrebleu's (Moses') paired bootstrap, kept "
                     "for comparability with published numbers; it rejects too often under the "
                     "null (docs/scoring.md)")


def _csv(columns: Sequence[str], rows: Iterable[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def render_csv(report: ScoreReport) -> str:
    """Render the system × metric table as CSV, one row per (system, metric)."""
    return _csv(SCORE_COLUMNS, (asdict(r) for r in report.corpus))


def render_documents_csv(report: ScoreReport) -> str:
    """Render the system × document × metric table as CSV."""
    return _csv(DOCUMENT_COLUMNS, (asdict(r) for r in report.documents))


def render_groups_csv(report: ScoreReport) -> str:
    """Render the scores per group label (e.g. per metadata value) as CSV."""
    return _csv(GROUP_COLUMNS, (asdict(r) for r in report.groups))


def render_segments_csv(report: ScoreReport, alignment_confidence: Mapping[
        tuple[str, str], float] | None = None) -> str:
    """Render the per-segment scores as CSV.

    With ``alignment_confidence`` ((doc_id, seg_id) → the reader's pair
    confidence, bilingual pages) an ``alignment_confidence`` column is added.
    """
    # vars(), not asdict(): the rows hold only scalars, and asdict's deep copy
    # costs seconds for 15 systems x 2,000 segments x 2 metrics.
    if not alignment_confidence:
        return _csv(SEGMENT_COLUMNS, (vars(r) for r in report.segments))
    return _csv((*SEGMENT_COLUMNS, "alignment_confidence"),
                ({**vars(r), "alignment_confidence": alignment_confidence.get((r.doc_id, r.seg_id))}
                 for r in report.segments))


def render_segment_details(report: ScoreReport) -> str:
    """Render the per-segment extras of metrics (e.g. XCOMET ``error_spans``) as JSON lines."""
    return "".join(json.dumps({"system": r.system, "metric": r.metric, "doc_id": r.doc_id,
                               "seg_id": r.seg_id, **r.detail}, ensure_ascii=False) + "\n"
                   for r in report.segments if r.detail)


def render_significance_csv(report: ScoreReport) -> str:
    """Render the pairwise tests as CSV; the header names the direction of the difference."""
    return _csv(SIGNIFICANCE_COLUMNS,
                ({**asdict(t), "delta_b_minus_a": t.delta} for t in report.pairwise))


def render_json(report: ScoreReport, extra: Mapping[str, Any] | None = None) -> str:
    """Render corpus scores, pairwise tests and notes (plus ``extra`` keys) as one JSON document."""
    doc = {
        "systems": list(report.systems),
        "metrics": list(report.metrics),
        "higher_is_better": dict(zip(report.metrics, report.higher_is_better, strict=True)),
        "scores": [asdict(r) for r in report.corpus],
        "significance": [{**asdict(t), "delta_b_minus_a": t.delta} for t in report.pairwise],
        "cluster_rule": report.cluster_rule,
        "notes": _notes(report),
        **({"unavailable": dict(report.unavailable)} if report.unavailable else {}),
        **(extra or {}),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _cell(row: CorpusScore) -> tuple[str, str]:
    """(score text, annotation text) for one table cell."""
    score = f"{row.score:.2f}"
    extra = []
    if row.ci_low is not None:
        extra.append(f"[{row.ci_low:.2f}, {row.ci_high:.2f}]")
    if row.cluster is not None:
        extra.append(f"({row.cluster})")
    if row.rank_low is not None:
        extra.append(f"#{row.rank_low}" if row.rank_low == row.rank_high
                     else f"#{row.rank_low}–{row.rank_high}")
    return score, " ".join(extra)


def _notes(report: ScoreReport) -> list[str]:
    """Return the notes, plus the sacrebleu paired bootstrap label when that test ran."""
    notes = list(report.notes)
    if any(t.method == "sacrebleu-paired-bootstrap" for t in report.pairwise):
        notes.append(SACREBLEU_PB_NOTE)
    return notes


def _grid(report: ScoreReport) -> list[list[CorpusScore]]:
    by_key = {(r.system, r.metric): r for r in report.corpus}
    return [[by_key[(s, m)] for m in report.metrics] for s in report.systems]


def _signatures(report: ScoreReport) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for r in report.corpus:
        seen.setdefault(r.metric, r.signature)
    return list(seen.items())


def _legend(report: ScoreReport) -> str:
    parts = ["score"]
    if any(r.ci_low is not None for r in report.corpus):
        parts.append("[95% CI]")
    if any(r.cluster is not None for r in report.corpus):
        parts.append("(rank cluster)")
    if any(r.rank_low is not None for r in report.corpus):
        parts.append("#bootstrap 95% rank range")
    return " ".join(parts)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _unavailable_cells(report: ScoreReport) -> list[str]:
    """One ``n/a (reason)`` cell per metric that could not be computed."""
    return [f"n/a ({reason})" for _, reason in report.unavailable]


def _columns(report: ScoreReport) -> list[str]:
    """Column names: the scored metrics, then those that could not be computed."""
    return [*report.metrics, *(name for name, _ in report.unavailable)]


def render_markdown(report: ScoreReport) -> str:
    """Render the system × metric table in Markdown; signatures and notes below it."""
    columns = _columns(report)
    header = "| system | " + " | ".join(_md_escape(m) for m in columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    for system, row in zip(report.systems, _grid(report), strict=True):
        cells = [" ".join(p for p in _cell(c) if p) for c in row]
        cells += [_md_escape(c) for c in _unavailable_cells(report)]
        lines.append(f"| {_md_escape(system)} | " + " | ".join(cells) + " |")
    lines += ["", f"Cells: {_legend(report)}.", ""]
    if report.cluster_rule:
        lines += [f"Rank clusters: {_md_escape(report.cluster_rule)}.", ""]
    lines += [f"- {_md_escape(m)}: `{sig}`" for m, sig in _signatures(report)]
    lines += [f"- note: {_md_escape(n)}" for n in _notes(report)]
    return "\n".join(lines) + "\n"


def render_documents_markdown(report: ScoreReport) -> str:
    """Render per-document scores in Markdown: a row per document, system × metric columns."""
    keys = [(sys_, m) for sys_ in report.systems for m in report.metrics]
    score = {(d.doc_id, d.system, d.metric): d.score for d in report.documents}
    segments = {d.doc_id: d.num_segments for d in report.documents}
    header = "| document | segments | " + " | ".join(
        _md_escape(f"{s} {m}") for s, m in keys) + " |"
    lines = [header, "|---|---:|" + "---:|" * len(keys)]
    for doc_id in segments:
        cells = [f"{score[(doc_id, s, m)]:.2f}" if (doc_id, s, m) in score else "n/a"
                 for s, m in keys]
        lines.append(f"| {_md_escape(doc_id)} | {segments[doc_id]} | " + " | ".join(cells) + " |")
    lines += [""] + [f"- {_md_escape(m)}: `{sig}`" for m, sig in _signatures(report)]
    return "\n".join(lines) + "\n"


def render_documents_json(report: ScoreReport) -> str:
    """Render the per-document scores as one JSON document."""
    doc = {"systems": list(report.systems), "metrics": list(report.metrics),
           "documents": [asdict(d) for d in report.documents]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


#: ``evalmt score --per-document``: the per-document table in each format but LaTeX.
DOCUMENT_RENDERERS = {"json": render_documents_json, "csv": render_documents_csv,
                      "md": render_documents_markdown}


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def render_latex(report: ScoreReport) -> str:
    """Render the system × metric table as a booktabs ``tabular``, signatures as comments."""
    lines = [f"% {latex_escape(m)}: {sig}" for m, sig in _signatures(report)]
    if report.cluster_rule:
        lines.append(f"% rank clusters: {report.cluster_rule}")
    columns = _columns(report)
    lines += [r"\begin{tabular}{l" + "r" * len(columns) + "}", r"\toprule",
              "System & " + " & ".join(latex_escape(m) for m in columns) + r" \\",
              r"\midrule"]
    for system, row in zip(report.systems, _grid(report), strict=True):
        cells = []
        for c in row:
            score, extra = _cell(c)
            cells.append(score + (f" {{\\small {extra}}}" if extra else ""))
        cells += [latex_escape(c) for c in _unavailable_cells(report)]
        lines.append(latex_escape(system) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


RENDERERS = {"json": render_json, "csv": render_csv, "md": render_markdown, "tex": render_latex}


def write_score_tables(report: ScoreReport, out_dir: Path, *,
                       formats: Sequence[str] = FORMATS,
                       json_extra: Mapping[str, Any] | None = None,
                       markdown_appendix: str = "",
                       alignment_confidence: Mapping[tuple[str, str], float] | None = None,
                       ) -> list[Path]:
    """Write scores.<fmt> for each format plus documents, segments and significance CSVs.

    ``groups.csv`` is written too when the report has group scores. Other
    stages' tables (e.g. output hygiene) ride along as ``json_extra`` keys of
    scores.json and ``markdown_appendix`` of scores.md. Returns the paths
    written. Each file is written atomically.
    """
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise EvalMTError(f"score table format(s) {', '.join(unknown)} unknown; "
                          f"available: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    written = []
    renderers = {**RENDERERS, "json": lambda r: render_json(r, json_extra),
                 "md": lambda r: render_markdown(r) + (f"\n{markdown_appendix}"
                                                       if markdown_appendix else "")}
    files = [(f"scores.{fmt}", renderers[fmt]) for fmt in formats]
    files += [("documents.csv", render_documents_csv),
              ("segments.csv", lambda r: render_segments_csv(r, alignment_confidence)),
              ("significance.csv", render_significance_csv)]
    if report.groups:
        files.append(("groups.csv", render_groups_csv))
    if any(r.detail for r in report.segments):
        files.append(("segment_details.jsonl", render_segment_details))
    for name, render in files:
        path = out_dir / name
        atomic_write_text(path, render(report))
        written.append(path)
    return written
