"""Cleaning steps: strip-pinyin keeps genuine parentheticals, t2s, normalize-space, policy."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalmt.data.cleaning import (
    PINYIN_SYLLABLES,
    clean_text,
    is_pinyin_syllable,
    validate_steps,
)
from evalmt.errors import ConfigError

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("text", "expected", "removed"),
    [
        ("應(yīng)邀", "應邀", 1),
        ("長(zhǎng)期", "長期", 1),
        ("綠(lǜ)色", "綠色", 1),  # ü with tone mark
        ("女(nǚ)士", "女士", 1),
        ("略(lüè)", "略", 1),  # ü plus a marked e (the syllable lüe)
        ("我們(men)在(zài)", "我們在", 2),  # neutral tone: toneless, removed beside a toned one
        ("的(de)", "的(de)", 0),  # toneless with no toned artifact in the text: kept
        ("他(he)說", "他(he)說", 0),  # an English word that is also a toneless syllable
        ("他(he)說(shuō)", "他說", 2),  # ... but removed in an artifact text
        ("會(hui)議", "會(hui)議", 0),
        ("國（guó）家", "國家", 1),  # full-width parentheses
        ("國( guó )家", "國家", 1),  # spaces inside
        ("會(huì)議(yì)", "會議", 2),
        ("中國(含港澳台)", "中國(含港澳台)", 0),  # Chinese parenthetical
        ("報告(2021)", "報告(2021)", 0),  # a year
        ("世衛(WHO)", "世衛(WHO)", 0),  # acronym
        ("路透社(Reuters)", "路透社(Reuters)", 0),  # capitalised English word
        ("陳(Chen)", "陳(Chen)", 0),  # a legal syllable, but a capitalised name
        ("條款(a)", "條款(a)", 0),  # a one-letter list marker
        ("看(hello)", "看(hello)", 0),  # lowercase English word, not a syllable
        ("的(zhia)", "的(zhia)", 0),  # pinyin-looking, not a syllable
        ("的(fong)", "的(fong)", 0),  # pinyin-looking, not a syllable
        ("the cat (yīng)", "the cat (yīng)", 0),  # no Han character before it
        ("應 (yīng)", "應 (yīng)", 0),  # not directly after the Han character
    ],
)
def test_strip_pinyin_table(text, expected, removed):
    out, counts = clean_text(text, ["strip-pinyin"], lang="zh", is_reference=False)
    assert (out, counts) == (expected, {"strip-pinyin": removed})


@pytest.mark.parametrize(
    ("word", "legal"),
    [("yīng", True), ("zhuāng", True), ("lüe", True), ("lve", True), ("er", True),
     ("shuang", True), ("xiong", True), ("zhia", False), ("bing", True), ("fong", False),
     ("tion", False), ("Ying", False), ("qo", False), ("gv", False), ("", False)],
)
def test_is_pinyin_syllable(word, legal):
    assert is_pinyin_syllable(word) is legal


def test_syllable_inventory_size():
    # Standard tables list about 400-420 toneless syllables (410 plus variant
    # spellings such as lue/nue accepted here); the inventory must be in range.
    assert 400 <= len(PINYIN_SYLLABLES) <= 420


@pytest.mark.parametrize(
    ("steps", "lang", "is_reference", "text", "expected"),
    [
        # strip-pinyin and t2s touch only Chinese non-reference text.
        (["strip-pinyin"], "zh", True, "應(yīng)邀", "應(yīng)邀"),
        (["strip-pinyin"], "en", False, "應(yīng)邀", "應(yīng)邀"),
        (["strip-pinyin"], "zh-Hant", False, "應(yīng)邀", "應邀"),
        (["t2s"], "zh", False, "國際形勢", "国际形势"),
        (["t2s"], "zh", True, "國際形勢", "國際形勢"),
        (["strip-pinyin", "t2s"], "zh", False, "應(yīng)邀國(guó)", "应邀国"),
        # normalize-space applies to every text, references included.
        (["normalize-space"], "en", True, "  The  Ministry\u00a0of\tChina ",
         "The Ministry of China"),
        (["normalize-space"], "zh", False, "外交部\u3000政策", "外交部 政策"),
        # Nothing but whitespace changes in a reference.
        (["strip-pinyin", "t2s", "normalize-space"], "zh", True, " 國(guó) ", "國(guó)"),
    ],
)
def test_policy_table(steps, lang, is_reference, text, expected):
    out, counts = clean_text(text, steps, lang=lang, is_reference=is_reference)
    assert out == expected
    assert set(counts) == set(steps)


def test_counts_t2s_changes_by_character():
    # 國際形勢 → 国际形势: 國, 際 and 勢 change, 形 is the same in both scripts.
    assert clean_text("國際形勢", ["t2s"], lang="zh", is_reference=False)[1] == {"t2s": 3}


def test_unknown_step_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'strip-pinyin'"):
        validate_steps(["strip-pinyn"])
    assert validate_steps(["t2s", "normalize-space"]) == ("t2s", "normalize-space")


han_chars = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
pinyin_like = st.sampled_from(["(yīng)", "(de)", "(lǜ)", "(hello)", "(WHO)", "(2021)",
                               "（guó）", "(a)", "(", ")", " "])
mixed = st.lists(st.one_of(han_chars, pinyin_like, st.sampled_from(list("abc,。 "))),
                 max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(mixed)
def test_strip_pinyin_keeps_han_and_is_idempotent(text):
    once, _ = clean_text(text, ["strip-pinyin"], lang="zh", is_reference=False)
    assert HAN.findall(once) == HAN.findall(text)
    twice, counts = clean_text(once, ["strip-pinyin"], lang="zh", is_reference=False)
    assert twice == once and counts == {"strip-pinyin": 0}


@pytest.mark.parametrize(("lang", "removed"), [("zh", 1), ("zh-Hant", 1), ("cmn", 1),
                                               ("zho", 1), ("en", 0)])
def test_chinese_only_steps_follow_every_chinese_code(lang, removed):
    # "cmn" is Chinese to the reader's language id, so cleaning must agree
    out, counts = clean_text("應(yīng)該", ["strip-pinyin"], lang=lang, is_reference=False)
    assert counts == {"strip-pinyin": removed}
    assert out == ("應該" if removed else "應(yīng)該")
