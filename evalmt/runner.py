"""The main job: run a validated config end to end and write ``results/<run-name>/``.

The pipeline, top to bottom (DESIGN.md)::

    read every data set  →  for each system (built once per language direction):
        precomputed outputs, or translate_segments with the shared cache  →  hygiene
        →  hypotheses/<system>.jsonl
    →  for each data set: score_systems over all its systems  →  score tables
    →  manifest.json "complete"

The manifest is written with status ``"incomplete"`` before any work and
rewritten after every system, so a killed run is visibly unfinished; the
translation cache commits every batch, so rerunning the same command resumes.
This module prints nothing: progress bars come from ``evalmt.translate`` and
messages from the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalmt.config import RunConfig
from evalmt.data.base import read_testset
from evalmt.data.model import TestSet
from evalmt.errors import DataError
from evalmt.hygiene import Hygiene, check_outputs
from evalmt.report.manifest import (
    dataset_entry,
    metric_entries,
    new_manifest,
    now,
    write_manifest,
)
from evalmt.report.run_dir import RunDirectory, open_run_dir
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator

#: Defaults of translate_segments' batching for systems whose config has no such key.
DEFAULT_BATCH_TOKENS, DEFAULT_MAX_BATCH_SIZE = 4096, 64


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices that change what a run does (not what it measures)."""

    overwrite: bool = False
    limit: int | None = None
    progress: bool = True
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemOutputs:
    """One system's outputs on one data set, with its timings and hygiene."""

    system: str
    hypotheses: tuple[str, ...]
    hygiene: Hygiene
    timing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetResult:
    """Everything produced for one data set: outputs per system and the score report."""

    name: str
    folder: Path
    testset: TestSet
    outputs: tuple[SystemOutputs, ...]
    report: Any


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder, manifest path and per-data-set results."""

    run_dir: Path
    manifest_path: Path
    datasets: tuple[DatasetResult, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class JobPlan:
    """One cell of the job matrix (``--dry-run``): a data set × a system."""

    dataset: str
    system: str
    segments: int
    tokens: int
    cached: int | None  # None: outputs are precomputed (no translation, no cache)


def read_full_datasets(config: RunConfig) -> list[TestSet]:
    """Read every data set of ``config`` whole, named as the config names it."""
    testsets = []
    for data_cfg in config.data:
        testset = read_testset(data_cfg, base_dir=config.base_dir)
        if testset.name != data_cfg.name:  # the config's name is the one results use
            testset = TestSet(data_cfg.name, testset.src_lang, testset.tgt_lang,
                              testset.documents, testset.provenance, testset.meta)
        testsets.append(testset)
    return testsets


def limit_dataset(testset: TestSet, limit: int | None) -> TestSet:
    """Keep the first ``limit`` documents of ``testset``; an unscorable result is a DataError."""
    if limit is not None:
        testset = testset.select_documents(limit)
    if testset.num_segments == 0:
        raise DataError(f"data set {testset.name!r}: no segments to evaluate")
    if testset.num_refs == 0:  # fail now, not after translating everything
        files = ", ".join(testset.provenance) or "its input"
        raise DataError(f"data set {testset.name!r}: {files} holds no references to "
                        "score against")
    return testset


def build_system(config: SystemConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path) -> Translator:
    """Build the system ``config`` names; relative paths in it resolve against ``base_dir``."""
    return SYSTEMS.get(config.type)(config, src_lang=src_lang, tgt_lang=tgt_lang,
                                    base_dir=base_dir)


def system_outputs(system: Translator, testset: TestSet, *, cache: Any, progress: bool,
                   full: TestSet | None = None) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Precomputed outputs, or translations through ``evalmt.translate``; plus timings.

    ``full`` is the data set before ``--limit`` (precomputed outputs are read for all of it).
    """
    from evalmt.translate import translate_segments

    segments = list(testset.segments())
    started = time.perf_counter()
    # Precomputed outputs cover the whole data set (a hypotheses file is checked
    # against all of it), then the segments kept by --limit are picked by id.
    every = list(full.segments()) if full is not None else segments
    given = system.precomputed_outputs(every)
    if given is not None:
        if len(given) != len(every):
            raise DataError(f"system {system.name!r}: {len(given)} precomputed outputs for "
                            f"{len(every)} segments of {testset.name!r}")
        by_key = dict(zip((s.key for s in every), given, strict=True))
        return tuple(by_key[s.key] for s in segments), {
            "precomputed": True, "segments": len(segments),
            "seconds": round(time.perf_counter() - started, 4)}
    outcome = translate_segments(
        system, [s.src for s in segments], cache=cache,
        batch_tokens=getattr(system.config, "batch_tokens", None) or DEFAULT_BATCH_TOKENS,
        max_batch_size=getattr(system.config, "max_batch_size", None) or DEFAULT_MAX_BATCH_SIZE,
        progress=progress, label=system.name,
        segment_ids=[f"{s.doc_id}:{s.seg_id}" for s in segments])
    return outcome.hypotheses, {"precomputed": False, **outcome.as_dict()}


