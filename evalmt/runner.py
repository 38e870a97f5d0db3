"""The main job: run a validated config end to end and write ``results/<run-name>/``.

A run is four phases over job cells (``evalmt.execution.cells``), top to
bottom (DESIGN.md)::

    read_data   every data set, whole, then cut by --limit      → testsets
    translate   every cell (data set × system × direction) through the executor
                (local or Ray): precomputed outputs, or translate_segments with
                the shared cache → hygiene → hypotheses/<system>.jsonl
    score       each data set: score_systems over all its systems → score tables
    report      manifest "complete", report.html

The typed manifest (``evalmt.report.manifest.Manifest``) is written with
status ``"incomplete"`` before any work and rewritten after every cell, so a
killed run is visibly unfinished; the translation cache commits every batch,
so rerunning the same command resumes. This module prints nothing: progress
bars come from ``evalmt.translate`` and messages from the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalmt.config import RunConfig
from evalmt.data.base import read_testset
from evalmt.data.model import TestSet
from evalmt.errors import DataError, EvalMTError, IncompleteRunError, TranslationError
from evalmt.execution import Executor, build_executor
from evalmt.execution.cells import JobCell, metric_cell_hash, translate_cells
from evalmt.execution.local import build_system
from evalmt.hygiene import Hygiene, check_outputs
from evalmt.report.manifest import (
    CellEntry,
    Manifest,
    ResultEntry,
    RunOptionsEntry,
    Seeds,
    SystemEntry,
    dataset_entry,
    metric_entries,
    new_manifest,
    now,
    write_manifest,
)
from evalmt.report.run_dir import RunDirectory, open_run_dir

__all__ = ["RunOptions", "RunResult", "build_system", "plan", "run"]

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
    tokens: int | None  # None: unresolved
    cached: int | None  # None: outputs are precomputed (no translation, no cache), or unresolved
    #: Why the system could not be set up offline (e.g. a hub model not in the local cache).
    unresolved: str | None = None


@dataclass(frozen=True)
class RunData:
    """What the read phase produced: each data set whole and as evaluated (``--limit``)."""

    full: tuple[TestSet, ...]
    testsets: tuple[TestSet, ...]
    #: Human rankings (``human:``) per data set name, for the agreement tables.
    humans: dict[str, list[Any]] = field(default_factory=dict)


def read_data(config: RunConfig, limit: int | None) -> RunData:
    """Phase 1: read every data set and human ranking; data errors come before any output."""
    full = read_full_datasets(config)
    return RunData(tuple(full), tuple(limit_dataset(t, limit) for t in full),
                   read_human_rankings(config))


def read_human_rankings(config: RunConfig) -> dict[str, list[Any]]:
    """Read every ``human`` file of ``config``, keyed by data set name."""
    from evalmt.data.human import read_human_scores

    out: dict[str, list[Any]] = {}
    for human in config.human:
        path = Path(human.path).expanduser()
        ranking = read_human_scores(path if path.is_absolute() else config.base_dir / path,
                                    format=human.format, label=human.label)
        for dataset in ([human.dataset] if human.dataset else [d.name for d in config.data]):
            out.setdefault(dataset, []).append(ranking)
    return out


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


def hypothesis_rows(testset: TestSet, hypotheses: Sequence[str], *,
                    timing: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Return the rows of ``hypotheses/<system>.jsonl``: ids, source, reference(s), output.

    Segments that failed (``timing["failures"]``) carry ``failed`` with the reason;
    flagged answers (``timing["flags"]``: truncated, refused, empty) carry ``flags``.
    """
    failures, flags = answer_notes(timing or {})
    rows = []
    for i, (s, h) in enumerate(zip(testset.segments(), hypotheses, strict=True)):
        row = {"doc_id": s.doc_id, "seg_id": s.seg_id, "src": s.src,
               "ref": s.refs[0] if s.refs else None, "refs": list(s.refs), "hyp": h}
        if i in failures:
            row["failed"] = failures[i]
        if flags and i in flags:
            row["flags"] = list(flags[i])
        rows.append(row)
    return rows


