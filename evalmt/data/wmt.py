"""The `wmt-xml` reader: WMT test sets in the WMT21+ XML format.

Layout read::

    <dataset id=..><collection id=..>
      <doc id=.. origlang=..>
        <src lang=..><p><seg id=..>...</seg></p></src>
        <ref lang=.. translator=A><p><seg id=..>...</seg></p></ref>   (zero or more)
        <hyp system=..>...</hyp>                                       (ignored)

The older WMT SGML files (``<srcset>`` with ``<doc docid=..><seg id=..>``, one
``<refset>`` file per reference, listed under ``references:``) are read line
by line, as they are often not well-formed XML (bare ``&``); each ``<seg>``
must sit on one line and references are matched by (docid, seg id).

Reference streams are translators: stream i is the i-th name of
``translators`` (or, without that key, of the translators in order of first
appearance in the file). Decisions, all errors naming file:line:

- ``<doc testsuite=..>`` documents are skipped (as sacrebleu does) with a warning;
- a document without a reference by a selected translator is an error (the
  refs tuple is positional, so a gap would shift streams) — select the
  translators every document has with ``translators:``;
- a source segment without a segment of the same id in a selected reference,
  or a reference segment without a source, is an error naming doc and seg;
- languages on ``<src>``/``<ref>`` must match ``src_lang``/``tgt_lang`` (primary
  subtag), which catches reading an en-zh file under a zh-en config.

Parsing uses the standard library's expat directly (for line numbers on
every element) rather than adding defusedxml: WMT files never carry a DTD,
so any ``<!DOCTYPE`` is refused before its entities can be declared. That
rules out entity expansion (billion laughs) and external entities (XXE) on
every expat version; ``pyexpat`` would not fetch external entities anyway
(see "XML vulnerabilities" in the Python docs), it would silently drop them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evalmt.core import primary_subtag
from evalmt.data.base import Reader, ReaderConfig, read_text_file
from evalmt.data.linealigned import Row, assemble, single_file
from evalmt.data.model import TestSet, file_sha256
from evalmt.errors import ConfigError, DataError, where


@dataclass
class _Node:
    """A parsed element: tag, attributes, start line, child elements and mixed content."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    content: list[str | _Node] = field(default_factory=list)  # text and children, in order

    def descendants(self) -> list[_Node]:
        """All descendants in document order (iterative: deep nesting cannot overflow)."""
        found: list[_Node] = []
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found

    def find_all(self, tag: str) -> list[_Node]:
        """All descendants with ``tag`` in document order."""
        return [node for node in self.descendants() if node.tag == tag]

    def all_text(self) -> str:
        """Text of this element and its descendants, in document order."""
        out: list[str] = []
        stack: list[str | _Node] = list(reversed(self.content))
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
            else:
                stack.extend(reversed(item.content))
        return "".join(out)


def parse_xml(path: Path) -> _Node:
    """Parse a strict UTF-8 XML file into ``_Node``s; malformed XML names file:line:column."""
    import pyexpat

    text = read_text_file(path)
    # The file was checked to be UTF-8 above; telling expat so overrides any
    # encoding declaration that claims otherwise.
    parser = pyexpat.ParserCreate("utf-8")
    parser.buffer_text = True
    root = _Node("#document", {}, 0)
    stack = [root]

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, dict(attrs), parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack[-1].content.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].content.append(data)

    def doctype(name: str, *_: object) -> None:
        raise DataError(
            f"{path}:{parser.CurrentLineNumber}: <!DOCTYPE {name}> is not allowed "
            "(DTDs and entity declarations are refused for safety)"
        )

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.encode("utf-8"), True)
    except pyexpat.ExpatError as exc:
        raise DataError(
            f"{path}:{exc.lineno}:{exc.offset + 1}: malformed XML: "
            f"{pyexpat.ErrorString(exc.code)}"
        ) from exc
    if not root.children:
        raise DataError(f"{path}: no XML element found")
    return root.children[0]


class WmtXmlConfig(ReaderConfig):
    """``wmt-xml``: a WMT21+ XML file (references by translator) or an SGML srcset + refsets."""

    reader: Literal["wmt-xml"]
    path: str
    translators: list[str] | None = None
    references: list[str] = []  # refset files; only for the older SGML srcset format


_SGML_DOC = re.compile(r"<doc\b[^>]*?\bdocid=\"?([^\"\s>]+)\"?[^>]*>", re.IGNORECASE)
_SGML_SEG = re.compile(r"<seg\b[^>]*?\bid=\"?([^\"\s>]+)\"?[^>]*>(.*)</seg>", re.IGNORECASE)
_SGML_SET = re.compile(r"<(srcset|refset|tstset)\b[^>]*>", re.IGNORECASE)
_SGML_LANG = re.compile(r"\b(srclang|trglang)=\"?([^\"\s>]+)", re.IGNORECASE)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def _unescape(text: str) -> str:
    for entity, char in _ENTITIES:  # &amp; last, so "&amp;lt;" stays "&lt;"
        text = text.replace(entity, char)
    return text


