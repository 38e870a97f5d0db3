"""The vectorised chrF statistics equal sacrebleu's CHRF statistics, row for row."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import CHRF
from testkit.synthetic import make_corpus

from evalmt.metrics.sacrebleu_adapter import FastChrfStatistics


def _check(options, hyps, refs):
    metric = CHRF(**options, references=refs)
    fast = FastChrfStatistics.build(metric, refs)
    assert fast is not None
    assert fast.statistics(hyps) == metric._extract_corpus_statistics(hyps, None)


CASES = [
    ("plain", {}, ["the cat sat", "a dog"], [["the cat sat on", "dogs"]]),
    ("empty hyp and ref", {}, ["", "abc", ""], [["x", "", ""]]),
    ("shorter than order", {}, ["ab", "a"], [["abc", "b"]]),
    ("repeated n-grams clip", {}, ["aaaaaa aaaa", "abab abab"], [["aaa", "ababab"]]),
    ("whitespace kept", {"whitespace": True}, ["a b  c", " x"], [["a b c", "x "]]),
    ("lowercase", {"lowercase": True}, ["The CAT", "Ünïcödé"], [["the cat", "üNÏCÖDÉ"]]),
    ("unicode and emoji", {}, ["héllo wörld 🙂", "naïve café"], [["hello world 🙂", "cafe"]]),
    ("chinese", {}, ["我们去公园散步", "他喜欢读书"], [["我们明天去公园", "她喜欢看书"]]),
    ("two refs with None", {}, ["the cat sat", "a dog ran", "x"],
     [["the cat", "a dog", "y"], ["a cat sat", None, "x"]]),
    ("char order 3, beta 1", {"char_order": 3, "beta": 1}, ["abcd", "bcd"], [["abc", "bcde"]]),
    ("refs tie on f-score", {}, ["ab", "cd"], [["ab", "cd"], ["ab", "cd"]]),
]


@pytest.mark.parametrize(("label", "options", "hyps", "refs"), CASES)
def test_statistics_equal_sacrebleu(label, options, hyps, refs):
    _check(options, hyps, refs)


@pytest.mark.parametrize("n_refs", [1, 2, 3])
def test_synthetic_corpus_equal_sacrebleu(n_refs):
    hyps, refs, _, _ = make_corpus(11, n=200, n_refs=n_refs)
    for lines in hyps.values():
        _check({}, lines, refs)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abc d.é", max_size=12),
                          st.text(alphabet="abc d.é", max_size=12),
                          st.one_of(st.none(), st.text(alphabet="ab cé", max_size=8))),
                min_size=1, max_size=6))
def test_random_inputs_equal_sacrebleu(rows):
    hyps = [h for h, _, _ in rows]
    refs = [[r for _, r, _ in rows], [r2 for _, _, r2 in rows]]
    _check({}, hyps, refs)


def test_word_ngrams_and_huge_alphabets_fall_back():
    refs = [["a b c"]]
    assert FastChrfStatistics.build(CHRF(word_order=2, references=refs), refs) is None
    big = [["".join(chr(0x4E00 + i) for i in range(k, k + 50)) for k in range(0, 4000, 50)]]
    assert FastChrfStatistics.build(CHRF(references=big), big) is None