def answer_notes(timing: dict[str, Any]) -> tuple[dict[int, str], dict[int, list[str]] | None]:
    """Failed segments (index → reason) and answer flags (``None``: system reports none)."""
    failures = {int(k): str(v) for k, v in (timing.get("failures") or {}).items()}
    flags = timing.get("flags")
    return failures, None if flags is None else {int(k): list(v) for k, v in flags.items()}


def run(config: RunConfig, options: RunOptions | None = None, *,
        cwd: Path | None = None) -> RunResult:
    """Run ``config``: translate, score and write every result file; return what was made."""
    options = options or RunOptions()
    data = read_data(config, options.limit)
    check_credentials(config)  # a missing API key fails before any output or request
    run_dir = open_run_dir(config.output_dir, config.name, overwrite=options.overwrite)
    single = len(data.testsets) == 1
    folders = {t.name: run_dir.dataset_dir(t.name, single=single) for t in data.testsets}
    cells = translate_cells(config.systems, data.testsets)
    manifest = start_manifest(config, options, data, cells, run_dir, folders,
                              cwd=cwd or Path.cwd())
    from evalmt.translate import StepProgress

    steps = StepProgress(0, label="", enabled=False)
    try:
        outputs = translate_phase(config, data, cells, run_dir, folders, manifest,
                                  progress=options.progress)
        check_complete(config, manifest)
        # after translation, so that this bar never sits among the translation bars
        steps = StepProgress(len(data.testsets) + 1, label="scoring and report",
                             enabled=options.progress)
        results = []
        for testset in data.testsets:
            steps.start(f"scoring {testset.name}")
            results.append(score_phase(config, testset, folders[testset.name],
                                       outputs[testset.name], run_dir, manifest,
                                       humans=data.humans.get(testset.name, ())))
            steps.done()
    except BaseException as exc:  # interrupted or failed: leave the run visibly unfinished
        steps.close()
        manifest.error = f"{type(exc).__name__}: {exc}"
        manifest.finished = now()
        write_manifest(run_dir, manifest)
        raise
    steps.start("writing report.html")
    path = report_phase(run_dir, manifest)
    steps.close()
    results = tuple(results)
    return RunResult(run_dir.path, path, results, tuple(manifest.warnings))


def start_manifest(config: RunConfig, options: RunOptions, data: RunData, cells: list[JobCell],
                   run_dir: RunDirectory, folders: dict[str, Path], *, cwd: Path) -> Manifest:
    """Write the manifest of a starting run: data provenance and every cell ``pending``."""
    single = len(data.testsets) == 1
    manifest = new_manifest(
        run_name=config.name, config=config.model_dump(mode="json"),
        config_file=config.source, cwd=cwd,
        options=RunOptionsEntry(limit=options.limit, overwrite=options.overwrite,
                                command=list(options.command), cache=str(config.cache_path),
                                layout="single" if single else "per-dataset"))
    for t, d in zip(data.testsets, config.data, strict=True):
        folder = "." if single else folders[t.name].name
        manifest.datasets[t.name] = dataset_entry(
            t, folder=folder, config=d.model_dump(mode="json"), limit=options.limit)
        manifest.warnings += [f"{t.name}: {w}" for w in t.warnings]
    for cell in cells:
        manifest.cells[cell.key] = CellEntry(dataset=cell.dataset, system=cell.system,
                                             direction=cell.direction)
    write_manifest(run_dir, manifest)
    return manifest


