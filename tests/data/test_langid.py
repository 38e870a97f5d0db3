"""Script-based language id: Han vs Latin, robust to digits, acronyms and pinyin artifacts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalmt.core import is_chinese, is_english, primary_subtag
from evalmt.data.langid import LATIN, detect_script, script_counts

ZH = "zh"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("5月14日,GDP增長(zhǎng)6%", ZH),  # digits, acronym and an artifact inside Chinese
        ("據Reuters報道,WHO發布了新的指南。", ZH),
        ("應(yīng)市委外辦邀請(qǐng)", ZH),  # many artifact letters, still Chinese
        ("外交部", ZH),
        ("On May 14, at the invitation of the Foreign Affairs Office.", LATIN),
        ("Chongqing (重慶) hosted the lecture on 14 May 2021.", LATIN),
        ("GDP grew 6% in 2021", LATIN),
        ("*", None),
        ("—", None),
        ("2021-05-14 10:30", None),
        ("   ", None),
        ("A.", None),  # one letter: layout debris
    ],
)
def test_detect_script_table(line, expected):
    assert detect_script(line) == expected


def test_artifact_letters_are_not_counted():
    # 長(zhǎng)期: two Han characters; the five artifact letters are ignored (hand count).
    assert (script_counts("長(zhǎng)期").han, script_counts("長(zhǎng)期").latin) == (2, 0)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh", True), ("zh-Hant", True), ("zh_CN", True), ("cmn", True), ("en", False),
     ("de", False), ("eng", False)],
)
def test_is_chinese(code, expected):
    assert is_chinese(code) is expected


@pytest.mark.parametrize(
    ("code", "primary", "english"),
    [("zh-Hant", "zh", False), ("zh_CN", "zh", False), ("EN-gb", "en", True),
     ("eng", "eng", True), ("en_XX", "en", True), ("", "", False), ("cmn", "cmn", False)],
)
def test_primary_subtag_and_is_english(code, primary, english):
    assert primary_subtag(code) == primary
    assert is_english(code) is english


han_text = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1,
                   max_size=30)
noise = st.text(st.sampled_from(list("0123456789,.;:%-()/ ")), max_size=30)
english = st.lists(st.sampled_from(["the", "ministry", "of", "foreign", "affairs", "said"]),
                   min_size=1, max_size=20).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(han_text, noise, st.sampled_from(["", "GDP", "WHO", "(yīng)", "(guó)"]))
def test_chinese_with_noise_is_chinese(han, digits, extra):
    # At least as many Han characters as acronym letters: always Chinese.
    line = han[:1] + extra + digits + han
    assert detect_script(line) == ZH


@settings(max_examples=200, deadline=None)
@given(english, noise)
def test_english_with_noise_is_latin(words, digits):
    assert detect_script(words + digits) == LATIN


@settings(max_examples=200, deadline=None)
@given(noise)
def test_no_letters_is_neither(digits):
    assert detect_script(digits) is None
