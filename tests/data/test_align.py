"""Paragraph aligner: bead costs, layouts of unequal counts, implausibility on both sides."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalmt.data.align import (
    PRIOR_RATIO,
    Bead,
    Limits,
    align,
    bead_cost,
    document_ratio,
    dynamic,
    en_length,
    is_heading,
    judge,
    zh_length,
)

# The sample's three pairs as lengths: Han characters (143, 139, 100 by a Unicode-range
# count, plus the tokens "5" and "14" in the first) and English words (`wc -w` gives
# 136, 114, 115; en_length counts "high-quality" and "High-tech" as two words each).
SAMPLE_ZH = [145, 139, 100]
SAMPLE_EN = [136, 115, 116]


def kinds(alignment):
    return [(b.kind, b.zh, b.en) for b in alignment.beads]


@pytest.mark.parametrize(
    ("kind", "zh", "en", "ratio", "cost", "delta"),
    [
        # delta = (en - ratio*zh) / sqrt(2.2*zh); cost = -ln P(kind) - ln P(|Z| >= |delta|).
        ("1-1", 100, 96, 0.96, -math.log(0.89), 0.0),
        ("1-1", 55, 77, 1.0, -math.log(0.89) - math.log(0.0455003), 2.0),  # sd = 11
        ("1-1", 55, 33, 1.0, -math.log(0.89) - math.log(0.0455003), -2.0),
        ("1-2", 55, 55, 1.0, -math.log(0.0275), 0.0),
        ("1-0", 55, 0, 1.0, -math.log(0.0275), 0.0),
        ("0-1", 0, 30, 1.0, -math.log(0.0275), 0.0),
    ],
)
def test_bead_cost_table(kind, zh, en, ratio, cost, delta):
    got_cost, got_delta = bead_cost(kind, zh, en, ratio=ratio)
    assert got_cost == pytest.approx(cost, abs=1e-4)
    assert got_delta == pytest.approx(delta, abs=1e-9)


@pytest.mark.parametrize(
    ("zh", "en", "expected"),
    [
        ([100], [96], 0.96),
        ([100, 100], [50, 70], 0.6),
        ([100], [30], PRIOR_RATIO),  # 0.3 is beyond a factor 2 of the prior
        ([100], [250], PRIOR_RATIO),
        ([0], [5], PRIOR_RATIO),
    ],
)
def test_document_ratio(zh, en, expected):
    assert document_ratio(zh, en) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5月14日,GDP增長6%", 8),  # 月 日 增 長 + tokens 5, 14, GDP, 6
        ("外交部", 3),
        ("", 0),
    ],
)
def test_zh_length(text, expected):
    assert zh_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("China's diplomacy, in 2021.", 4), ("high-quality development", 3), ("", 0)],
)
def test_en_length(text, expected):
    assert en_length(text) == expected


@pytest.mark.parametrize(
    ("zh", "en", "zh_heads", "en_heads", "expected"),
    [
        # equal counts: 1-1 in order (the sample)
        (SAMPLE_ZH, SAMPLE_EN, set(), set(),
         [("1-1", (0,), (0,)), ("1-1", (1,), (1,)), ("1-1", (2,), (2,))]),
        # a 10-character Chinese title with no English title → 1-0
        ([10, *SAMPLE_ZH], SAMPLE_EN, {0}, set(),
         [("1-0", (0,), ()), ("1-1", (1,), (0,)), ("1-1", (2,), (1,)), ("1-1", (3,), (2,))]),
        # a 9-word English title with no Chinese title → 0-1
        (SAMPLE_ZH, [9, *SAMPLE_EN], set(), {0},
         [("0-1", (), (0,)), ("1-1", (0,), (1,)), ("1-1", (1,), (2,)), ("1-1", (2,), (3,))]),
        # the second Chinese paragraph translated as two English ones → 1-2
        (SAMPLE_ZH, [136, 60, 55, 116], set(), set(),
         [("1-1", (0,), (0,)), ("1-2", (1,), (1, 2)), ("1-1", (2,), (3,))]),
        # two Chinese paragraphs translated as one English one → 2-1
        ([145, 70, 69, 100], SAMPLE_EN, set(), set(),
         [("1-1", (0,), (0,)), ("2-1", (1, 2), (1,)), ("1-1", (3,), (2,))]),
    ],
)
def test_alignment_layouts(zh, en, zh_heads, en_heads, expected):
    result = align(zh, en, zh_headings=zh_heads, en_headings=en_heads)
    assert kinds(result) == expected
    assert result.plausible


def test_title_without_heading_hint_is_merged():
    # Why headings exist: a short title is within length noise of a long paragraph.
    result = dynamic(SAMPLE_ZH, [9, *SAMPLE_EN])
    assert kinds(result)[0] == ("1-2", (0,), (0, 1))


def bead(kind, zh, en, delta):
    return Bead(kind, zh, en, 0.0, delta)


@pytest.mark.parametrize(
    ("beads", "n", "implausible"),
    [
        ([bead("1-1", (0,), (0,), 3.9)], 2, False),  # just below MAX_DELTA = 4
        ([bead("1-1", (0,), (0,), -4.1)], 2, True),  # just above
        ([bead("1-0", (0,), (), 0.0), bead("1-1", (1,), (0,), 0.0)], 3, False),  # 1/3 unpaired
        ([bead("1-0", (0,), (), 0.0), bead("0-1", (), (0,), 0.0),
          bead("1-1", (1,), (1,), 0.0), bead("1-1", (2,), (2,), 0.0)], 6, False),  # 2/6
        ([bead("1-0", (0,), (), 0.0), bead("0-1", (), (0,), 0.0),
          bead("1-2", (1,), (1, 2), 0.0)], 5, True),  # 2/5 > 1/3
    ],
)
def test_judge_threshold_both_sides(beads, n, implausible):
    assert bool(judge(beads, n)) is implausible


def test_mispaired_equal_counts_are_implausible():
    result = align([200, 30], [30, 200])
    assert not result.plausible
    assert "sd" in result.reason


def test_limits_are_configurable():
    assert not align([200, 30], [30, 200]).plausible
    assert align([200, 30], [30, 200], limits=Limits(max_delta=100.0)).plausible


@pytest.mark.parametrize(
    ("text", "length", "median", "expected"),
    [
        ("外交部政策規劃司司長在重慶作專題報告", 18, 140, True),
        ("外交部政策規劃司司長在重慶作專題報告。", 19, 140, False),  # ends a sentence
        ("Liu Jinsong Gives Lecture in Chongqing", 6, 120, True),
        ("Liu Jinsong Gives Lecture in Chongqing", 6, 10, False),  # not short here
    ],
)
def test_is_heading(text, length, median, expected):
    assert is_heading(text, length, median) is expected


lengths = st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=10)


@settings(max_examples=150, deadline=None)
@given(lengths, lengths)
def test_every_paragraph_once_in_order(zh, en):
    result = align(zh, en)
    zh_seen = [i for b in result.beads for i in b.zh]
    en_seen = [j for b in result.beads for j in b.en]
    assert zh_seen == list(range(len(zh)))
    assert en_seen == list(range(len(en)))
    assert all(b.kind == f"{len(b.zh)}-{len(b.en)}" for b in result.beads)