def translate_phase(config: RunConfig, data: RunData, cells: list[JobCell],
                    run_dir: RunDirectory, folders: dict[str, Path], manifest: Manifest, *,
                    progress: bool) -> dict[str, list[SystemOutputs]]:
    """Phase 2: every cell through the executor; each system is built once per direction."""
    from evalmt.cache import TranslationCache

    outputs: dict[str, list[SystemOutputs]] = {t.name: [] for t in data.testsets}
    by_name = {t.name: t for t in data.testsets}
    full = {t.name: t for t in data.full}
    executor = build_executor(config.execution)
    try:
        with TranslationCache(config.cache_path) as cache:
            for sys_cfg in config.systems:
                entry = manifest.systems.setdefault(sys_cfg.name, SystemEntry())
                mine = [c for c in cells if c.system == sys_cfg.name]
                for direction in dict.fromkeys((c.src_lang, c.tgt_lang) for c in mine):
                    group = [c for c in mine if (c.src_lang, c.tgt_lang) == direction]
                    _translate_group(executor, config, group, by_name, full, run_dir, folders,
                                     manifest, entry, cache, outputs, progress=progress)
    finally:
        executor.close()
    return outputs


def _translate_group(executor: Executor, config: RunConfig, group: list[JobCell],
                     testsets: dict[str, TestSet], full: dict[str, TestSet],
                     run_dir: RunDirectory, folders: dict[str, Path], manifest: Manifest,
                     entry: SystemEntry, cache: Any, outputs: dict[str, list[SystemOutputs]], *,
                     progress: bool) -> None:
    """Translate the cells of one system × direction, with the system built once."""
    sys_cfg = config.system(group[0].system)
    direction = group[0].direction
    system = executor.open_system(sys_cfg, src_lang=group[0].src_lang,
                                  tgt_lang=group[0].tgt_lang, base_dir=config.base_dir,
                                  plugins=tuple(config.plugins))
    try:
        entry.directions[direction] = system.describe()
        for cell in group:
            testset = testsets[cell.dataset]
            try:
                hyps, timing = system.outputs(testset, full=full[cell.dataset], cache=cache,
                                              progress=progress)
            except BaseException as exc:
                manifest.cells[cell.key].status = "failed"
                manifest.cells[cell.key].reason = f"{type(exc).__name__}: {exc}"
                raise
            refs = testset.reference_streams()
            failures, flags = answer_notes(timing)
            hygiene = check_outputs(system=cell.system, hypotheses=hyps,
                                    references=refs[0] if refs else [None] * len(hyps),
                                    tgt_lang=testset.tgt_lang, failed=len(failures),
                                    flags=flags)
            outputs[cell.dataset].append(SystemOutputs(cell.system, hyps, hygiene, timing))
            target = run_dir.path_for(*_rel(folders[cell.dataset], run_dir), "hypotheses",
                                      cell.system, suffix=".jsonl")
            run_dir.write_jsonl(target, hypothesis_rows(testset, hyps, timing=timing))
            # describe() again: back ends report counts gathered while translating
            entry.directions[direction] = system.describe()
            manifest.results.setdefault(cell.dataset, {})[cell.system] = ResultEntry(
                fingerprint=system.fingerprint(), timing=timing, hygiene=hygiene.as_dict(),
                hypotheses=str(target.relative_to(run_dir.path)), cell=cell.key,
                usage=timing.get("usage"))
            manifest.cells[cell.key].status = "done"
            write_manifest(run_dir, manifest)
    finally:
        system.close()


def check_credentials(config: RunConfig, environ: Mapping[str, str] | None = None) -> None:
    """Raise ``TranslationError`` naming every system whose ``api_key_env`` variable is unset."""
    import os

    environ = os.environ if environ is None else environ
    missing = [f"systems.{i}.api_key_env: environment variable {name} is not set "
               f"(system {s.name!r})"
               for i, s in enumerate(config.systems)
               if (name := getattr(s, "api_key_env", None)) and not environ.get(name)]
    if missing:
        raise TranslationError("; ".join(missing))


