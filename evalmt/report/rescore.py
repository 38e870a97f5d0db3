"""Significance across runs: re-score the stored outputs of several runs as one set of systems.

A run folder keeps each system's outputs (``hypotheses/<system>.jsonl``, with
ids, source and references) but not the per-segment sufficient statistics
that paired tests resample. ``evalmt compare --significance`` therefore
re-scores those outputs with the first run's metric, confidence and
significance settings (``evalmt.metrics.score_systems``, the same code a run
uses) so that CIs, all pairwise tests and rank clusters cover every system of
every run. It refuses runs on different test data, and checks that the
re-computed corpus scores equal the ones each run wrote.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import DataError
from evalmt.report.compare import (
    Cell,
    Leaderboard,
    RunScores,
    build_leaderboard,
    label_runs,
    read_manifest,
)

if TYPE_CHECKING:
    from evalmt.report.manifest import Manifest

#: Re-computed scores may differ from the stored ones only by float rounding.
TOLERANCE = 1e-6


def hypotheses_path(run_path: Path, manifest: Manifest, dataset: str, system: str) -> Path:
    """Return the ``hypotheses/<system>.jsonl`` of one system, as the manifest records it."""
    entry = manifest.result(dataset, system)
    if entry is not None and entry.hypotheses:
        return run_path / entry.hypotheses
    from evalmt.core import safe_name

    folder = run_path / manifest.datasets[dataset].folder
    return folder / "hypotheses" / f"{safe_name(system)}.jsonl"


def read_hypotheses(path: Path) -> list[dict[str, Any]]:
    """Read one ``hypotheses/<system>.jsonl``; errors name the file and line."""
    rows = []
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as exc:
                        raise DataError(f"{path}:{number}: invalid JSON: {exc}") from exc
    except OSError as exc:
        raise DataError(f"{path}: unreadable hypotheses: {exc.strerror or exc}") from exc
    return rows


def _settings(manifest: Manifest) -> tuple[list[str], dict, Any, Any]:
    from evalmt.metrics import (
        APPROXIMATE_RANDOMIZATION,
        SACREBLEU_PAIRED_BOOTSTRAP,
        ConfidenceOptions,
        SignificanceOptions,
    )

    config = manifest.config
    metrics = config.get("metrics") or []
    names = [m["name"] for m in metrics]
    options = {m["name"]: m["options"] for m in metrics if m.get("options")}
    conf, sig = config.get("confidence"), config.get("significance")
    confidence = ConfidenceOptions(**{k: v for k, v in conf.items() if v is not None}) \
        if conf else None
    # a run without significance tests still gets clusters here, with the default tests
    sig = dict(sig or {})
    if sig and "correction" not in sig:  # written before the WMT rule: sacrebleu's names
        sig["method"] = {"paired-bootstrap": SACREBLEU_PAIRED_BOOTSTRAP,
                         "both": SACREBLEU_PAIRED_BOOTSTRAP}.get(sig.get("method"),
                                                                 sig.get("method"))
        if config["significance"].get("method") == "both":
            sig["also"] = (APPROXIMATE_RANDOMIZATION,)
    significance = SignificanceOptions(**{k: tuple(v) if isinstance(v, list) else v
                                          for k, v in sig.items() if v is not None})
    return names, options, confidence, significance


def rescore_runs(runs: Sequence[RunScores]) -> tuple[Any, dict[tuple[str, str], str]]:
    """Score every system of every run together; return the report and (run, system) → label."""
    from evalmt.metrics import build_metrics, score_systems

    runs = label_runs(runs)
    manifests = [read_manifest(r.path) for r in runs]
    hypotheses: dict[str, list[str]] = {}
    labels: dict[tuple[str, str], str] = {}
    ids = refs = sources = None
    for run, manifest in zip(runs, manifests, strict=True):
        for system in run.systems:
            path = hypotheses_path(run.path, manifest, run.dataset, system)
            rows = read_hypotheses(path)
            row_ids = [(r["doc_id"], str(r["seg_id"])) for r in rows]
            if ids is None:
                ids = row_ids
                refs = [r.get("refs") or [r.get("ref")] for r in rows]
                sources = [r.get("src") or "" for r in rows]
            elif row_ids != ids:
                raise DataError(f"{path}: segments differ from {runs[0].path}'s; "
                                "--significance needs the same test data")
            label = f"{run.run}:{system}" if len(runs) > 1 else system
            labels[(run.run, system)] = label
            hypotheses[label] = [r.get("hyp") or "" for r in rows]
    if not ids:
        raise DataError(f"{runs[0].path}: no stored outputs to re-score")
    width = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(width)]
    names, options, confidence, significance = _settings(manifests[0])
    tgt_lang = manifests[0].datasets[runs[0].dataset].tgt_lang or "en"
    metrics = build_metrics(names, tgt_lang=tgt_lang, options=options)
    for metric in metrics:  # neural metrics: the scores the runs cached (only new ones run)
        metric.attach_cache(_score_cache(runs[0].path, manifests[0]))
    try:
        report = score_systems(
            hypotheses=hypotheses, references=streams, doc_ids=[d for d, _ in ids],
            seg_ids=[s for _, s in ids], sources=sources, metrics=metrics,
            confidence=confidence, significance=significance)
    finally:
        for metric in metrics:
            metric.close()
    return report, labels


def _score_cache(run_path: Path, manifest: Manifest) -> Path:
    """Return the segment-score cache of a run: beside its translation cache (``cache``)."""
    cache = manifest.config.get("cache")
    return (Path(cache).expanduser().parent if cache else Path(run_path).parent / ".cache") \
        / "segment_scores.sqlite"


def rescored_leaderboard(runs: Sequence[RunScores], *, metric: str | None = None) -> Leaderboard:
    """Build the leaderboard with CIs and rank clusters re-computed over all runs' systems."""
    board = build_leaderboard(runs, metric=metric)  # same data and signatures, or an error
    report, labels = rescore_runs(runs)
    corpus = {(r.system, r.metric): r for r in report.corpus}
    rows = []
    for row in board.rows:
        cells = []
        for name, old in zip(board.metrics, row.cells, strict=True):
            new = corpus.get((labels[(row.run, row.system)], name))
            if new is None:
                cells.append(old)
                continue
            if old.score is not None and abs(new.score - old.score) > TOLERANCE:
                raise DataError(f"--significance: {row.run}:{row.system} {name} re-scores to "
                                f"{new.score:.4f}, not the stored {old.score:.4f}; outputs or "
                                "software changed since the run")
            cells.append(Cell(new.score, new.ci_low, new.ci_high, new.cluster))
        rows.append(replace(row, cells=tuple(cells)))
    pairs = {(t.method, t.samples, t.seed) for t in report.pairwise}
    how = ", ".join(f"{m}, {n} samples, seed {s}" for m, n, s in sorted(pairs)) or "no tests"
    notes = [n for n in board.notes if not n.startswith("rank clusters")]
    notes.insert(0, f"CIs and rank clusters re-computed over all {len(rows)} systems from the "
                    f"stored outputs ({how})")
    if report.cluster_rule:
        notes.insert(1, f"rank clusters: {report.cluster_rule}")
    return replace(board, rows=tuple(rows), notes=tuple(notes))
