"""The ``bilingual-txt`` reader: one page with Chinese and English paragraphs → one document.

Per file: split into non-empty lines (paragraphs), tell each line's script
(``langid``), set aside lines of neither language, clean, align the Chinese
and English paragraphs (``align``) and emit one segment per paired bead. A
document whose alignment is implausible becomes a single whole-document
segment flagged ``doc_level_only``; nothing is mispaired or dropped silently.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evalmt.core import is_chinese
from evalmt.data import align as aligner
from evalmt.data.base import (
    Reader,
    ReaderConfig,
    read_text_file,
    resolve_paths,
    skipped_in_folder,
)
from evalmt.data.cleaning import CLEANERS, clean_text
from evalmt.data.langid import HAN, detect_script
from evalmt.data.model import Document, Segment, TestSet, file_sha256
from evalmt.errors import ConfigError, DataError

PREVIEW_CHARS = 40
# A line wholly in brackets, or one opening with a credit label, is an
# editorial note ("(Editor: Wang)", "（責任編輯：王）"), not a paragraph.
_NOTE = re.compile(
    r"^\s*(?:[(（\[【][^()（）\[\]【】]*[)）\]】]"
    r"|(?:editor|source|translator|translated by|photo|責任編輯|责任编辑|編輯|编辑|來源|来源)"
    r"\s*[:：].*)\s*$",
    re.IGNORECASE,
)
# English run together by a broken converter: "Affairs,China's", "Ministryof".
_RUN_TOGETHER = re.compile(
    r"[a-z]{2,}[,;:][A-Za-z]{2,}|[a-z]{2,}\.[A-Z][a-z]{2,}"
    r"|\b[A-Z][a-z]*[a-np-z](?:of|the|and)\b"
)
_LINE_NO = re.compile(r"line (\d+):")


class BilingualTxtConfig(ReaderConfig):
    """Options of the ``bilingual-txt`` reader."""

    reader: Literal["bilingual-txt"] = "bilingual-txt"
    path: str
    clean: tuple[str, ...] = ("strip-pinyin", "normalize-space")
    # Implausibility limits of the aligner (see evalmt/data/align.py).
    max_delta: float = Field(aligner.MAX_DELTA, gt=0)
    max_unpaired_share: float = Field(aligner.MAX_UNPAIRED_SHARE, ge=0, le=1)


@dataclass(frozen=True)
class Paragraph:
    """A non-empty line of one language, raw and cleaned, with its 1-based line number."""

    line: int
    raw: str
    text: str
    cleaning: dict[str, int]


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _layout(labels: Sequence[str]) -> str:
    """Name the order of languages: zh-first, en-first, interleaved or mixed."""
    runs: list[tuple[str, int]] = []
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1] + 1)
        else:
            runs.append((label, 1))
    first = "zh" if runs[0][0] == HAN else "en"
    if len(runs) == 2:
        return f"{first}-first"
    if all(n <= 2 for _, n in runs):
        return "interleaved"
    return "mixed"


def _run_together(paragraphs: Sequence[Paragraph]) -> list[str]:
    found = []
    for p in paragraphs:
        hits = [token for token in p.text.split() if _RUN_TOGETHER.search(token)]
        if hits:
            found.append(f"line {p.line}: English looks run together "
                         f"({', '.join(repr(h) for h in hits[:3])}); kept as written")
    return found


def _headings(paragraphs: Sequence[Paragraph], lengths: Sequence[int]) -> frozenset[int]:
    median = statistics.median(lengths) if lengths else 0
    return frozenset(i for i, (p, n) in enumerate(zip(paragraphs, lengths, strict=True))
                     if aligner.is_heading(p.text, n, median))


def _sum_counts(paragraphs: Sequence[Paragraph]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in paragraphs:
        for step, n in p.cleaning.items():
            total[step] = total.get(step, 0) + n
    return total


def read_document(
    path: Path, config: BilingualTxtConfig, *, doc_id: str | None = None
) -> Document:
    """Read one bilingual page into a ``Document`` (``DataError`` naming the file if unusable)."""
    if is_chinese(config.src_lang) == is_chinese(config.tgt_lang):
        raise ConfigError(
            f"data {config.name!r}: bilingual-txt needs one Chinese and one Latin-script "
            f"language, got src_lang={config.src_lang!r} tgt_lang={config.tgt_lang!r}"
        )
    src_is_zh = is_chinese(config.src_lang)
    zh_lang, en_lang = (config.src_lang, config.tgt_lang) if src_is_zh else (
        config.tgt_lang, config.src_lang)
    text = read_text_file(path)
    sides: dict[str, list[Paragraph]] = {"zh": [], "en": []}
    labels: list[str] = []
    unassigned: list[dict[str, Any]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        script = None if _NOTE.match(raw) else detect_script(raw)
        if script is None:
            unassigned.append({"line": number, "text": raw.strip()})
            continue
        side = "zh" if script == HAN else "en"
        lang = zh_lang if side == "zh" else en_lang
        cleaned, counts = clean_text(raw, config.clean, lang=lang,
                                     is_reference=(side == "zh") != src_is_zh)
        sides[side].append(Paragraph(number, raw, cleaned, counts))
        labels.append(side)
    for side, other in (("zh", "English"), ("en", "Chinese")):
        if not sides[side]:
            found = "no paragraphs of either language" if not labels else f"only {other}"
            raise DataError(f"{path}: bilingual page has {found} (needs Chinese and English "
                            f"paragraphs)")
    zh, en = sides["zh"], sides["en"]
    # Alignment lengths ignore pinyin artifacts whether or not they were cleaned.
    strip = CLEANERS.get("strip-pinyin")
    zh_lengths = [aligner.zh_length(strip(p.text)[0]) for p in zh]
    en_lengths = [aligner.en_length(p.text) for p in en]
    result = aligner.align(
        zh_lengths, en_lengths,
        zh_headings=_headings(zh, zh_lengths), en_headings=_headings(en, en_lengths),
        limits=aligner.Limits(config.max_delta, config.max_unpaired_share),
    )
    doc_id = doc_id or path.stem
    src_side, ref_side = ("zh", "en") if src_is_zh else ("en", "zh")
    warnings = [f"line {u['line']}: neither Chinese nor English, not paired: "
                f"{_preview(u['text'])!r}" for u in unassigned]
    warnings += _run_together(en)
    decisions, segments = [], []
    for bead in result.beads:
        parts = {"zh": [zh[i] for i in bead.zh], "en": [en[i] for i in bead.en]}
        src, ref = parts[src_side], parts[ref_side]
        kind = f"{len(src)}-{len(ref)}"
        decision = {
            "kind": kind,
            "src_lines": [p.line for p in src], "ref_lines": [p.line for p in ref],
            "cost": round(bead.cost, 3), "delta": round(bead.delta, 3),
            "src_preview": _preview(" ".join(p.text for p in src)),
            "ref_preview": _preview(" ".join(p.text for p in ref)),
        }
        decisions.append(decision)
        if not (src and ref):
            lines = decision["src_lines"] or decision["ref_lines"]
            warnings.append(f"line {lines[0]}: {'source' if src else 'reference'} paragraph "
                            f"without counterpart ({kind}), not scored")
            continue
        if result.plausible:
            segments.append(Segment(
                doc_id, str(len(segments) + 1),
                "\n".join(p.text for p in src), ("\n".join(p.text for p in ref),),
                {"alignment": kind, "src_lines": tuple(decision["src_lines"]),
                 "ref_lines": tuple(decision["ref_lines"]),
                 "cleaning": _sum_counts(src + ref)},
            ))
    # Line-numbered warnings in file order, then document-wide ones.
    warnings.sort(key=lambda w: int(m.group(1)) if (m := _LINE_NO.match(w)) else 1 << 30)
    if not result.plausible:
        warnings.append(f"alignment implausible ({result.reason}); kept as one whole-document "
                        f"segment, usable for document-level scores only")
        src_all, ref_all = sides[src_side], sides[ref_side]
        segments = [Segment(
            doc_id, "1", "\n".join(p.text for p in src_all),
            ("\n".join(p.text for p in ref_all),),
            {"alignment": "whole-document", "src_lines": tuple(p.line for p in src_all),
             "ref_lines": tuple(p.line for p in ref_all),
             "cleaning": _sum_counts(src_all + ref_all)},
        )]
    return Document(doc_id, tuple(segments), {
        "source_file": str(path),
        "layout": _layout(labels),
        "paragraphs": {"zh": len(zh), "en": len(en)},
        "alignment": tuple(decisions),
        "alignment_ratio": round(result.ratio, 4),
        "alignment_cost": round(result.cost, 3),
        "doc_level_only": not result.plausible,
        "unassigned_lines": tuple(unassigned),
        "cleaning": _sum_counts(zh + en),
        "warnings": tuple(warnings),
    })


class BilingualTxtReader(Reader):
    """Read bilingual pages (file, folder or glob); one file is one document named by its stem."""

    config_model = BilingualTxtConfig

    def read(self, config: ReaderConfig, *, base_dir: Path) -> TestSet:
        """Read every matched file; duplicate document ids across files are a ``DataError``."""
        if not isinstance(config, BilingualTxtConfig):
            config = BilingualTxtConfig.model_validate(config.model_dump())
        paths = resolve_paths(config.path, base_dir=base_dir, suffixes=(".txt",))
        documents, seen = [], {}
        for path in paths:
            if path.stem in seen:
                raise DataError(f"{path}: duplicate doc id {path.stem!r} (also from "
                                f"{seen[path.stem]})")
            seen[path.stem] = path
            documents.append(read_document(path, config))
        return TestSet(
            config.name, config.src_lang, config.tgt_lang, tuple(documents),
            provenance={str(p): file_sha256(p) for p in paths},
            meta={"reader": "bilingual-txt", "clean": list(config.clean),
                  "warnings": tuple(skipped_in_folder(config.path, base_dir=base_dir,
                                                      suffixes=(".txt",)))},
        )
