"""The `hf-datasets` reader: a Hugging Face ``datasets`` source as a TestSet.

``dataset`` is a local data file (json, jsonl, csv, tsv, parquet), a local
folder of such files, or a hub id. Columns map like the ``jsonl`` reader's
fields, dotted paths included (``translation.zh`` for the WMT datasets on the
hub). Rows are located in errors as ``<dataset>[<split>][<row>]`` with the
0-based row index ``datasets`` itself uses. ``datasets`` is imported only here.

``datasets`` 4+ no longer runs loading scripts (``trust_remote_code`` is only
logged there), so ``trust_remote_code: true`` is refused as a config error
rather than silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evalmt.data.base import Reader, ReaderConfig, read_text_file
from evalmt.data.linealigned import Row, assemble, id_field, reference_fields, text_field
from evalmt.data.model import TestSet, file_sha256
from evalmt.errors import ConfigError, DataError

# File suffix → (datasets packaged builder, extra builder options).
_BUILDERS: dict[str, tuple[str, dict[str, Any]]] = {
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"sep": "\t"}),
    ".parquet": ("parquet", {}),
}


class HFDatasetsConfig(ReaderConfig):
    """``hf-datasets``: a hub id or local files, a split and a column mapping."""

    reader: Literal["hf-datasets"]
    dataset: str
    config_name: str | None = None
    split: str = "test"
    revision: str | None = None
    source_field: str = "src"
    reference_fields: list[str] = Field(default_factory=lambda: ["ref"], min_length=1)
    doc_id_field: str | None = None
    seg_id_field: str | None = None
    cache_dir: str | None = None
    trust_remote_code: bool = False


def _local_path(dataset: str, base_dir: Path) -> Path | None:
    """Return the local file or folder ``dataset`` names, or ``None`` for a hub id."""
    path = Path(dataset).expanduser()
    path = path if path.is_absolute() else base_dir / path
    return path if path.exists() else None


def _check_text_file(path: Path) -> None:
    """Check a local text data file before ``datasets`` sees it.

    Strict UTF-8 and emptiness give the same file:line errors as the other
    readers. JSON Lines whose lines are not objects (``null``) crash the
    process inside pyarrow's JSON reader (segfault seen with datasets 5.2 /
    pyarrow 26), so a JSON file must be one array/object or one object per line.
    """
    text = read_text_file(path)
    if path.suffix not in (".json", ".jsonl"):
        return
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass  # not a single JSON document: JSON Lines, checked line by line below
    else:
        if isinstance(value, (dict, list)):
            return
        raise DataError(f"{path}:1: top-level JSON {type(value).__name__}; expected one object "
                        "per line or an array of objects")
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise DataError(f"{path}:{n}: bad JSON: {getattr(exc, 'msg', 'nesting too deep')}") \
                from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {type(record).__name__}")


def _load(config: HFDatasetsConfig, base_dir: Path) -> tuple[Any, dict[str, str]]:
    """Load the split; return the ``Dataset`` and the provenance of local files."""
    import datasets

    local = _local_path(config.dataset, base_dir)
    kwargs: dict[str, Any] = {"split": config.split}
    if config.cache_dir is not None:
        kwargs["cache_dir"] = str(base_dir / Path(config.cache_dir).expanduser())
    provenance: dict[str, str] = {}
    if local is not None and (config.config_name or config.revision):
        raise ConfigError(f"config_name/revision: only for hub datasets, and {config.dataset!r} "
                          "is a local path")
    if local is not None and local.is_file():
        if local.suffix not in _BUILDERS:
            raise DataError(
                f"dataset {config.dataset!r}: unsupported file type {local.suffix!r}; "
                f"use one of {', '.join(_BUILDERS)}"
            )
        builder, options = _BUILDERS[local.suffix]
        args = (builder,)
        kwargs.update(options, data_files={config.split: [str(local)]})
        provenance[str(local)] = file_sha256(local)
        if local.suffix != ".parquet":
            _check_text_file(local)
    elif local is not None:
        args = (str(local),)
        for file in sorted(local.rglob("*")):
            if file.is_file() and file.suffix in _BUILDERS:
                provenance[str(file)] = file_sha256(file)
                if file.suffix != ".parquet":
                    _check_text_file(file)
    else:
        args = (config.dataset,)
        kwargs.update(name=config.config_name, revision=config.revision)
    try:
        ds = datasets.load_dataset(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every loader failure becomes one DataError
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(
            f"dataset {config.dataset!r} (split {config.split!r}): cannot load: "
            f"{type(exc).__name__}: {first}"
        ) from exc
    return ds, provenance


class HFDatasetsReader(Reader):
    """Read one split of a ``datasets`` source through ``datasets.load_dataset``."""

    config_model = HFDatasetsConfig

    def read(self, config: HFDatasetsConfig, *, base_dir: Path) -> TestSet:
        """Load the split and map its columns; a missing column or wrong type names the row."""
        if config.trust_remote_code:
            raise ConfigError(
                "trust_remote_code: datasets no longer runs loading scripts; "
                "use a dataset stored as Parquet/JSON/CSV and remove this key"
            )
        ds, provenance = _load(config, base_dir)
        origin = f"{config.dataset}[{config.split}]"

        def rows():
            for i, record in enumerate(ds):
                loc = f"{origin}[{i}]"
                yield Row(
                    location=loc,
                    src=text_field(record, config.source_field, loc),
                    refs=reference_fields(record, config.reference_fields, loc),
                    doc_id=id_field(record, config.doc_id_field, loc),
                    seg_id=id_field(record, config.seg_id_field, loc),
                )

        default_doc = Path(config.dataset).stem if _local_path(config.dataset, base_dir) \
            else config.dataset.replace("/", "__")
        return assemble(
            rows(), config=config, origin=origin, default_doc_id=default_doc,
            provenance=provenance, doc_defaults={"source": config.dataset},
            meta={"dataset": config.dataset, "config_name": config.config_name,
                  "split": config.split, "revision": config.revision,
                  "fingerprint": getattr(ds, "_fingerprint", None)},
        )
