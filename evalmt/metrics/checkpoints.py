"""Where a neural checkpoint comes from, and the id that names it in signatures.

A model option is a local directory (or file) — named by the sha256 of its
contents — or a Hugging Face hub id — named by the commit of the snapshot
that ``huggingface_hub`` resolves (honouring ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalmt.metrics.base import MetricUnavailable
from evalmt.metrics.neural import directory_sha256


def resolve_model(model: str, *, local_files_only: bool, memo: Any = None) -> tuple[Path, str]:
    """Return (local path, id): ``sha256:<hex>`` for a local path, ``<repo>@<commit>`` (hub)."""
    path = Path(model).expanduser()
    if path.exists():
        return path.resolve(), f"sha256:{directory_sha256(path, memo)}"
    if model.count("/") != 1 or model.startswith((".", "/", "~")):
        raise MetricUnavailable("model not found", f"{model}: no such file or directory")
    try:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(repo_id=model, local_files_only=local_files_only))
    except Exception as exc:  # offline, unknown repo, network error: all mean "not here"
        raise MetricUnavailable("model not found",
                                f"{model}: {type(exc).__name__}: {exc}"[:300]) from exc
    return snapshot, f"{model}@{snapshot.name}"