def hypothesis_rows(testset: TestSet, hypotheses: Sequence[str]) -> list[dict[str, Any]]:
    """Return the rows of ``hypotheses/<system>.jsonl``: ids, source, reference(s), output."""
    return [{"doc_id": s.doc_id, "seg_id": s.seg_id, "src": s.src,
             "ref": s.refs[0] if s.refs else None, "refs": list(s.refs), "hyp": h}
            for s, h in zip(testset.segments(), hypotheses, strict=True)]


def run(config: RunConfig, options: RunOptions | None = None, *,
        cwd: Path | None = None) -> RunResult:
    """Run ``config``: translate, score and write every result file; return what was made."""
    from evalmt.cache import TranslationCache

    options = options or RunOptions()
    full = read_full_datasets(config)  # data errors before any output
    testsets = [limit_dataset(t, options.limit) for t in full]
    run_dir = open_run_dir(config.output_dir, config.name, overwrite=options.overwrite)
    single = len(testsets) == 1
    folders = {t.name: run_dir.dataset_dir(t.name, single=single) for t in testsets}
    manifest = new_manifest(
        run_name=config.name, config=config.model_dump(mode="json"),
        config_file=config.source, cwd=cwd or Path.cwd(),
        options={"limit": options.limit, "overwrite": options.overwrite,
                 "command": list(options.command), "cache": str(config.cache_path),
                 "layout": "single" if single else "per-dataset"})
    for t, d in zip(testsets, config.data, strict=True):
        folder = "." if single else folders[t.name].name
        manifest["datasets"][t.name] = dataset_entry(
            t, folder=folder, config=d.model_dump(mode="json"), limit=options.limit)
        manifest["warnings"] += [f"{t.name}: {w}" for w in t.warnings]
    write_manifest(run_dir, manifest)
    try:
        with TranslationCache(config.cache_path) as cache:
            outputs = _translate_all(config, testsets, run_dir, folders, manifest, cache,
                                     options.progress, full={t.name: t for t in full})
        results = tuple(_score(config, t, folders[t.name], outputs[t.name], run_dir, manifest)
                        for t in testsets)
    except BaseException as exc:  # interrupted or failed: leave the run visibly unfinished
        manifest["error"] = f"{type(exc).__name__}: {exc}"
        manifest["finished"] = now()
        write_manifest(run_dir, manifest)
        raise
    manifest.update(status="complete", finished=now())
    manifest.pop("error", None)
    path = write_manifest(run_dir, manifest)
    from evalmt.report.html import write_html_report  # reads the finished folder back

    try:
        write_html_report(run_dir.path)
    except BaseException as exc:  # e.g. disk full: the run is not complete without its page
        manifest.update(status="incomplete", error=f"{type(exc).__name__}: {exc}")
        write_manifest(run_dir, manifest)
        raise
    run_dir.discard_previous()  # the run replaced by --overwrite, kept until now
    return RunResult(run_dir.path, path, results, tuple(manifest["warnings"]))


def _translate_all(config: RunConfig, testsets: list[TestSet], run_dir: RunDirectory,
                   folders: dict[str, Path], manifest: dict[str, Any], cache: Any,
                   progress: bool, full: dict[str, TestSet]) -> dict[str, list[SystemOutputs]]:
    """Every system over every data set; each system is built once per language direction."""
    outputs: dict[str, list[SystemOutputs]] = {t.name: [] for t in testsets}
    for sys_cfg in config.systems:
        entry = manifest["systems"].setdefault(sys_cfg.name, {"directions": {}})
        for direction in dict.fromkeys((t.src_lang, t.tgt_lang) for t in testsets):
            system = build_system(sys_cfg, src_lang=direction[0], tgt_lang=direction[1],
                                  base_dir=config.base_dir)
            try:
                entry["directions"]["-".join(direction)] = system.describe()
                for testset in (t for t in testsets if (t.src_lang, t.tgt_lang) == direction):
                    hyps, timing = system_outputs(system, testset, cache=cache,
                                                  progress=progress, full=full[testset.name])
                    refs = testset.reference_streams()
                    hygiene = check_outputs(system=sys_cfg.name, hypotheses=hyps,
                                            references=refs[0] if refs else [None] * len(hyps),
                                            tgt_lang=testset.tgt_lang)
                    outputs[testset.name].append(SystemOutputs(sys_cfg.name, hyps, hygiene,
                                                               timing))
                    target = run_dir.path_for(*_rel(folders[testset.name], run_dir),
                                              "hypotheses", sys_cfg.name, suffix=".jsonl")
                    run_dir.write_jsonl(target, hypothesis_rows(testset, hyps))
                    # describe() again: back ends report counts gathered while translating
                    entry["directions"]["-".join(direction)] = system.describe()
                    manifest["results"].setdefault(testset.name, {})[sys_cfg.name] = {
                        "fingerprint": system.fingerprint(), "timing": timing,
                        "hygiene": hygiene.as_dict(),
                        "hypotheses": str(target.relative_to(run_dir.path))}
                    write_manifest(run_dir, manifest)
            finally:
                system.close()
    return outputs


