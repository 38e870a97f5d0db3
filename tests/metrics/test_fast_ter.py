"""evalmt's TER edit distance gives sacrebleu's edit counts exactly (random, long, real text)."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import TER
from sacrebleu.metrics.lib_ter import BeamEditDistance as SacrebleuBeam
from sacrebleu.metrics.lib_ter import translation_edit_rate as sacrebleu_ter

from evalmt.metrics.fast_ter import BeamEditDistance, FastTER, translation_edit_rate

WMT23 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wmt23-zh-en"

words = st.lists(st.sampled_from("a b c d e f g h the of , .".split()), max_size=40)


@settings(max_examples=150, deadline=None)
@given(hyp=words, ref=words)
def test_edit_rate_equals_sacrebleu(hyp, ref):
    assert translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref)


@settings(max_examples=60, deadline=None)
@given(ref=words, hyps=st.lists(words, min_size=1, max_size=6))
def test_beam_distance_and_trace_equal_sacrebleu_with_cache_reuse(ref, hyps):
    """Several hypotheses through one object: prefix-cache hits must not change anything."""
    ours, theirs = BeamEditDistance(ref), SacrebleuBeam(ref)
    for hyp in hyps + hyps[::-1]:
        assert ours(hyp) == theirs(hyp)


def test_lopsided_lengths_use_the_wide_beam():
    """A one-word hypothesis against 120 words (copy-source of Chinese): beam widens."""
    ref = [f"w{i % 17}" for i in range(120)]
    for hyp in (["w3"], ["x"] * 2, ref[::7]):
        assert translation_edit_rate(hyp, ref) == sacrebleu_ter(hyp, ref)


@pytest.mark.slow
def test_long_real_paragraphs():
    """A paragraph-long WMT23 segment (3 joined lines) of two systems."""
    if not WMT23.is_dir():
        pytest.skip(f"real WMT data not found at {WMT23}")
    ref = (WMT23 / "generaltest2023.zh-en.ref.refA.en").read_text("utf-8").splitlines()
    metric = TER()
    for system in ("GPT4-5shot", "NLLB_Greedy"):
        hyp = (WMT23 / f"generaltest2023.zh-en.hyp.{system}.en").read_text(
            "utf-8").splitlines()
        for start in (1200,):
            h = metric._preprocess_segment(" ".join(hyp[start:start + 3])).split()
            r = metric._preprocess_segment(" ".join(ref[start:start + 3])).split()
            assert translation_edit_rate(h, r) == sacrebleu_ter(h, r)


@pytest.mark.parametrize("options", [{}, {"normalized": True}, {"case_sensitive": True},
                                     {"no_punct": True}])
def test_corpus_score_and_signature_equal_sacrebleu(options):
    hyps = ["the cat sat on the mat .", "a dog , barked", "", "x y z the the"]
    refs = [["on the mat the cat sat .", "dog a barked", "nothing", "the x y"],
            ["the cat is on the mat", "a dog barked .", "", "z y x"]]
    ours, theirs = FastTER(**options), TER(**options)
    assert ours.corpus_score(hyps, refs).score == theirs.corpus_score(hyps, refs).score
    assert ours.get_signature().format() == theirs.get_signature().format()
