"""Record-oriented readers (`text`, `tsv`, `jsonl`) and the row → TestSet assembly.

Every standard-format reader (these three, `wmt-xml`, `hf-datasets`) turns its
input into ``Row`` records, each knowing where it came from, and hands them to
``assemble``. ``assemble`` owns the rules all of them share:

- documents are runs of consecutive rows with the same doc id; a doc id that
  comes back after another document is an error naming both places;
- segment ids default to 1, 2, ... within a document; a repeated
  (doc id, segment id) pair is an error naming both places;
- the configured cleaning steps run on every source and reference, and their
  counts are recorded on the segment and summed on the document;
- an empty source or reference is allowed (sacrebleu scores it) but recorded
  as a warning on its document; no rows at all is an error.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evalmt.data.base import Reader, ReaderConfig, read_text_file, resolve_paths
from evalmt.data.model import Document, Segment, TestSet, file_sha256
from evalmt.errors import ConfigError, DataError, where


@dataclass(frozen=True)
class Row:
    """One source segment with its references, before grouping into documents.

    ``doc_id``/``seg_id`` are ``None`` when the input has no such column;
    ``location`` is a ``file:line`` style string used in error messages, and
    ``id_location`` the place of the doc id when it comes from another file.
    """

    location: str
    src: str
    refs: tuple[str, ...]
    doc_id: str | None = None
    seg_id: str | None = None
    meta: Mapping[str, Any] | None = None
    id_location: str | None = None


def _cleaner(steps: Sequence[str]):
    """Return ``clean(text, lang, is_reference) -> (text, counts)`` for ``steps``."""
    if not steps:
        return lambda text, lang, is_reference: (text, {})
    from evalmt.data.cleaning import clean_text, validate_steps

    validate_steps(steps)
    return lambda text, lang, is_reference: clean_text(
        text, steps, lang=lang, is_reference=is_reference
    )


def _add_counts(total: dict[str, int], counts: Mapping[str, int]) -> None:
    for key, value in counts.items():
        if value:
            total[key] = total.get(key, 0) + value


def assemble(
    rows: Iterable[Row],
    *,
    config: ReaderConfig,
    origin: str,
    default_doc_id: str,
    provenance: Mapping[str, str],
    doc_meta: Mapping[str, Mapping[str, Any]] | None = None,
    doc_defaults: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> TestSet:
    """Group ``rows`` into documents, clean them and build the ``TestSet``.

    ``origin`` names the input in errors; rows without a doc id go into
    ``default_doc_id``; ``doc_defaults`` is metadata of every document and
    ``doc_meta`` adds per-document metadata by doc id.
    """
    clean = _cleaner(config.clean)
    docs: list[tuple[str, list[Segment], dict[str, Any]]] = []
    first_seen: dict[str, str] = {}  # doc id -> location of its first row
    seg_seen: dict[str, str] = {}  # seg id in the current document -> location
    for row in rows:
        doc_id = default_doc_id if row.doc_id is None else row.doc_id
        id_at = row.id_location or row.location
        if not doc_id:
            raise DataError(f"{id_at}: empty document id")
        if not docs or docs[-1][0] != doc_id:
            if doc_id in first_seen:
                raise DataError(
                    f"{id_at}: duplicate doc id {doc_id!r}: it already occurred at "
                    f"{first_seen[doc_id]} and its rows must be consecutive"
                )
            first_seen[doc_id] = id_at
            extra = {**(doc_defaults or {}), **(doc_meta or {}).get(doc_id, {})}
            docs.append((doc_id, [], {"warnings": [], "cleaning": {}, **extra}))
            seg_seen = {}
        _, segments, dmeta = docs[-1]
        seg_id = str(len(segments) + 1) if row.seg_id is None else row.seg_id
        if not seg_id:
            raise DataError(f"{row.location}: empty segment id in document {doc_id!r}")
        if seg_id in seg_seen:
            raise DataError(
                f"{row.location}: duplicate segment id {seg_id!r} in document {doc_id!r} "
                f"(first at {seg_seen[seg_id]})"
            )
        seg_seen[seg_id] = row.location
        counts: dict[str, int] = {}
        src, c = clean(row.src, config.src_lang, False)
        _add_counts(counts, c)
        refs = []
        for ref in row.refs:
            ref, c = clean(ref, config.tgt_lang, True)
            _add_counts(counts, c)
            refs.append(ref)
        if not src.strip():
            dmeta["warnings"].append(f"{row.location}: empty source in segment {seg_id}")
        for i, ref in enumerate(refs, start=1):
            if not ref.strip():
                dmeta["warnings"].append(
                    f"{row.location}: empty reference {i} in segment {seg_id}"
                )
        seg_meta = dict(row.meta or {})
        if counts:
            seg_meta["cleaning"] = counts
            _add_counts(dmeta["cleaning"], counts)
        segments.append(Segment(doc_id, seg_id, src, tuple(refs), seg_meta))
    if not docs:
        raise DataError(f"{origin}: no segments found")
    documents = []
    for doc_id, segments, dmeta in docs:
        dmeta["warnings"] = tuple(dmeta["warnings"])
        if not dmeta["cleaning"]:
            del dmeta["cleaning"]
        documents.append(Document(doc_id, tuple(segments), dmeta))
    return TestSet(
        config.name, config.src_lang, config.tgt_lang, tuple(documents),
        provenance=provenance, meta={"reader": config.reader, **(meta or {})},
    )


def single_file(pattern: str, *, base_dir: Path, key: str) -> Path:
    """Resolve ``pattern`` to exactly one file, else a ``DataError`` naming config ``key``."""
    paths = resolve_paths(pattern, base_dir=base_dir)
    if len(paths) != 1:
        raise DataError(f"{key}: {pattern!r} matches {len(paths)} files; name exactly one file")
    return paths[0]


def text_lines(path: Path) -> list[str]:
    """Return the lines of a strict UTF-8 file; a final newline starts no extra line."""
    text = read_text_file(path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def doc_id_lines(path: Path) -> list[str]:
    """Read a doc-id file (one id per line) under the rule every reader follows.

    A document's lines are consecutive and no id is empty; a violation is a
    ``DataError`` naming this file and line (used by ``evalmt score --doc-ids``;
    the ``text`` reader applies the same rule through ``assemble``).
    """
    ids = [line.strip() for line in text_lines(path)]
    first: dict[str, int] = {}
    for n, doc_id in enumerate(ids, start=1):
        if not doc_id:
            raise DataError(f"{where(path, n)}: empty document id")
        if n > 1 and ids[n - 2] == doc_id:
            continue
        if doc_id in first:
            raise DataError(f"{where(path, n)}: duplicate doc id {doc_id!r}: it already occurred "
                            f"at {where(path, first[doc_id])} and its rows must be consecutive")
        first[doc_id] = n
    return ids


def lookup_field(record: Mapping[str, Any], path: str, location: str) -> Any:
    """Return ``record[path]``; a dotted ``a.b`` also looks inside nested mappings.

    A literal key containing a dot wins over the nested reading.
    """
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise DataError(f"{location}: missing field {path!r}")
        value = value[part]
    return value


def _encodable(value: str, path: str, location: str) -> str:
    # JSON escapes can smuggle in lone surrogates ("\ud800"), which no file can hold.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{location}: field {path!r} holds a lone surrogate") from exc
    return value


def text_field(record: Mapping[str, Any], path: str, location: str) -> str:
    """Return a field that must hold a string."""
    value = lookup_field(record, path, location)
    if not isinstance(value, str):
        raise DataError(
            f"{location}: field {path!r} must be a string, got {type(value).__name__}"
        )
    return _encodable(value, path, location)


def id_field(record: Mapping[str, Any], path: str | None, location: str) -> str | None:
    """Return an id field (string or integer) as text, ``None`` when none is configured."""
    if path is None:
        return None
    value = lookup_field(record, path, location)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(
            f"{location}: field {path!r} must be a string or integer id, "
            f"got {type(value).__name__}"
        )
    return _encodable(str(value), path, location)


def reference_fields(record: Mapping[str, Any], paths: Sequence[str], location: str) -> tuple:
    """Return all references: each field holds a string or a non-empty list of strings."""
    refs: list[str] = []
    for path in paths:
        value = lookup_field(record, path, location)
        if isinstance(value, str):
            refs.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            refs.extend(value)
        else:
            raise DataError(
                f"{location}: field {path!r} must be a string or a non-empty list of strings, "
                f"got {type(value).__name__}"
            )
    return tuple(_encodable(r, "/".join(paths), location) for r in refs)


# -- text ---------------------------------------------------------------------------------


class LineAlignedConfig(ReaderConfig):
    """``text``: a source file, one or more reference files, an optional doc-id file.

    Each ``references`` entry is a file or a glob; a glob matching several files
    (``….ref.*.en``) gives one reference stream per file, in sorted order.
    """

    reader: Literal["text"]
    source: str
    references: list[str] = Field(min_length=1)
    doc_ids: str | None = None


class LineAlignedReader(Reader):
    """Line i of every file belongs to segment i; line counts must be equal."""

    config_model = LineAlignedConfig

    def read(self, config: LineAlignedConfig, *, base_dir: Path) -> TestSet:
        """Read the parallel files; unequal line counts are an error, never a truncation."""
        src_path = single_file(config.source, base_dir=base_dir, key="source")
        # A glob may name several reference files (WMT's ref.A, ref.B): one stream
        # each, in sorted file-name order.
        ref_paths = [p for r in config.references for p in resolve_paths(r, base_dir=base_dir)]
        id_path = (None if config.doc_ids is None
                   else single_file(config.doc_ids, base_dir=base_dir, key="doc_ids"))
        src = text_lines(src_path)
        others = [(p, text_lines(p)) for p in ref_paths]
        if id_path is not None:
            others.append((id_path, text_lines(id_path)))
        for path, lines in others:
            if len(lines) != len(src):
                longer = src_path if len(src) > len(lines) else path
                raise DataError(
                    f"{path} has {len(lines)} lines but {src_path} has {len(src)}; "
                    f"line {min(len(src), len(lines)) + 1} of {longer} has no counterpart"
                )
        ids = others[-1][1] if id_path is not None else None
        rows = (
            Row(
                location=where(src_path, i + 1),
                src=line,
                refs=tuple(lines[i] for _, lines in others[: len(ref_paths)]),
                doc_id=ids[i].strip() if ids is not None else None,
                id_location=where(id_path, i + 1) if id_path is not None else None,
            )
            for i, line in enumerate(src)
        )
        all_paths = [src_path, *ref_paths] + ([id_path] if id_path else [])
        return assemble(
            rows, config=config, origin=str(src_path), default_doc_id=src_path.stem,
            provenance={str(p): file_sha256(p) for p in all_paths},
            doc_defaults={"source_file": str(src_path)},
        )


# -- tsv ----------------------------------------------------------------------------------


class TsvConfig(ReaderConfig):
    """``tsv``: one segment per line; columns by header name (default) or 0-based index."""

    reader: Literal["tsv"]
    path: str
    header: bool = True
    source_field: str | int = "src"
    reference_fields: list[str | int] = Field(default_factory=lambda: ["ref"], min_length=1)
    doc_id_field: str | int | None = None
    seg_id_field: str | int | None = None


def _column_index(column: str | int, header: list[str] | None, key: str, path: Path) -> int:
    if isinstance(column, int):
        if column < 0:
            raise ConfigError(f"{key}: column index must be >= 0, got {column}")
        if header is not None and column >= len(header):
            raise DataError(f"{path}:1: {key} {column} is past the {len(header)} header columns")
        return column
    if header is None:
        raise ConfigError(f"{key}: column {column!r} is a name but header is false; use an index")
    if column not in header:
        raise DataError(f"{path}:1: no column {column!r} for {key}; header has {header}")
    return header.index(column)


class TsvReader(Reader):
    """Tab-separated values, read with ``csv`` and no quoting (MT text contains quotes)."""

    config_model = TsvConfig

    def read(self, config: TsvConfig, *, base_dir: Path) -> TestSet:
        """Read the TSV file; a line with the wrong number of columns is an error."""
        path = single_file(config.path, base_dir=base_dir, key="path")
        lines = text_lines(path)
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True)
        try:
            table = list(reader)
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: {exc}") from exc
        header = table[0] if config.header else None
        body = list(enumerate(table, start=1))[1 if config.header else 0:]
        src_i = _column_index(config.source_field, header, "source_field", path)
        ref_is = [
            _column_index(c, header, f"reference_fields.{i}", path)
            for i, c in enumerate(config.reference_fields)
        ]
        doc_i, seg_i = (None if c is None else _column_index(c, header, key, path) for c, key in
                        ((config.doc_id_field, "doc_id_field"),
                         (config.seg_id_field, "seg_id_field")))
        width = len(header) if header is not None else (len(body[0][1]) if body else 0)
        needed = max([src_i, *ref_is] + [i for i in (doc_i, seg_i) if i is not None]) + 1
        if header is None and width < needed:
            raise DataError(f"{path}:1: {width} columns, but the config uses column {needed - 1}")

        def rows():
            for n, cells in body:
                if len(cells) != width:
                    raise DataError(f"{path}:{n}: expected {width} tab-separated columns, "
                                    f"got {len(cells)}")
                yield Row(
                    location=where(path, n), src=cells[src_i],
                    refs=tuple(cells[i] for i in ref_is),
                    doc_id=None if doc_i is None else cells[doc_i].strip(),
                    seg_id=None if seg_i is None else cells[seg_i].strip(),
                )

        return assemble(rows(), config=config, origin=str(path), default_doc_id=path.stem,
                        provenance={str(path): file_sha256(path)},
                        doc_defaults={"source_file": str(path)})


# -- jsonl --------------------------------------------------------------------------------


class JsonlConfig(ReaderConfig):
    """``jsonl``: one JSON object per line; fields by name or dotted path (``translation.zh``)."""

    reader: Literal["jsonl"]
    path: str
    source_field: str = "src"
    reference_fields: list[str] = Field(default_factory=lambda: ["ref"], min_length=1)
    doc_id_field: str | None = None
    seg_id_field: str | None = None


class JsonlReader(Reader):
    """JSON Lines; blank lines are skipped, anything else must be a JSON object."""

    config_model = JsonlConfig

    def read(self, config: JsonlConfig, *, base_dir: Path) -> TestSet:
        """Read the JSONL file; bad JSON, a missing field or a wrong type name file:line."""
        path = single_file(config.path, base_dir=base_dir, key="path")
        lines = text_lines(path)

        def rows():
            for n, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                loc = where(path, n)
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError) as exc:
                    detail = getattr(exc, "msg", "nesting too deep")
                    raise DataError(f"{loc}: bad JSON: {detail}") from exc
                if not isinstance(record, dict):
                    raise DataError(f"{loc}: expected a JSON object, got {type(record).__name__}")
                yield Row(
                    location=loc,
                    src=text_field(record, config.source_field, loc),
                    refs=reference_fields(record, config.reference_fields, loc),
                    doc_id=id_field(record, config.doc_id_field, loc),
                    seg_id=id_field(record, config.seg_id_field, loc),
                )

        return assemble(rows(), config=config, origin=str(path), default_doc_id=path.stem,
                        provenance={str(path): file_sha256(path)},
                        doc_defaults={"source_file": str(path)})