def check_complete(config: RunConfig, manifest: Manifest) -> None:
    """Raise ``IncompleteRunError`` (one line) when segments failed and partial results are off.

    With ``allow_partial: true`` the failed segments are scored as empty and a
    warning in the manifest says how many.
    """
    problems = []
    for dataset, systems in manifest.results.items():
        for name, result in systems.items():
            failures = result.timing.get("failures") or {}
            if not failures:
                continue
            first = next(iter(failures.values()))
            if getattr(config.system(name), "allow_partial", False):
                manifest.warnings.append(
                    f"{dataset}: system {name!r}: {len(failures)} segment(s) failed and are "
                    f"scored as empty (allow_partial); first: {first}")
            else:
                cell = manifest.cells.get(result.cell or "")
                if cell is not None:
                    cell.status = "failed"
                    cell.reason = f"{len(failures)} segment(s) failed; first: {first}"
                problems.append(f"{name!r} on {dataset!r}: {len(failures)} of "
                                f"{result.timing['segments']} segment(s) failed (first: "
                                f"{first})")
    if problems:
        raise IncompleteRunError("incomplete: " + "; ".join(problems) + " — everything else "
                                 "is cached; rerun to retry only the failed segments, or set "
                                 "allow_partial: true to score them as empty")


def score_phase(config: RunConfig, testset: TestSet, folder: Path,
                outputs: list[SystemOutputs], run_dir: RunDirectory,
                manifest: Manifest, humans: Sequence[Any] = ()) -> DatasetResult:
    """Phase 3: score all systems of one data set and write its tables.

    With ``humans`` (rankings of this data set), every metric's agreement with
    them goes into ``agreement.csv``, scores.json and scores.md.
    """
    from evalmt.metrics import build_metrics, score_systems
    from evalmt.report.tables import write_score_tables

    metrics = build_metrics([m.name for m in config.metrics], tgt_lang=testset.tgt_lang,
                            options={m.name: m.options for m in config.metrics if m.options})
    conf = config.confidence
    sig = config.significance
    segments = list(testset.segments())
    for metric in metrics:  # neural metrics keep segment scores next to the translations
        metric.attach_cache(config.cache_path.parent / "segment_scores.sqlite")
    metric_cells = start_metric_cells(testset, metrics, outputs, manifest)
    if metric_cells:  # a run killed while a worker scores shows them pending
        write_manifest(run_dir, manifest)
    try:
        report = score_systems(
            hypotheses={o.system: list(o.hypotheses) for o in outputs},
            references=testset.reference_streams(),
            doc_ids=[s.doc_id for s in segments], seg_ids=[s.seg_id for s in segments],
            metrics=metrics, sources=[s.src for s in segments], confidence=conf,
            significance=sig)
    finally:
        for metric in metrics:
            metric.close()
    from evalmt.hygiene import render_csv, render_markdown
    from evalmt.report import agreement
    from evalmt.report import usage as api_usage

    hygiene = [o.hygiene for o in outputs]
    usage = [api_usage.usage_row(o.system, o.timing["usage"]) for o in outputs
             if o.timing.get("usage")]
    appendix = f"### Output hygiene\n\n{render_markdown(hygiene)}"
    folder.mkdir(parents=True, exist_ok=True)
    if usage:
        appendix += f"\n### API usage and cost\n\n{api_usage.render_markdown(usage)}"
        run_dir.write_text(folder / "usage.csv", api_usage.render_csv(usage))
    higher = dict(zip(report.metrics, report.higher_is_better, strict=True))
    agreed = [a for h in humans
              for a in agreement.agreements((vars(r) for r in report.corpus), higher, h)]
    if humans:
        appendix += f"\n{agreement.render_markdown(agreed)}"
        run_dir.write_text(folder / "agreement.csv", agreement.render_csv(agreed))
    write_score_tables(report, folder, json_extra={
        "hygiene": [h.as_dict() for h in hygiene], **({"usage": usage} if usage else {}),
        **({"human_agreement": [a.as_dict() for a in agreed]} if humans else {})},
        markdown_appendix=appendix,
        alignment_confidence={s.key: s.meta["confidence"] for s in segments
                              if "confidence" in s.meta})
    run_dir.write_text(folder / "hygiene.csv", render_csv(hygiene))
    unavailable = dict(report.unavailable)
    for name, key in metric_cells.items():
        cell = manifest.cells[key]
        cell.status = "failed" if name in unavailable else "done"
        cell.reason = unavailable.get(name)
    entry = manifest.datasets[testset.name]
    entry.metrics = metric_entries(report, [m.describe() for m in metrics])
    entry.seeds = Seeds(confidence=conf.seed if conf else None,
                        significance=sig.seed if sig else None)
    entry.notes = list(report.notes)
    write_manifest(run_dir, manifest)
    return DatasetResult(testset.name, folder, testset, tuple(outputs), report)


