"""The results directory of one run: naming, path safety, atomic writes, overwrite refusal.

Layout (see docs/config.md)::

    <output>/<run name>/manifest.json
    <output>/<run name>/[<data set>/]scores.{json,csv,md,tex}, documents.csv, ...
    <output>/<run name>/[<data set>/]hypotheses/<system>.jsonl

With one data set its files sit directly in the run folder; with several,
each data set gets a sub-folder named after it. Every name becomes one safe
path component (``safe_name``) and every path written is
checked to stay inside the output directory. Files are written to a
temporary sibling and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalmt.core import safe_name
from evalmt.errors import ConfigError, DataError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunDirectory:
    """A run's folder inside the output root; all writes go through ``path_for``."""

    root: Path
    path: Path
    #: Where ``--overwrite`` sets a finished run aside; removed once a run here completes.
    previous: Path | None = None

    def discard_previous(self) -> None:
        """Delete the finished run that ``--overwrite`` set aside (call on completion)."""
        if self.previous is not None and self.previous.exists():
            shutil.rmtree(self.previous)

    def path_for(self, *parts: str, suffix: str = "") -> Path:
        """Return ``<run dir>/<parts...><suffix>``, each part made safe; refuse escaping paths."""
        safe = [safe_name(p) for p in parts]
        if safe and suffix:
            safe[-1] += suffix
        return _inside(self.root, self.path.joinpath(*safe))

    def dataset_dir(self, name: str, *, single: bool) -> Path:
        """Return a data set's results folder: the run folder itself for a single data set."""
        return self.path if single else self.path_for(name)

    def write_text(self, target: Path, text: str) -> Path:
        """Atomically write ``text`` (UTF-8) to ``target`` inside this run."""
        return atomic_write_text(_inside(self.root, target), text)

    def write_json(self, target: Path, obj: Any) -> Path:
        """Atomically write ``obj`` as indented UTF-8 JSON."""
        text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False, default=str)
        return self.write_text(target, text + "\n")

    def write_jsonl(self, target: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
        """Atomically write one JSON object per line."""
        text = "".join(json.dumps(dict(r), ensure_ascii=False, default=str) + "\n" for r in rows)
        return self.write_text(target, text)


def open_run_dir(output_dir: str | Path, run_name: str, *, overwrite: bool) -> RunDirectory:
    """Create (or reopen) ``<output_dir>/<run_name>`` for writing.

    A finished run (manifest status ``complete``) is refused unless
    ``overwrite``, which moves it aside to ``.<name>.previous`` (see
    ``RunDirectory.previous``): if the new run fails, the old results are not
    lost. An unfinished run is reopened so it can resume. A non-empty folder
    that is not an evalmt run is refused.
    """
    root = Path(output_dir).expanduser().resolve()
    path = _inside(root, root / safe_name(run_name))
    if path == root:
        raise ConfigError(f"run name {run_name!r} gives no folder name inside {root}")
    previous = path.with_name(f".{path.name}.previous")
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{path}: exists and is not a folder; choose another run name")
        status = manifest_status(path)
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        if status is None and entries:
            raise ConfigError(f"{path}: folder exists, is not empty and holds no evalmt "
                              "manifest; refusing to write into it (choose another `name:`)")
        if status == "complete":
            if not overwrite:
                raise ConfigError(f"{path}: a finished run exists; pass --overwrite to replace "
                                  "it or change `name:`")
            if previous.exists():
                shutil.rmtree(previous)
            path.rename(previous)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create results folder: {exc.strerror}") from exc
    return RunDirectory(root=root, path=path, previous=previous)


def manifest_status(run_path: Path) -> str | None:
    """Return the manifest ``status`` in ``run_path``, or ``None`` without a readable one."""
    try:
        data = json.loads((run_path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("status") if isinstance(data, dict) else None


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling, fsync and ``os.replace``.

    A crash leaves either the old file or none, never a half-written one; a
    failed write (disk full, permissions) is a ``DataError`` naming the file.
    The file gets the mode the umask gives (``0o666 & ~umask``), like any file
    the user creates, so colleagues can read results where the umask allows.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_sibling(path)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DataError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    return path


def _create_sibling(path: Path) -> tuple[int, str]:
    """Create a new, unique temporary file next to ``path``; mode 0o666 less the umask.

    Not ``tempfile.mkstemp``: it always creates mode 0o600.
    """
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(tmp)
        except FileExistsError:
            continue


def atomic_write_text(path: Path, text: str) -> Path:
    """Atomically write ``text`` as UTF-8 (see ``atomic_write_bytes``)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _inside(root: Path, target: Path) -> Path:
    """Return ``target`` resolved, or raise if it is not inside ``root``."""
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ConfigError(f"{target}: path escapes the output folder {root}")
    return resolved