def read_sgml(path: Path, *, expected_set: str, lang: str, key: str) -> dict:
    """Read an SGML srcset/refset into ``{docid: {seg id: (text, line)}}`` (in file order)."""
    lines = read_text_file(path).split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    head = _SGML_SET.search(lines[first])
    if head is None or head.group(1).lower() != expected_set:
        raise DataError(f"{where(path, first + 1)}: expected a <{expected_set}> line")
    attr = "srclang" if expected_set == "srcset" else "trglang"
    for name, value in _SGML_LANG.findall(lines[first]):
        if (name.lower() == attr and value.lower() != "any"
                and primary_subtag(value) != primary_subtag(lang)):
            raise DataError(f"{where(path, first + 1)}: {attr}={value!r} but the config says "
                            f"{key}: {lang!r}")
    docs: dict[str, dict[str, tuple[str, int]]] = {}
    current: dict[str, tuple[str, int]] | None = None
    current_id = ""
    for n, line in enumerate(lines[first + 1:], start=first + 2):
        doc = _SGML_DOC.search(line)
        if doc:
            if current is not None:
                raise DataError(f"{where(path, n)}: <doc> inside document {current_id!r}")
            current_id = doc.group(1)
            if current_id in docs:
                raise DataError(f"{where(path, n)}: duplicate doc id {current_id!r}")
            current = docs[current_id] = {}
        elif "<seg" in line.lower():
            seg = _SGML_SEG.search(line)
            if seg is None or current is None:
                raise DataError(f"{where(path, n)}: expected <seg id=..>text</seg> "
                                "inside a <doc> on one line")
            if seg.group(1) in current:
                raise DataError(f"{where(path, n)}: duplicate segment id {seg.group(1)!r} "
                                f"in document {current_id!r}")
            current[seg.group(1)] = (_unescape(seg.group(2)), n)
        elif "</doc>" in line.lower():
            current = None
    if not docs:
        raise DataError(f"{path}: no <doc> lines")
    return docs


def _check_lang(node: _Node, expected: str, key: str, path: Path) -> None:
    lang = node.attrs.get("lang")
    if lang is not None and primary_subtag(lang) != primary_subtag(expected):
        raise DataError(
            f"{where(path, node.line)}: <{node.tag} lang={lang!r}> but the config says "
            f"{key}: {expected!r}"
        )


def _segments(node: _Node, doc_id: str, path: Path) -> dict[str, tuple[str, int]]:
    """Map seg id → (text, line) for one ``<src>`` or ``<ref>``; ids must be unique."""
    segs: dict[str, tuple[str, int]] = {}
    for seg in node.find_all("seg"):
        seg_id = seg.attrs.get("id")
        loc = where(path, seg.line)
        if seg_id is None or not seg_id.strip():
            raise DataError(f"{loc}: <seg> without an id in document {doc_id!r}")
        if seg_id in segs:
            raise DataError(
                f"{loc}: duplicate segment id {seg_id!r} in <{node.tag}> of document {doc_id!r} "
                f"(first at line {segs[seg_id][1]})"
            )
        segs[seg_id] = (seg.all_text(), seg.line)
    return segs


