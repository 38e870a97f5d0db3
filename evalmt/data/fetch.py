"""Named public data sets (``evalmt data fetch``): download, verify, store in the data cache.

The catalogue (``evalmt/resources/wmt_datasets.json``) pins, for each set,
the organisers' GitHub repository, a commit, and every file's path, size and
sha256. ``fetch_dataset`` downloads the files of that commit (or copies them
from a local folder that stands in for the download), checks each sha256 and
only then moves the whole set into ``<data dir>/<name>/`` with one directory
rename: a checksum mismatch, a 404 or a broken transfer leaves nothing there,
and a set already present and intact is not downloaded again.

Configs name a file of a fetched set as ``data://<name>/<file>``; the config's
``data_dir`` (default ``~/.cache/evalmt/data``) says where sets live, so a
local folder of the same files (e.g. ``../shared/data``) can stand in.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from evalmt.data.model import file_sha256
from evalmt.errors import DataError

#: The organisers' repositories, file by file at a commit.
GITHUB_RAW = "https://raw.githubusercontent.com"
#: Seconds to wait for a server before giving up on a file.
TIMEOUT_S = 60
#: The record written last into a complete set's folder.
RECORD = "evalmt-dataset.json"


@dataclass(frozen=True)
class DataFile:
    """One pinned file of a set: its path in the repository, size and sha256."""

    path: str
    sha256: str
    size: int

    @property
    def name(self) -> str:
        """The file name in the data cache (the repository path's last part)."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DataSet:
    """A named set of pinned files from one repository at one commit."""

    name: str
    description: str
    repository: str
    commit: str
    files: tuple[DataFile, ...]

    def url(self, file: DataFile, base_url: str = GITHUB_RAW) -> str:
        """Return the download address of ``file`` at the pinned commit."""
        return f"{base_url.rstrip('/')}/{self.repository}/{self.commit}/{file.path}"


def catalogue() -> dict[str, DataSet]:
    """Return the known sets, by name."""
    raw = json.loads((resources.files("evalmt") / "resources" / "wmt_datasets.json")
                     .read_text(encoding="utf-8"))
    return {name: DataSet(name, entry["description"], entry["repository"], entry["commit"],
                          tuple(DataFile(**f) for f in entry["files"]))
            for name, entry in raw.items()}


def get_dataset(name: str) -> DataSet:
    """Return the set called ``name``, or a ``DataError`` listing the known ones."""
    known = catalogue()
    if name not in known:
        import difflib

        hint = difflib.get_close_matches(name, list(known), n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise DataError(f"unknown data set {name!r}; {did}available: {', '.join(known)}")
    return known[name]


def is_complete(dataset: DataSet, folder: Path) -> bool:
    """Tell whether ``folder`` holds every file of ``dataset`` with the pinned sha256."""
    return all((folder / f.name).is_file() and file_sha256(folder / f.name) == f.sha256
               for f in dataset.files)


def fetch_dataset(name: str, *, data_dir: Path, source: Path | None = None,
                  base_url: str = GITHUB_RAW, timeout: float = TIMEOUT_S,
                  progress: Callable[[str], None] | None = None) -> Path:
    """Download (or copy from ``source``) set ``name`` into ``data_dir/name``; return that folder.

    Every file is checked against its pinned sha256 before the set is moved
    into place in one rename; on any error nothing is left under ``data_dir``
    but what was there before. A set already present and intact is kept.
    """
    dataset = get_dataset(name)
    target = Path(data_dir) / name
    if target.is_dir() and is_complete(dataset, target):
        return target
    if target.exists():
        raise DataError(f"{target}: exists but does not hold {name} intact; remove it and "
                        "fetch again")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=target.parent))
    try:
        for file in dataset.files:
            where = str(source / file.name) if source is not None else dataset.url(file, base_url)
            if progress is not None:
                progress(where)
            data = _read_local(source / file.name) if source is not None \
                else _download(where, timeout=timeout, expected_size=file.size)
            digest = hashlib.sha256(data).hexdigest()
            if digest != file.sha256:
                raise DataError(f"{where}: sha256 {digest} but {name} pins {file.sha256} "
                                f"(commit {dataset.commit[:12]}); nothing was stored")
            (staging / file.name).write_bytes(data)
        (staging / RECORD).write_text(json.dumps({
            "name": name, "repository": dataset.repository, "commit": dataset.commit,
            "files": {f.name: f.sha256 for f in dataset.files},
            "source": str(source) if source is not None else base_url}, indent=1) + "\n",
            encoding="utf-8")
        os.rename(staging, target)  # one step: the set is there whole or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _download(url: str, *, timeout: float, expected_size: int) -> bytes:
    """GET ``url`` whole; HTTP errors, timeouts and short transfers are ``DataError``."""
    if not url.startswith(("https://", "http://")):
        raise DataError(f"{url}: only http(s) addresses can be fetched")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked)
            data = response.read()
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; nothing was stored") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed ({reason}); nothing was stored") from exc
    except http.client.IncompleteRead as exc:
        raise DataError(f"{url}: transfer interrupted after {len(exc.partial)} of "
                        f"{expected_size} bytes; nothing was stored") from exc
    if len(data) != expected_size:
        raise DataError(f"{url}: transfer gave {len(data)} of {expected_size} bytes; "
                        "nothing was stored")
    return data


