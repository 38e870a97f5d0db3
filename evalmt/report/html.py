r"""The self-contained ``report.html`` of a run folder.

``write_html_report(run_dir)`` reads what a finished run wrote
(``manifest.json``, ``scores.json``, ``documents.csv``, ``segments.csv``,
``significance.csv``, ``hypotheses/<system>.jsonl``), packs it into one JSON
payload and renders ``report_template.html`` with ``report.css`` and
``report.js`` inlined: no network, no CDN. The payload sits in a
``<script type="application/json">`` block; ``<``, ``>``, ``&`` and the JS line
separators are written as ``\uXXXX`` escapes, so no text in a segment can
close the block. Nothing is re-scored. The page (plain JavaScript) draws the
summary table, a systems × documents heatmap per metric on a canvas, the
worst documents per system, a paginated segment viewer with word-level
differences against the reference, and the manifest.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import DataError
from evalmt.report.compare import dataset_folder, higher_is_better, read_manifest
from evalmt.report.rescore import hypotheses_path, read_hypotheses
from evalmt.report.run_dir import MANIFEST

if TYPE_CHECKING:
    from evalmt.report.manifest import Manifest

REPORT = "report.html"
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
            "\u2029": "\\u2029"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def _finite(value: Any) -> Any:
    """Replace NaN and infinities (not JSON) by ``None``, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def embed_json(payload: Any) -> str:
    """Serialise ``payload`` as JSON that is safe inside a ``<script>`` element.

    NaN and infinite numbers become ``null``.
    """
    text = json.dumps(_finite(payload), ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return text.translate(_ESCAPE_TABLE)  # one C pass; a per-character join took seconds


def _score(value: Any) -> float | None:
    """Read a score from a CSV cell at full precision (``None`` if missing or not finite).

    Never pre-rounded: the page formats with ``toFixed``, and rounding twice
    (5.41498 → 5.4150 → "5.42") would show a number the tables don't have.
    """
    if value in (None, ""):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: unreadable table: {exc}") from exc


def _error_spans(path: Path, keys: Mapping[tuple[str, str], int], systems: list[str]
                 ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Error spans per system and segment index (XCOMET), from segment_details.jsonl."""
    spans: dict[str, dict[str, list[dict[str, Any]]]] = {}
    if not path.is_file():
        return spans
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        i = keys.get((row.get("doc_id"), str(row.get("seg_id"))))
        if i is None or row.get("system") not in systems or not row.get("error_spans"):
            continue
        spans.setdefault(row["system"], {}).setdefault(str(i), []).extend(
            {**span, "metric": row["metric"]} for span in row["error_spans"])
    return spans


def dataset_payload(run_path: Path, manifest: Manifest, dataset: str) -> dict[str, Any]:
    """Pack one data set's scores, documents and segments into column-wise JSON-ready lists."""
    folder = dataset_folder(run_path, manifest, dataset)
    scores_path = folder / "scores.json"
    try:
        scores = json.loads(scores_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{scores_path}: unreadable score table: {exc}") from exc
    systems, metrics = list(scores["systems"]), list(scores["metrics"])
    segments: dict[str, Any] = {"doc": [], "id": [], "src": [], "ref": [], "hyp": {}}
    keys: dict[tuple[str, str], int] = {}
    doc_ids: list[str] = []
    for system in systems:
        rows = read_hypotheses(hypotheses_path(run_path, manifest, dataset, system))
        if not keys:
            for row in rows:
                if row["doc_id"] not in doc_ids:
                    doc_ids.append(row["doc_id"])
                keys[(row["doc_id"], str(row["seg_id"]))] = len(keys)
                segments["doc"].append(len(doc_ids) - 1)
                segments["id"].append(str(row["seg_id"]))
                segments["src"].append(row.get("src") or "")
                refs = row.get("refs") or [row.get("ref")]
                segments["ref"].append(refs[0] or "")
        hyps = [""] * len(keys)
        for row in rows:
            index = keys.get((row["doc_id"], str(row["seg_id"])))
            if index is None:
                raise DataError(f"hypotheses of {system!r} in {folder}: segment "
                                f"{row['doc_id']}/{row['seg_id']} is not in the test set")
            hyps[index] = row.get("hyp") or ""
        segments["hyp"][system] = hyps
    doc_index = {d: i for i, d in enumerate(doc_ids)}
    doc_scores = {m: {s: [None] * len(doc_ids) for s in systems} for m in metrics}
    doc_sizes = [0] * len(doc_ids)
    doc_flags = [""] * len(doc_ids)
    for row in _read_csv(folder / "documents.csv"):
        i = doc_index.get(row["doc_id"])
        if i is not None and row["metric"] in doc_scores and row["system"] in systems:
            doc_scores[row["metric"]][row["system"]][i] = _score(row["score"])
            doc_sizes[i] = int(row["num_segments"])
            doc_flags[i] = row.get("flag") or ""
    seg_scores = {m: {s: [None] * len(keys) for s in systems} for m in metrics}
    for row in _read_csv(folder / "segments.csv"):
        i = keys.get((row["doc_id"], row["seg_id"]))
        if i is not None and row["metric"] in seg_scores and row["system"] in systems:
            seg_scores[row["metric"]][row["system"]][i] = _score(row["score"])
    segments["scores"] = seg_scores
    segments["spans"] = _error_spans(folder / "segment_details.jsonl", keys, systems)
    entry = manifest.datasets[dataset]
    return {
        "name": dataset, "src_lang": entry.src_lang, "tgt_lang": entry.tgt_lang,
        "systems": systems, "metrics": metrics,
        "higher": [higher_is_better(m, scores.get("higher_is_better")) for m in metrics],
        "scores": scores.get("scores", []), "hygiene": scores.get("hygiene", []),
        "usage": scores.get("usage", []),
        "notes": scores.get("notes", []), "agreement": scores.get("human_agreement", []),
        "cluster_rule": scores.get("cluster_rule") or "",
        "significance": _read_csv(folder / "significance.csv"),
        "docs": {"ids": doc_ids, "segments": doc_sizes, "scores": doc_scores,
                 "flags": doc_flags},
        "segments": segments,
    }


def report_payload(run_dir: str | Path) -> dict[str, Any]:
    """Everything the page shows, read from a finished run folder."""
    run_path = Path(run_dir)
    manifest = read_manifest(run_path)
    datasets = [dataset_payload(run_path, manifest, name) for name in manifest.datasets]
    return {"run": manifest.run or run_path.name, "manifest": manifest.as_json(),
            "datasets": datasets}


def _asset(name: str) -> str:
    return resources.files("evalmt.report").joinpath(name).read_text(encoding="utf-8")


def render_html(payload: Mapping[str, Any]) -> str:
    """Render the page: template with CSS, JS and the escaped JSON payload inlined."""
    page = _asset("report_template.html")
    parts = {"{{title}}": html.escape(f"evalmt report: {payload.get('run', '')}"),
             "{{css}}": _asset("report.css"), "{{js}}": _asset("report.js")}
    for marker, text in parts.items():
        page = page.replace(marker, text)
    head, marker, tail = page.partition("{{data}}")  # the data goes in last and untouched
    if not marker:
        raise DataError("report_template.html: no {{data}} marker")
    return head + embed_json(payload) + tail


def write_html_report(run_dir: str | Path, *, output: str | Path | None = None) -> Path:
    """Write ``report.html`` into a finished run folder (or to ``output``); return its path."""
    from evalmt.report.run_dir import atomic_write_text

    run_path = Path(run_dir)
    if not (run_path / MANIFEST).is_file():
        raise DataError(f"{run_path}: no {MANIFEST}; not an evalmt run folder")
    target = Path(output) if output else run_path / REPORT
    atomic_write_text(target, render_html(report_payload(run_path)))
    return target