class WmtXmlReader(Reader):
    """Read a WMT21+ XML test set; documents keep their ``id`` and ``origlang``."""

    config_model = WmtXmlConfig

    def read(self, config: WmtXmlConfig, *, base_dir: Path) -> TestSet:
        """Read the XML file; see the module docstring for the error decisions."""
        path = single_file(config.path, base_dir=base_dir, key="path")
        if read_text_file(path).lstrip()[:7].lower() == "<srcset":
            return self._read_sgml(path, config, base_dir)
        if config.references:
            raise ConfigError("references: only for SGML <srcset> files; WMT21+ XML files hold "
                              "their references (select them with `translators:`)")
        root = parse_xml(path)
        if root.tag != "dataset":
            raise DataError(
                f"{where(path, root.line)}: root element is <{root.tag}>, expected <dataset> "
                "(WMT21+ test-set XML)"
            )
        docs = root.find_all("doc")
        # Test-suite documents (WMT22+) have no references; skip them as sacrebleu does,
        # but say so in the test set's warnings.
        suites = [d for d in docs if "testsuite" in d.attrs]
        docs = [d for d in docs if "testsuite" not in d.attrs]
        warnings = (f"skipped {len(suites)} test-suite document(s)",) if suites else ()
        if not docs:
            raise DataError(f"{path}: no <doc> elements" + (" besides test suites" if suites
                                                            else ""))
        translators = config.translators
        if translators is None:
            translators = []
            for doc in docs:
                for ref in (c for c in doc.children if c.tag == "ref"):
                    name = ref.attrs.get("translator", "")
                    if name not in translators:
                        translators.append(name)
        rows: list[Row] = []
        doc_meta: dict[str, dict[str, str]] = {}
        first_line: dict[str, int] = {}
        for doc in docs:
            doc_id = doc.attrs.get("id", "")
            if doc_id in first_line:
                raise DataError(f"{where(path, doc.line)}: duplicate doc id {doc_id!r} "
                                f"(first at line {first_line[doc_id]})")
            first_line[doc_id] = doc.line
            rows.extend(self._doc_rows(doc, translators, config, path, doc_meta))
        return assemble(
            rows, config=config, origin=str(path), default_doc_id=path.stem,
            provenance={str(path): file_sha256(path)}, doc_meta=doc_meta,
            doc_defaults={"source_file": str(path)},
            meta={"dataset": root.attrs.get("id", ""), "translators": tuple(translators),
                  "warnings": warnings},
        )

    @staticmethod
    def _read_sgml(path: Path, config: WmtXmlConfig, base_dir: Path) -> TestSet:
        if not config.references:
            raise ConfigError(f"references: {path} is an SGML <srcset>; list its refset files")
        src = read_sgml(path, expected_set="srcset", lang=config.src_lang, key="src_lang")
        ref_paths = [single_file(r, base_dir=base_dir, key=f"references.{i}")
                     for i, r in enumerate(config.references)]
        refsets = [read_sgml(p, expected_set="refset", lang=config.tgt_lang, key="tgt_lang")
                   for p in ref_paths]
        for ref_path, refset in zip(ref_paths, refsets, strict=True):
            for doc_id, segs in refset.items():
                for seg_id, (_, line) in segs.items():
                    if seg_id not in src.get(doc_id, {}):
                        raise DataError(f"{where(ref_path, line)}: reference segment {seg_id!r} "
                                        f"of document {doc_id!r} has no source")
        rows = []
        for doc_id, segs in src.items():
            if not segs:
                raise DataError(f"{path}: document {doc_id!r} has no <seg> lines")
            for seg_id, (text, line) in segs.items():
                refs = []
                for ref_path, refset in zip(ref_paths, refsets, strict=True):
                    if seg_id not in refset.get(doc_id, {}):
                        raise DataError(f"{where(path, line)}: segment {seg_id!r} of document "
                                        f"{doc_id!r} has no reference in {ref_path}")
                    refs.append(refset[doc_id][seg_id][0])
                rows.append(Row(where(path, line), text, tuple(refs), doc_id, seg_id))
        return assemble(
            rows, config=config, origin=str(path), default_doc_id=path.stem,
            provenance={str(p): file_sha256(p) for p in [path, *ref_paths]},
            doc_defaults={"source_file": str(path)}, meta={"format": "sgml"},
        )

    @staticmethod
    def _doc_rows(doc: _Node, translators: list[str], config: WmtXmlConfig, path: Path,
                  doc_meta: dict[str, dict[str, str]]) -> list[Row]:
        loc = where(path, doc.line)
        doc_id = doc.attrs.get("id")
        if doc_id is None or not doc_id.strip():
            raise DataError(f"{loc}: <doc> without an id")
        srcs = [c for c in doc.children if c.tag == "src"]
        if len(srcs) != 1:
            raise DataError(f"{loc}: document {doc_id!r} has {len(srcs)} <src> elements, "
                            "expected 1")
        _check_lang(srcs[0], config.src_lang, "src_lang", path)
        refs_by_name: dict[str, _Node] = {}
        for ref in (c for c in doc.children if c.tag == "ref"):
            name = ref.attrs.get("translator", "")
            if name in refs_by_name:
                raise DataError(f"{where(path, ref.line)}: document {doc_id!r} has two "
                                f"references by translator {name!r}")
            refs_by_name[name] = ref
        chosen = []
        for name in translators:
            if name not in refs_by_name:
                raise DataError(
                    f"{loc}: document {doc_id!r} has no reference by translator {name!r} "
                    f"(it has {sorted(refs_by_name)}); select translators with `translators:`"
                )
            _check_lang(refs_by_name[name], config.tgt_lang, "tgt_lang", path)
            chosen.append((name, _segments(refs_by_name[name], doc_id, path)))
        src = _segments(srcs[0], doc_id, path)
        for name, segs in chosen:
            for seg_id, (_, line) in segs.items():
                if seg_id not in src:
                    raise DataError(f"{where(path, line)}: reference segment {seg_id!r} of "
                                    f"translator {name!r} has no source in document {doc_id!r}")
        rows = []
        for seg_id, (text, line) in src.items():
            refs = []
            for name, segs in chosen:
                if seg_id not in segs:
                    raise DataError(f"{where(path, line)}: segment {seg_id!r} of document "
                                    f"{doc_id!r} has no reference by translator {name!r}")
                refs.append(segs[seg_id][0])
            rows.append(Row(where(path, line), text, tuple(refs), doc_id=doc_id, seg_id=seg_id))
        if not rows:
            raise DataError(f"{loc}: document {doc_id!r} has no source segments")
        doc_meta[doc_id] = {k: v for k, v in doc.attrs.items() if k in ("origlang", "domain")}
        return rows