def _score(config: RunConfig, testset: TestSet, folder: Path, outputs: list[SystemOutputs],
           run_dir: RunDirectory, manifest: dict[str, Any]) -> DatasetResult:
    """Score all systems of one data set and write its tables."""
    from evalmt.metrics import (
        ConfidenceOptions,
        SignificanceOptions,
        build_metrics,
        score_systems,
    )
    from evalmt.report.tables import write_score_tables

    metrics = build_metrics([m.name for m in config.metrics], tgt_lang=testset.tgt_lang,
                            options={m.name: m.options for m in config.metrics if m.options})
    conf = config.confidence
    sig = config.significance
    segments = list(testset.segments())
    report = score_systems(
        hypotheses={o.system: list(o.hypotheses) for o in outputs},
        references=testset.reference_streams(),
        doc_ids=[s.doc_id for s in segments], seg_ids=[s.seg_id for s in segments],
        metrics=metrics, sources=[s.src for s in segments],
        confidence=ConfidenceOptions(samples=conf.samples, seed=conf.seed, unit=conf.unit)
        if conf else None,
        significance=SignificanceOptions(method=sig.method, samples=sig.samples, seed=sig.seed,
                                         alpha=sig.alpha) if sig else None)
    from evalmt.hygiene import render_csv, render_markdown

    hygiene = [o.hygiene for o in outputs]
    folder.mkdir(parents=True, exist_ok=True)
    write_score_tables(report, folder, json_extra={"hygiene": [h.as_dict() for h in hygiene]},
                       markdown_appendix=f"### Output hygiene\n\n{render_markdown(hygiene)}")
    run_dir.write_text(folder / "hygiene.csv", render_csv(hygiene))
    entry = manifest["datasets"][testset.name]
    entry["metrics"] = metric_entries(report)
    entry["seeds"] = {"confidence": conf.seed if conf else None,
                      "significance": sig.seed if sig else None}
    entry["notes"] = list(report.notes)
    write_manifest(run_dir, manifest)
    return DatasetResult(testset.name, folder, testset, tuple(outputs), report)


def _rel(folder: Path, run_dir: RunDirectory) -> tuple[str, ...]:
    """Return the parts of ``folder`` below the run folder (empty for the run folder itself)."""
    return folder.relative_to(run_dir.path).parts


def plan(config: RunConfig, *, limit: int | None = None) -> list[JobPlan]:
    """Return the job matrix for ``--dry-run``: sizes and cache hits per data set × system.

    Reads the data and builds each system (to get its fingerprint and token
    counter) but translates nothing and creates no files.
    """
    from evalmt.cache import TranslationCache
    from evalmt.translate import count_cached

    full = read_full_datasets(config)
    testsets = [limit_dataset(t, limit) for t in full]
    cache_file = config.cache_path
    cache = TranslationCache(cache_file) if cache_file.is_file() else None
    jobs = []
    try:
        for sys_cfg in config.systems:
            for whole, testset in zip(full, testsets, strict=True):
                system = build_system(sys_cfg, src_lang=testset.src_lang,
                                      tgt_lang=testset.tgt_lang, base_dir=config.base_dir)
                try:
                    sources = testset.sources()
                    tokens = sum(system.num_tokens(s) for s in sources if s.strip())
                    if system.precomputed_outputs(list(whole.segments())) is not None:
                        cached = None
                    else:
                        cached = count_cached(system, sources, cache=cache)
                    jobs.append(JobPlan(testset.name, sys_cfg.name, len(sources), tokens, cached))
                finally:
                    system.close()
    finally:
        if cache is not None:
            cache.close()
    return jobs
