"""Cross-run comparison: one leaderboard from several finished run folders, and document diffs.

Reads only what a finished run wrote (``manifest.json``, ``scores.json``,
``documents.csv``); nothing is re-scored. Runs are comparable when their test
data has the same content hash and each shared metric has the same sacrebleu
signature (``bs:`` and ``seed:`` are ignored: they change the confidence
interval, not the score). ``allow_mismatch`` turns those errors into marks
on the affected rows.

Rank clusters come from each run's own significance tests. A run folder
keeps per-segment *scores*, not the per-segment sufficient statistics that
paired tests resample, so significance between systems of different runs is
not recomputed; the tables say so whenever more than one run is shown.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import DataError
from evalmt.report.run_dir import MANIFEST
from evalmt.report.tables import latex_escape

if TYPE_CHECKING:
    from evalmt.report.manifest import Manifest

FORMATS = ("md", "tex", "csv", "json")
#: Signature fields that describe the CI resampling, not how the score was computed.
CI_FIELDS = ("bs", "seed")
CLUSTER_NOTE = ("rank clusters are each run's own: significance between systems of different "
                "runs is not recomputed (run folders keep per-segment scores, not the "
                "sufficient statistics paired tests need)")


@dataclass(frozen=True)
class RunScores:
    """The scores of one data set of one finished run, as read from its folder."""

    path: Path
    run: str
    dataset: str
    folder: Path
    content_sha256: str | None
    metrics: tuple[str, ...]
    systems: tuple[str, ...]
    signatures: Mapping[str, str]
    scores: Mapping[tuple[str, str], Mapping[str, Any]]
    #: Per metric, as scores.json records it (runs written before it was recorded: empty).
    higher: Mapping[str, bool] = field(default_factory=dict)
    #: Which test, unit, correction and alpha formed the run's rank clusters ("" if unknown).
    cluster_rule: str = ""


@dataclass(frozen=True)
class Cell:
    """One system × metric cell of a leaderboard."""

    score: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    cluster: int | None = None


@dataclass(frozen=True)
class LeaderboardRow:
    """One system of one run, with a cell per leaderboard metric and its mismatch marks."""

    rank: int
    run: str
    system: str
    cells: tuple[Cell, ...]
    mismatch: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leaderboard:
    """Systems of several runs × metrics, sorted by ``sort_metric``."""

    metrics: tuple[str, ...]
    sort_metric: str
    rows: tuple[LeaderboardRow, ...]
    signatures: Mapping[str, str]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentDelta:
    """One document's scores under two systems; ``delta`` = ``score_b`` - ``score_a``."""

    doc_id: str
    score_a: float
    score_b: float
    delta: float
    num_segments: int


@dataclass(frozen=True)
class DocumentDiff:
    """Per-document deltas between two systems, largest disagreement first."""

    metric: str
    system_a: str
    system_b: str
    rows: tuple[DocumentDelta, ...]
    documents: int
    b_better: int
    a_better: int
    mean_delta: float


def higher_is_better(metric: str, recorded: Mapping[str, bool] | None = None) -> bool:
    """Tell whether a larger score is better, as the run recorded it.

    Runs that did not record it fall back to the name: TER is an error rate.
    """
    if recorded and metric in recorded:
        return bool(recorded[metric])
    return not metric.upper().startswith("TER")


def ci_free_signature(signature: str) -> str:
    """Drop the CI resampling fields (``bs:``, ``seed:``) from a sacrebleu signature."""
    return "|".join(p for p in signature.split("|") if p.split(":", 1)[0] not in CI_FIELDS)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: missing; is this a finished evalmt run folder?") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable JSON: {exc}") from exc


def read_manifest(run_path: str | Path) -> Manifest:
    """Read the manifest of a finished run; refuse an unfinished one."""
    from evalmt.report.manifest import load_manifest

    path = Path(run_path)
    manifest = load_manifest(path / MANIFEST)
    if manifest.status != "complete":
        raise DataError(f"{path / MANIFEST}: run status is {manifest.status!r}, "
                        "not 'complete'; finish or rerun it first")
    return manifest


def dataset_folder(run_path: Path, manifest: Manifest, dataset: str) -> Path:
    """Return the folder holding the tables of ``dataset`` in a run."""
    return (run_path / manifest.datasets[dataset].folder).resolve()


def pick_dataset(run_path: Path, manifest: Manifest, dataset: str | None) -> str:
    """Return ``dataset`` if the run has it, or the run's only data set when none is given."""
    names = list(manifest.datasets)
    if dataset is None:
        if len(names) != 1:
            raise DataError(f"{run_path}: run has data sets {', '.join(names)}; "
                            "choose one with --dataset")
        return names[0]
    if dataset not in names:
        raise DataError(f"{run_path}: no data set {dataset!r}; available: {', '.join(names)}")
    return dataset