def start_metric_cells(testset: TestSet, metrics: Sequence[Any],
                       outputs: Sequence[SystemOutputs], manifest: Manifest) -> dict[str, str]:
    """Record a pending metric cell per neural metric of this data set; return name → key."""
    from evalmt.metrics.neural import NeuralMetric

    hypotheses = {o.system: o.hypotheses for o in outputs}
    keys = {}
    for metric in metrics:
        if not isinstance(metric, NeuralMetric):
            continue  # sacrebleu metrics run in-process, in seconds: no cell of their own
        key = metric_cell_hash(data_sha256=testset.content_hash(), metric=metric.key,
                               options=metric.options, hypotheses=hypotheses)
        manifest.cells[key] = CellEntry(
            kind="metric", dataset=testset.name, metric=metric.name,
            systems=sorted(hypotheses), direction=f"{testset.src_lang}-{testset.tgt_lang}")
        keys[metric.name] = key
    return keys


def report_phase(run_dir: RunDirectory, manifest: Manifest) -> Path:
    """Phase 4: mark the manifest complete and write ``report.html``; return the manifest."""
    manifest.status, manifest.finished, manifest.error = "complete", now(), None
    path = write_manifest(run_dir, manifest)
    from evalmt.report.html import write_html_report  # reads the finished folder back

    try:
        write_html_report(run_dir.path)
    except BaseException as exc:  # e.g. disk full: the run is not complete without its page
        manifest.status, manifest.error = "incomplete", f"{type(exc).__name__}: {exc}"
        write_manifest(run_dir, manifest)
        raise
    run_dir.discard_previous()  # the run replaced by --overwrite, kept until now
    return path


def _rel(folder: Path, run_dir: RunDirectory) -> tuple[str, ...]:
    """Return the parts of ``folder`` below the run folder (empty for the run folder itself)."""
    return folder.relative_to(run_dir.path).parts


def plan(config: RunConfig, *, limit: int | None = None) -> list[JobPlan]:
    """Return the job matrix for ``--dry-run``: sizes and cache hits per data set × system.

    Reads the data and builds each system here (to get its fingerprint and
    token counter) but translates nothing and creates no files. A system that
    cannot be set up (for ``evalmt run --dry-run``, which runs with the Hugging
    Face libraries offline: a hub model not in the local cache) is listed with
    the reason in ``unresolved`` instead of stopping the plan.
    """
    from evalmt.cache import TranslationCache
    from evalmt.translate import count_cached

    data = read_data(config, limit)
    full = {t.name: t for t in data.full}
    testsets = {t.name: t for t in data.testsets}
    cache_file = config.cache_path
    cache = TranslationCache(cache_file) if cache_file.is_file() else None
    jobs = []
    try:
        for cell in translate_cells(config.systems, data.testsets):
            testset = testsets[cell.dataset]
            sources = testset.sources()
            try:
                system = build_system(config.system(cell.system), src_lang=cell.src_lang,
                                      tgt_lang=cell.tgt_lang, base_dir=config.base_dir)
            except EvalMTError as exc:
                jobs.append(JobPlan(cell.dataset, cell.system, len(sources), None, None, str(exc)))
                continue
            try:
                try:
                    tokens = sum(system.num_tokens(s) for s in sources if s.strip())
                except EvalMTError as exc:
                    jobs.append(JobPlan(cell.dataset, cell.system, len(sources), None, None,
                                        str(exc)))
                    continue
                if system.precomputed_outputs(list(full[cell.dataset].segments())) is not None:
                    cached = None
                else:
                    cached = count_cached(system, sources, cache=cache)
                jobs.append(JobPlan(cell.dataset, cell.system, len(sources), tokens, cached))
            finally:
                system.close()
    finally:
        if cache is not None:
            cache.close()
    return jobs
