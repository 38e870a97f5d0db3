"""The reader extension point: a config model per reader and the READERS registry.

A reader turns files (or a ``datasets`` source) into a ``TestSet``. Each
reader class declares a pydantic ``config_model`` whose ``reader`` field is a
``Literal`` of its registered name, so the run config can validate data sets
as a discriminated union before any work starts.
"""

from __future__ import annotations

import glob
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from evalmt.data.model import TestSet
from evalmt.errors import ConfigError, DataError
from evalmt.registry import Registry

#: Options renamed so that every reader uses one name (tsv and hf-datasets had ``*_column``).
_RENAMED = {"source_column": "source_field", "reference_columns": "reference_fields",
            "doc_id_column": "doc_id_field", "seg_id_column": "seg_id_field"}


class ReaderConfig(BaseModel):
    """Options every reader takes. Reader-specific options live in subclasses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "test"
    reader: str
    src_lang: str = "zh"
    tgt_lang: str = "en"
    clean: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        """Refuse the old ``*_column`` names of tsv and hf-datasets, naming the new ones."""
        if isinstance(data, dict):
            old = [k for k in _RENAMED if k in data]
            if old:
                raise ValueError("; ".join(f"{k} was renamed {_RENAMED[k]} (one name for every "
                                           "reader)" for k in old))
        return data

    @field_validator("clean")
    @classmethod
    def _known_steps(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        """Unknown cleaning steps fail at validation, for every reader (did-you-mean)."""
        from evalmt.data.cleaning import validate_steps

        try:
            return validate_steps(steps)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc


class Reader(ABC):
    """Turn input described by a ``ReaderConfig`` into a ``TestSet``."""

    config_model: ClassVar[type[ReaderConfig]] = ReaderConfig

    @abstractmethod
    def read(self, config: ReaderConfig, *, base_dir: Path) -> TestSet:
        """Read the data described by ``config``; relative paths resolve against ``base_dir``.

        Raises ``DataError`` naming file and line (or field) for bad input.
        """


READERS: Registry[type[Reader]] = Registry("reader", base=Reader)
# Built-in readers, imported on first use (``datasets`` only for hf-datasets).
for _name, _target in {
    "bilingual-txt": "evalmt.data.bilingual:BilingualTxtReader",
    "text": "evalmt.data.linealigned:LineAlignedReader",
    "tsv": "evalmt.data.linealigned:TsvReader",
    "jsonl": "evalmt.data.linealigned:JsonlReader",
    "wmt-xml": "evalmt.data.wmt:WmtXmlReader",
    "hf-datasets": "evalmt.data.hf:HFDatasetsReader",
}.items():
    READERS.add_lazy(_name, _target)


#: File extension → reader, for command lines that take a bare PATH.
READER_BY_SUFFIX = {".txt": "bilingual-txt", ".jsonl": "jsonl", ".tsv": "tsv",
                    ".xml": "wmt-xml", ".sgm": "wmt-xml"}


def guess_reader(target: str | Path) -> str | None:
    """Name the reader for a file by its extension; a folder by its most common known one."""
    path = Path(target)
    if path.is_dir():
        known = sorted(p.suffix.lower() for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in READER_BY_SUFFIX)
        suffix = max(set(known), key=known.count) if known else ""
    else:
        suffix = path.suffix.lower()
    return READER_BY_SUFFIX.get(suffix)


def resolve_paths(pattern: str, *, base_dir: Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Expand a file, a folder or a glob into a sorted list of files.

    A folder yields its files (filtered by ``suffixes`` when given). Nothing
    matched is an error naming the pattern.
    """
    raw = Path(os.path.expanduser(pattern))
    path = raw if raw.is_absolute() else base_dir / raw
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [p for p in _folder_entries(path) if _wanted(p, suffixes)]
        if not files:
            raise DataError(f"{path}: folder contains no input files")
        return files
    matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if not matches:
        raise DataError(f"{pattern}: no such file, folder or glob match (looked in {base_dir})")
    return matches


def _folder_entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _wanted(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.is_file() and (not suffixes or path.suffix.lower() in suffixes)


def skipped_in_folder(pattern: str, *, base_dir: Path,
                      suffixes: tuple[str, ...] = ()) -> list[str]:
    """Describe what ``resolve_paths`` leaves out of a folder (subfolders, other suffixes).

    Readers record these as test-set warnings, so nothing is dropped silently.
    """
    raw = Path(os.path.expanduser(pattern))
    path = raw if raw.is_absolute() else base_dir / raw
    if not path.is_dir():
        return []
    other = f"not a {'/'.join(suffixes)} file" if suffixes else "not a file"
    folder = "a subfolder; folders are not read recursively"
    return [f"{p}: skipped ({folder if p.is_dir() else other})"
            for p in _folder_entries(path) if not _wanted(p, suffixes)]


def read_text_file(path: Path) -> str:
    """Read a UTF-8 text file strictly: invalid bytes, NULs and empty files are errors.

    A UTF-8 byte-order mark is removed; CRLF and lone CR become LF.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: looks like UTF-16 (byte-order mark); convert it to UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError(f"{path}:{line}: NUL byte; this is not a text file")
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_testset(config: ReaderConfig | dict, *, base_dir: Path | str = ".") -> TestSet:
    """Validate ``config`` (a model or a plain dict) and run the reader it names."""
    if isinstance(config, dict):
        reader_cls = READERS.get(str(config.get("reader", "")))
        config = reader_cls.config_model.model_validate(config)
    else:
        reader_cls = READERS.get(config.reader)
    return reader_cls().read(config, base_dir=Path(base_dir))