def load_run(run_path: str | Path, *, dataset: str | None = None) -> RunScores:
    """Read one data set's corpus scores and provenance from a finished run folder."""
    path = Path(run_path)
    manifest = read_manifest(path)
    name = pick_dataset(path, manifest, dataset)
    folder = dataset_folder(path, manifest, name)
    doc = _read_json(folder / "scores.json")
    rows = doc.get("scores", []) if isinstance(doc, dict) else []
    signatures: dict[str, str] = {}
    scores: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in rows:
        signatures.setdefault(row["metric"], row.get("signature", ""))
        scores[(row["system"], row["metric"])] = row
    return RunScores(path=path, run=manifest.run or path.name, dataset=name,
                     folder=folder,
                     content_sha256=manifest.datasets[name].content_sha256,
                     metrics=tuple(doc.get("metrics") or signatures),
                     systems=tuple(doc.get("systems") or dict.fromkeys(s for s, _ in scores)),
                     signatures=signatures, scores=scores,
                     higher=dict(doc.get("higher_is_better") or {}) if isinstance(doc, dict)
                     else {},
                     cluster_rule=str(doc.get("cluster_rule") or "") if isinstance(doc, dict)
                     else "")


def label_runs(runs: Sequence[RunScores]) -> list[RunScores]:
    """Give runs that share a run name their folder path as label, so rows stay tellable."""
    names = [r.run for r in runs]
    return [replace(r, run=str(r.path)) if names.count(r.run) > 1 else r for r in runs]


def _problems(runs: Sequence[RunScores]) -> dict[int, list[str]]:
    """Mismatches of each run against the first one: index → marks like ``data``, ``sig:BLEU``."""
    first = runs[0]
    found: dict[int, list[str]] = {}
    for i, run in enumerate(runs[1:], start=1):
        if run.content_sha256 != first.content_sha256:
            found.setdefault(i, []).append("data")
        for metric in run.metrics:
            if metric in first.signatures and (ci_free_signature(run.signatures[metric])
                                               != ci_free_signature(first.signatures[metric])):
                found.setdefault(i, []).append(f"sig:{metric}")
    return found


def _describe(mark: str, run: RunScores, first: RunScores) -> str:
    if mark == "data":
        return (f"{run.path}: test data differs from {first.path} (content_sha256 "
                f"{str(run.content_sha256)[:12]} vs {str(first.content_sha256)[:12]})")
    metric = mark.split(":", 1)[1]
    return (f"{run.path}: {metric} signature {ci_free_signature(run.signatures[metric])!r} "
            f"differs from {first.path}'s {ci_free_signature(first.signatures[metric])!r}")


def build_leaderboard(runs: Sequence[RunScores], *, metric: str | None = None,
                      allow_mismatch: bool = False) -> Leaderboard:
    """Merge the runs' systems into one table sorted by ``metric`` (default: the first one).

    Raises ``DataError`` on different test data or metric signatures unless
    ``allow_mismatch``, which marks the affected rows instead.
    """
    if not runs:
        raise DataError("compare: no run folders given")
    runs = label_runs(runs)
    first = runs[0]
    problems = _problems(runs)
    notes = []
    for i, marks in problems.items():
        messages = [_describe(m, runs[i], first) for m in marks]
        if not allow_mismatch:
            raise DataError(f"{messages[0]} (pass --allow-mismatch to compare anyway)")
        notes += [f"mismatch: {m}" for m in messages]
    metrics = tuple(dict.fromkeys(m for r in runs for m in r.metrics))
    sort_metric = metric or metrics[0]
    if sort_metric not in metrics:
        raise DataError(f"compare: no metric {sort_metric!r} in these runs; "
                        f"available: {', '.join(metrics)}")
    unsorted = []
    for i, run in enumerate(runs):
        for system in run.systems:
            cells = tuple(_cell(run.scores.get((system, m))) for m in metrics)
            unsorted.append((run.run, system, cells, tuple(problems.get(i, ()))))
    col = metrics.index(sort_metric)
    recorded = {m: h for r in runs for m, h in r.higher.items()}
    sign = -1.0 if higher_is_better(sort_metric, recorded) else 1.0
    unsorted.sort(key=lambda r: (r[2][col].score is None,
                                 sign * (r[2][col].score or 0.0)))
    rows = tuple(LeaderboardRow(rank, *r) for rank, r in enumerate(unsorted, start=1))
    if any(c.cluster is not None for r in rows for c in r.cells):
        notes[:0] = _cluster_rule_notes(runs)
    if len(runs) > 1 and any(c.cluster is not None for r in rows for c in r.cells):
        notes.insert(0, CLUSTER_NOTE)
    signatures = {m: next(r.signatures[m] for r in runs if m in r.signatures) for m in metrics}
    return Leaderboard(metrics, sort_metric, rows, signatures, tuple(notes))


