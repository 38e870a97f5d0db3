"""The ``bilingual-txt`` reader: one page with Chinese and English paragraphs → one document.

Per file: split into non-empty lines (paragraphs), tell each line's script
(``langid``), set aside lines of neither language, clean, align the Chinese
and English paragraphs (``align``) and emit one segment per paired bead. A
pair whose confidence is below ``min_confidence`` is flagged and not scored, a
page without a trustworthy pair keeps no segment; every such decision is a
warning, so nothing is mispaired or dropped silently.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evalmt.core import is_chinese
from evalmt.data import align as aligner
from evalmt.data import pagelines
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
# Lexical evidence is computed for pages, not books: beyond this many
# paragraphs (both sides) the aligner uses lengths only, with a warning.
LEXICAL_MAX_PARAGRAPHS = 2000
_LINE_NO = re.compile(r"line (\d+):")
_UNASSIGNED = {"neither": "neither Chinese nor English", "note": "an editorial note",
               "byline": "a byline"}


class BilingualTxtConfig(ReaderConfig):
    """Options of the ``bilingual-txt`` reader."""

    reader: Literal["bilingual-txt"] = "bilingual-txt"
    path: str
    clean: tuple[str, ...] = ("strip-pinyin", "normalize-space")
    # Pairs below this confidence are flagged and not scored (see evalmt/data/align.py).
    min_confidence: float = Field(aligner.MIN_CONFIDENCE, ge=0, le=1)
    # Lexical evidence from CC-CEDICT (evalmt/data/lexical.py); off: lengths only.
    lexical: bool = True


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


def _headings(paragraphs: Sequence[Paragraph], lengths: Sequence[int]) -> frozenset[int]:
    median = statistics.median(lengths) if lengths else 0
    return frozenset(i for i, (p, n) in enumerate(zip(paragraphs, lengths, strict=True))
                     if aligner.is_heading(p.text, n, median))


def _lines(numbers: Sequence[int]) -> str:
    return ",".join(map(str, numbers)) or "-"


def _sum_counts(paragraphs: Sequence[Paragraph]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in paragraphs:
        for step, n in p.cleaning.items():
            total[step] = total.get(step, 0) + n
    return total


def _lengths(zh: Sequence[Paragraph], en: Sequence[Paragraph]) -> tuple[list[int], list[int]]:
    # Lengths ignore pinyin artifacts whether or not they were cleaned.
    strip = CLEANERS.get("strip-pinyin")
    return ([aligner.zh_length(strip(p.text)[0]) for p in zh],
            [aligner.en_length(p.text) for p in en])


def _evidence(zh: Sequence[Paragraph], en: Sequence[Paragraph]) -> aligner.Evidence:
    from evalmt.data.lexical import LexicalEvidence, default_lexicon

    strip = CLEANERS.get("strip-pinyin")
    return LexicalEvidence([strip(p.text)[0] for p in zh], [p.text for p in en],
                           default_lexicon()).score


def _split_page(path: Path, config: BilingualTxtConfig, *, zh_lang: str, en_lang: str,
                src_is_zh: bool) -> tuple[dict[str, list[Paragraph]], list[str], list[dict]]:
    sides: dict[str, list[Paragraph]] = {"zh": [], "en": []}
    labels: list[str] = []
    unassigned: list[dict[str, Any]] = []
    for number, raw in enumerate(read_text_file(path).split("\n"), start=1):
        if not raw.strip():
            continue
        kind = pagelines.non_paragraph(raw)
        script = None if kind else detect_script(raw)
        if script is None:
            unassigned.append({"line": number, "text": raw.strip(), "kind": kind or "neither"})
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
    return sides, labels, unassigned


def _cut_lines(sides: Mapping[str, Sequence[Paragraph]], headings: Mapping[str, frozenset[int]],
               *, lexical: bool) -> dict[str, frozenset[int]]:
    """Mark paragraphs that look cut off; they have a partial translation at best.

    Cut: ending inside an unclosed bracket; running text without a sentence
    end, unless it is a short heading inside its block (a subtitle in
    sentence case); or, on the page's last line, an English line whose last
    word is no word of CC-CEDICT's English (a title ``... Music`` cut to ``... Musi``).
    """
    last_line = max(p.line for paras in sides.values() for p in paras)
    return {side: frozenset(
        i for i, p in enumerate(paras)
        if pagelines.is_cut(p.raw.strip(),
                            heading=i in headings[side] and i < len(paras) - 1)
        or (side == "en" and lexical and p.line == last_line and _cut_word(p.raw.strip())))
        for side, paras in sides.items()}


def _cut_word(text: str) -> bool:
    from evalmt.data.lexical import is_english_word

    words = re.findall(r"[A-Za-z]+", text)
    return bool(words) and not pagelines.ends_sentence(text) and not is_english_word(words[-1])


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
    sides, labels, unassigned = _split_page(path, config, zh_lang=zh_lang, en_lang=en_lang,
                                            src_is_zh=src_is_zh)
    zh, en = sides["zh"], sides["en"]
    zh_lengths, en_lengths = _lengths(zh, en)
    headings = {"zh": _headings(zh, zh_lengths), "en": _headings(en, en_lengths)}
    cut = _cut_lines(sides, headings, lexical=config.lexical)
    lexical = config.lexical and len(zh) + len(en) <= LEXICAL_MAX_PARAGRAPHS
    result = aligner.align(
        zh_lengths, en_lengths, evidence=_evidence(zh, en) if lexical else None,
        zh_headings=headings["zh"], en_headings=headings["en"],
        zh_cut=cut["zh"], en_cut=cut["en"],
    )
    doc_id = doc_id or path.stem
    src_side, ref_side = ("zh", "en") if src_is_zh else ("en", "zh")
    warnings = [f"line {u['line']}: {_UNASSIGNED[u['kind']]}, not paired: "
                f"{_preview(u['text'])!r}" for u in unassigned]
    warnings += pagelines.run_together([(p.line, p.text) for p in en])
    if config.lexical and not lexical:
        warnings.append(f"{len(zh) + len(en)} paragraphs: more than {LEXICAL_MAX_PARAGRAPHS}, "
                        f"aligned on lengths only (no lexical evidence)")
    warnings += [f"line {p.line}: looks like mojibake ({', '.join(map(repr, bad[:3]))}); "
                 f"kept as written" for p in zh if (bad := pagelines.mojibake(p.raw))]
    warnings += [f"line {sides[s][i].line}: looks cut off (no sentence end); not paired"
                 for s in ("zh", "en") for i in cut[s]]
    decisions, segments, flagged = [], [], 0
    for bead in result.beads:
        parts = {"zh": [zh[i] for i in bead.zh], "en": [en[i] for i in bead.en]}
        src, ref = parts[src_side], parts[ref_side]
        kind = f"{len(src)}-{len(ref)}"
        trusted = bead.paired and bead.confidence >= config.min_confidence
        decision = {
            "kind": kind, "move": bead.kind,
            "src_lines": [p.line for p in src], "ref_lines": [p.line for p in ref],
            "score": round(bead.score, 3),
            "lexical": None if bead.lexical is None else round(bead.lexical, 3),
            "delta": round(bead.delta, 3),
            "margin": round(bead.margin, 3) if bead.margin != math.inf else None,
            "confidence": round(bead.confidence, 3) if bead.paired else None,
            "flagged": bead.paired and not trusted,
            "src_preview": _preview(" ".join(p.text for p in src)),
            "ref_preview": _preview(" ".join(p.text for p in ref)),
        }
        decisions.append(decision)
        lines = decision["src_lines"] or decision["ref_lines"]
        if not bead.paired:
            if not any(sides[s][i].line == lines[0] for s in ("zh", "en") for i in cut[s]):
                warnings.append(f"line {lines[0]}: {'source' if src else 'reference'} "
                                f"paragraph without counterpart ({kind}), not scored")
            continue
        if not trusted:
            flagged += 1
            warnings.append(
                f"line {lines[0]}: pair src lines {_lines(decision['src_lines'])} ↔ ref lines "
                f"{_lines(decision['ref_lines'])} has confidence {bead.confidence:.2f} "
                f"< {config.min_confidence:g}; flagged, not scored")
            continue
        segments.append(Segment(
            doc_id, str(len(segments) + 1),
            "\n".join(p.text for p in src), ("\n".join(p.text for p in ref),),
            {"alignment": kind, "src_lines": tuple(decision["src_lines"]),
             "ref_lines": tuple(decision["ref_lines"]), "confidence": decision["confidence"],
             "cleaning": _sum_counts(src + ref)},
        ))
    warnings.sort(key=lambda w: int(m.group(1)) if (m := _LINE_NO.match(w)) else 1 << 30)
    if not segments:
        warnings.append("no trustworthy pair on this page (are both sides the same article?); "
                        "reported, not scored")
    return Document(doc_id, tuple(segments), {
        "source_file": str(path),
        "layout": _layout(labels),
        "paragraphs": {"zh": len(zh), "en": len(en)},
        "alignment": tuple(decisions),
        "alignment_ratio": round(result.ratio, 4),
        "alignment_score": round(result.score, 3),
        "alignment_margin": round(result.margin, 3) if result.margin != math.inf else None,
        "flagged_pairs": flagged,
        "no_trustworthy_pair": not segments,
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
