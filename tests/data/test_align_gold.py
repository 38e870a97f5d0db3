"""The aligner on the hand-made gold set (tests/data/bilingual/gold) and on transforms of it.

Expected pairs come from the ``.gold`` files, written by hand from the pages'
text, never from the reader's output. The transforms (swap the blocks,
interleave, drop the last English paragraph, cut the last line mid-word, add
an editor line, move the English title to the end) carry the gold pairs along
by line; whatever they do, no scored pair may be a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from evalmt.data.alignment_gold import (
    gold_pages,
    predicted_pairs,
    read_gold,
    score_pages,
)
from evalmt.data.bilingual import BilingualTxtConfig, read_document
from evalmt.data.langid import HAN, detect_script

GOLD = Path(__file__).parent / "bilingual" / "gold"
PAGES = list(gold_pages(GOLD))
CONFIG = BilingualTxtConfig(name="gold", path=str(GOLD))
_SENTENCE_END = re.compile(r"[。！？!?.…”\"')）]\s*$")

Line = tuple[int | None, str]  # (line number on the gold page, text)


def test_gold_set_covers_the_issue():
    assert len(PAGES) >= 20
    assert any(not read_gold(g) for _, g in PAGES)  # a page with no trustworthy pair
    assert any(len(en) == 2 for _, g in PAGES for _, en in read_gold(g))  # a 1-2 split


@pytest.fixture(scope="module")
def gold_docs():
    return {page.stem: read_document(page, CONFIG) for page, _ in PAGES}


@pytest.mark.parametrize(("page", "gold"), PAGES, ids=[p.stem for p, _ in PAGES])
def test_gold_pairs_of_every_page(gold_docs, page, gold):
    doc, expected = gold_docs[page.stem], read_gold(gold)
    got = predicted_pairs(doc)
    assert got <= expected, f"wrong pairs {sorted(got - expected)}"
    flagged = {n for d in doc.meta["alignment"] if d["flagged"]
               for n in d["src_lines"] + d["ref_lines"]}
    for zh, en in expected - got:  # a gold pair not scored must be visibly flagged
        assert set(zh) & flagged, f"gold pair {zh}↔{en} neither scored nor flagged"
    if not expected:
        assert doc.meta["no_trustworthy_pair"] is True and doc.segments == ()


def test_gold_set_precision_and_recall(gold_docs):
    score = score_pages(gold_docs, {p.stem: read_gold(g) for p, g in PAGES})
    assert score.precision == 1.0
    assert score.recall >= 0.95
    assert score.pages_silently_wrong == 0


# -- transforms ------------------------------------------------------------------------------

def _is_zh(text: str) -> bool:
    return detect_script(text) == HAN


def _runs(lines: list[Line]) -> list[list[Line]]:
    runs: list[list[Line]] = []
    for line in lines:
        if runs and _is_zh(runs[-1][-1][1]) == _is_zh(line[1]):
            runs[-1].append(line)
        else:
            runs.append([line])
    return runs


def swap_blocks(lines):
    runs = _runs(lines)
    return [x for run in reversed(runs) for x in run] if len(runs) == 2 else None


def interleave(lines):
    zh = [x for x in lines if _is_zh(x[1])]
    en = [x for x in lines if not _is_zh(x[1])]
    out = [x for pair in zip(zh, en, strict=False) for x in pair]
    return out + zh[len(en):] + en[len(zh):]


def drop_last_english(lines):
    last = max(i for i, x in enumerate(lines) if not _is_zh(x[1]))
    return lines[:last] + lines[last + 1:]


def cut_last_line_mid_word(lines):
    number, text = lines[-1]
    at = int(len(text) * 0.6)
    if not _is_zh(text):
        while at < len(text) - 1 and not (text[at - 1].isalpha() and text[at].isalpha()):
            at += 1
    return [*lines[:-1], (None, text[:at])]


def add_editor_line(lines):
    runs = _runs(lines)
    at = len(runs[0]) if len(runs) == 2 else len(lines) // 2
    return [*lines[:at], (None, "（责任编辑：王小明）"), *lines[at:]]


def english_title_to_end(lines):
    first = next(i for i, x in enumerate(lines) if not _is_zh(x[1]))
    text = lines[first][1]
    if _SENTENCE_END.search(text) or len(text) > 80 or first == len(lines) - 1:
        return None
    return [*lines[:first], *lines[first + 1:], lines[first]]


TRANSFORMS: dict[str, Callable[[list[Line]], list[Line] | None]] = {
    "swap-blocks": swap_blocks, "interleave": interleave,
    "drop-last-english": drop_last_english, "cut-last-line": cut_last_line_mid_word,
    "editor-line": add_editor_line, "english-title-to-end": english_title_to_end,
}


def _lines_of(page: Path) -> list[Line]:
    text = page.read_text(encoding="utf-8").split("\n")
    return [(i, t) for i, t in enumerate(text, start=1) if t.strip()]


# Only the (transform, page) cases where the transform applies to the page's layout
# (swap-blocks needs two blocks; english-title-to-end an English title first).
CASES = [(name, page, gold) for name, transform in TRANSFORMS.items() for page, gold in PAGES
         if transform(_lines_of(page)) is not None]


def _remap(gold, lines):
    """Gold pairs in the new page's line numbers; pairs with a lost or cut line drop out."""
    where = {number: i for i, (number, _) in enumerate(lines, start=1) if number is not None}
    out = set()
    for zh, en in gold:
        if all(n in where for n in zh + en):
            out.add((tuple(where[n] for n in zh), tuple(where[n] for n in en)))
    return out


@pytest.mark.parametrize(("transform", "page", "gold"), CASES,
                         ids=[f"{t}-{p.stem}" for t, p, _ in CASES])
def test_transformed_pages_never_get_a_wrong_pair(tmp_path, transform, page, gold):
    new = TRANSFORMS[transform](_lines_of(page))
    assert new is not None
    path = tmp_path / page.name
    path.write_text("\n".join(t for _, t in new) + "\n", encoding="utf-8")
    doc = read_document(path, CONFIG)
    expected = _remap(read_gold(gold), new)
    got = predicted_pairs(doc)
    assert got <= expected, f"wrong pairs {sorted(got - expected)}"