def _cluster_rule_notes(runs: Sequence[RunScores]) -> list[str]:
    """Say which test, correction and alpha formed each run's clusters (once if all agree)."""
    rules = {r.run: r.cluster_rule or "not recorded (run written before evalmt recorded it)"
             for r in runs}
    if len(set(rules.values())) == 1:
        return [f"rank clusters: {next(iter(rules.values()))}"]
    return [f"rank clusters of {run}: {rule}" for run, rule in rules.items()]


def _cell(row: Mapping[str, Any] | None) -> Cell:
    if row is None:
        return Cell(None)
    return Cell(row.get("score"), row.get("ci_low"), row.get("ci_high"), row.get("cluster"))


def _fmt(cell: Cell) -> str:
    if cell.score is None:
        return "–"
    text = f"{cell.score:.2f}"
    if cell.ci_low is not None and cell.ci_high is not None:
        text += f" [{cell.ci_low:.2f}, {cell.ci_high:.2f}]"
    if cell.cluster is not None:
        text += f" ({cell.cluster})"
    return text


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_leaderboard(board: Leaderboard, fmt: str) -> str:
    """Render a leaderboard as ``md``, ``tex``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps({"sort_metric": board.sort_metric, "metrics": list(board.metrics),
                           "signatures": dict(board.signatures), "notes": list(board.notes),
                           "rows": [asdict(r) for r in board.rows]},
                          indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = [("rank", "run", "system", "metric", "score", "ci_low", "ci_high", "cluster",
                "mismatch", "signature")]
        for r in board.rows:
            for m, c in zip(board.metrics, r.cells, strict=True):
                out.append((r.rank, r.run, r.system, m, c.score, c.ci_low, c.ci_high,
                            c.cluster, ";".join(r.mismatch), board.signatures[m]))
        return _csv(out)
    if fmt == "md":
        lines = ["| rank | system | run | " + " | ".join(_md(m) for m in board.metrics) + " |",
                 "|---:|---|---|" + "---:|" * len(board.metrics)]
        for r in board.rows:
            flag = f" ⚠ {', '.join(r.mismatch)}" if r.mismatch else ""
            lines.append(f"| {r.rank} | {_md(r.system)}{flag} | {_md(r.run)} | "
                         + " | ".join(_fmt(c) for c in r.cells) + " |")
        lines += ["", f"Cells: score [95% CI] (rank cluster). Sorted by {board.sort_metric}.", ""]
        lines += [f"- {_md(m)}: `{s}`" for m, s in board.signatures.items()]
        lines += [f"- note: {_md(n)}" for n in board.notes]
        return "\n".join(lines) + "\n"
    if fmt == "tex":
        return _latex(["Rank", "System", "Run", *map(latex_escape, board.metrics)],
                      "rll" + "r" * len(board.metrics),
                      [[str(r.rank), latex_escape(r.system) + (r"$^\dagger$" if r.mismatch
                                                                else ""),
                        latex_escape(r.run), *(_tex_cell(c) for c in r.cells)]
                       for r in board.rows],
                      [f"{m}: {s}" for m, s in board.signatures.items()] + list(board.notes))
    raise DataError(f"compare: unknown format {fmt!r}; available: {', '.join(FORMATS)}")


def _tex_cell(cell: Cell) -> str:
    if cell.score is None:
        return "--"
    extra = _fmt(cell)[len(f"{cell.score:.2f}"):].strip()
    return f"{cell.score:.2f}" + (f" {{\\small {extra}}}" if extra else "")


def _latex(header: Sequence[str], spec: str, rows: Sequence[Sequence[str]],
           comments: Sequence[str]) -> str:
    """Build a booktabs ``tabular`` from escaped cells; ``comments`` become ``%`` lines."""
    lines = [f"% {latex_escape(c)}" for c in comments]
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _csv(rows: Sequence[Sequence[Any]]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buf.getvalue()


def resolve_system(runs: Sequence[RunScores], spec: str) -> tuple[RunScores, str]:
    """Find ``system`` or ``run:system`` among the runs; a bare name must be unambiguous."""
    # An exact system name wins over the run:system reading (names may hold ':').
    run_name, _, system = spec.rpartition(":")
    candidates = [(r, spec) for r in runs if spec in r.systems]
    if run_name and not candidates:
        candidates = [(r, system) for r in runs
                      if run_name in (r.run, str(r.path), r.path.name) and system in r.systems]
    if not candidates:
        known = [f"{r.run}:{s}" for r in runs for s in r.systems]
        raise DataError(f"--diff: no system {spec!r}; available: {', '.join(known)}")
    if len(candidates) > 1:
        raise DataError(f"--diff: system {spec!r} is in several runs; write RUN:SYSTEM "
                        f"({', '.join(f'{r.run}:{s}' for r, s in candidates)})")
    return candidates[0]


def read_document_scores(run: RunScores, system: str, metric: str) -> dict[str, tuple[float, int]]:
    """Return doc_id → (score, num_segments) of one system and metric from ``documents.csv``."""
    path = run.folder / "documents.csv"
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.DictReader(fh)
                    if r["system"] == system and r["metric"] == metric]
    except FileNotFoundError:
        raise DataError(f"{path}: missing; is this a finished evalmt run folder?") from None
    except (OSError, KeyError, csv.Error) as exc:
        raise DataError(f"{path}: unreadable documents table: {exc}") from exc
    return {r["doc_id"]: (float(r["score"]), int(r["num_segments"])) for r in rows}


def document_diff(runs: Sequence[RunScores], system_a: str, system_b: str, *,
                  metric: str | None = None, allow_mismatch: bool = False) -> DocumentDiff:
    """Per-document ``b - a`` deltas of two systems (``system`` or ``run:system``).

    Rows are sorted by the size of the disagreement, largest first.
    """
    runs = label_runs(runs)
    run_a, name_a = resolve_system(runs, system_a)
    run_b, name_b = resolve_system(runs, system_b)
    pair = [run_a, run_b] if run_a is not run_b else [run_a]
    build_leaderboard(pair, metric=metric, allow_mismatch=allow_mismatch)  # same checks
    metric = metric or run_a.metrics[0]
    a = read_document_scores(run_a, name_a, metric)
    b = read_document_scores(run_b, name_b, metric)
    if not a or not b:
        empty = system_a if not a else system_b
        raise DataError(f"--diff: no per-document {metric} scores for {empty!r}")
    shared = [d for d in a if d in b]
    if set(a) != set(b) and not allow_mismatch:
        raise DataError(f"--diff: {system_a!r} and {system_b!r} were scored on different "
                        f"documents ({len(a)} vs {len(b)}, {len(shared)} shared)")
    rows = [DocumentDelta(d, a[d][0], b[d][0], b[d][0] - a[d][0], a[d][1]) for d in shared]
    rows.sort(key=lambda r: (-abs(r.delta), r.doc_id))
    better = 1.0 if higher_is_better(metric, run_a.higher) else -1.0
    return DocumentDiff(
        metric, f"{run_a.run}:{name_a}", f"{run_b.run}:{name_b}", tuple(rows), len(rows),
        b_better=sum(1 for r in rows if better * r.delta > 0),
        a_better=sum(1 for r in rows if better * r.delta < 0),
        mean_delta=sum(r.delta for r in rows) / len(rows) if rows else 0.0)


def render_diff(diff: DocumentDiff, fmt: str, *, top: int | None = 20) -> str:
    """Render the ``top`` largest per-document disagreements (all when ``top`` is None)."""
    rows = diff.rows if top is None else diff.rows[:top]
    summary = (f"{diff.metric}: {diff.system_b} − {diff.system_a} over {diff.documents} "
               f"documents: mean delta {diff.mean_delta:+.2f}; {diff.system_b} better on "
               f"{diff.b_better}, {diff.system_a} better on {diff.a_better}")
    if fmt == "json":
        return json.dumps({**{k: v for k, v in asdict(diff).items() if k != "rows"},
                           "summary": summary, "rows": [asdict(r) for r in rows]},
                          indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv([("doc_id", "score_a", "score_b", "delta", "num_segments")]
                    + [(r.doc_id, r.score_a, r.score_b, r.delta, r.num_segments) for r in rows])
    if fmt == "md":
        lines = [f"| document | {_md(diff.system_a)} | {_md(diff.system_b)} | delta | segments |",
                 "|---|---:|---:|---:|---:|"]
        lines += [f"| {_md(r.doc_id)} | {r.score_a:.2f} | {r.score_b:.2f} | {r.delta:+.2f} | "
                  f"{r.num_segments} |" for r in rows]
        return "\n".join(lines) + f"\n\n{_md(summary)}.\n"
    if fmt == "tex":
        return _latex(["Document", latex_escape(diff.system_a), latex_escape(diff.system_b),
                       r"$\Delta$", "Segments"],
                      "lrrrr",
                      [[latex_escape(r.doc_id), f"{r.score_a:.2f}", f"{r.score_b:.2f}",
                        f"{r.delta:+.2f}", str(r.num_segments)] for r in rows], [summary])
    raise DataError(f"compare: unknown format {fmt!r}; available: {', '.join(FORMATS)}")
