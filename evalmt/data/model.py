"""The immutable data model every reader produces: Segment, Document, TestSet.

The scored unit is the segment (a paragraph pair for bilingual pages). A
segment carries one or more references as a tuple: the i-th element of
``refs`` belongs to reference stream i. ``meta`` records decisions taken on
the way in (alignment type, cleaning counts) so they can be shown and written
to the run manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from evalmt.errors import DataError


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Segment:
    """One scored unit: a source text and its reference(s).

    ``seg_id`` is unique within its document (1-based for readers that number
    segments themselves). ``meta`` holds e.g. ``{"alignment": "1-2"}``.
    """

    doc_id: str
    seg_id: str
    src: str
    refs: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.refs, tuple):
            object.__setattr__(self, "refs", tuple(self.refs))
        object.__setattr__(self, "seg_id", str(self.seg_id))
        object.__setattr__(self, "meta", _frozen(self.meta))

    @property
    def key(self) -> tuple[str, str]:
        """The (doc_id, seg_id) pair that identifies this segment in a test set."""
        return (self.doc_id, self.seg_id)


@dataclass(frozen=True)
class Document:
    """An ordered group of segments from one source document.

    ``meta`` holds the source file, layout detected, title, alignment
    decisions and ``warnings`` (a tuple of human-readable strings).
    """

    doc_id: str
    segments: tuple[Segment, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.segments, tuple):
            object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "meta", _frozen(self.meta))

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings recorded while reading this document."""
        return tuple(self.meta.get("warnings", ()))


@dataclass(frozen=True)
class TestSet:
    """A named, immutable collection of documents in one language direction.

    ``provenance`` maps each input file to its sha256 so a run manifest can
    prove which data were scored.
    """

    __test__ = False  # not a pytest test class

    name: str
    src_lang: str
    tgt_lang: str
    documents: tuple[Document, ...]
    provenance: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.documents, tuple):
            object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "provenance", _frozen(self.provenance))
        object.__setattr__(self, "meta", _frozen(self.meta))
        seen_docs: set[str] = set()
        for doc in self.documents:
            if doc.doc_id in seen_docs:
                raise DataError(f"test set {self.name!r}: duplicate doc id {doc.doc_id!r}")
            seen_docs.add(doc.doc_id)
            seen_segs: set[str] = set()
            for seg in doc.segments:
                if seg.doc_id != doc.doc_id:
                    raise DataError(
                        f"test set {self.name!r}: segment {seg.seg_id!r} has doc id "
                        f"{seg.doc_id!r} inside document {doc.doc_id!r}"
                    )
                if seg.seg_id in seen_segs:
                    raise DataError(
                        f"test set {self.name!r}: duplicate segment id {seg.seg_id!r} "
                        f"in document {doc.doc_id!r}"
                    )
                seen_segs.add(seg.seg_id)

    def segments(self) -> Iterator[Segment]:
        """Iterate over all segments in document order."""
        for doc in self.documents:
            yield from doc.segments

    @property
    def num_segments(self) -> int:
        """Total number of segments."""
        return sum(len(d.segments) for d in self.documents)

    @property
    def num_refs(self) -> int:
        """The number of reference streams (the largest reference count of any segment)."""
        return max((len(s.refs) for s in self.segments()), default=0)

    @property
    def warnings(self) -> tuple[str, ...]:
        """All warnings: the test set's own, then each document's, prefixed with its id."""
        own = tuple(self.meta.get("warnings", ()))
        return own + tuple(f"{d.doc_id}: {w}" for d in self.documents for w in d.warnings)

    def sources(self) -> list[str]:
        """Source texts in segment order."""
        return [s.src for s in self.segments()]

    def reference_streams(self) -> list[list[str]]:
        """Return references as sacrebleu wants them: one list per stream, one entry per segment.

        A segment with fewer references than the test set has ``None`` in the
        missing streams (sacrebleu skips ``None`` references).
        """
        n = self.num_refs
        segs = list(self.segments())
        return [[s.refs[i] if i < len(s.refs) else None for s in segs] for i in range(n)]

    def doc_ids(self) -> list[str]:
        """Return the document id of every segment, in segment order."""
        return [s.doc_id for s in self.segments()]

    def content_hash(self) -> str:
        """sha256 over ids, sources and references: equal hashes mean equal scored data."""
        h = hashlib.sha256()
        for seg in self.segments():
            h.update(json.dumps([seg.doc_id, seg.seg_id, seg.src, list(seg.refs)],
                                ensure_ascii=False).encode("utf-8"))
            h.update(b"\n")
        return h.hexdigest()

    def select_documents(self, limit: int) -> TestSet:
        """Return a test set with only the first ``limit`` documents."""
        return TestSet(self.name, self.src_lang, self.tgt_lang, self.documents[:limit],
                       self.provenance, self.meta)


def file_sha256(path: str | bytes | Any) -> str:
    """sha256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
