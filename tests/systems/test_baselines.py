"""Tests for the ``copy`` baseline system."""

from __future__ import annotations

import pytest
import sacrebleu

from evalmt.systems.base import SYSTEMS
from evalmt.translate import translate_segments


def build(name="copy-source", src="zh", tgt="en"):
    cls = SYSTEMS.get("copy")
    return cls(cls.config_model(name=name, type="copy"), src_lang=src, tgt_lang=tgt)


@pytest.mark.parametrize("batch", [[], ["你好。"], ["a", "", "  spaced  ", "ABC 2019年"]])
def test_copy_returns_sources_unchanged(batch):
    assert build().translate(list(batch)) == list(batch)


def test_copy_through_translate_segments_keeps_everything():
    sources = ["5月14日,外交部", "", "Latin words 3.5"]
    outcome = translate_segments(build(), sources, cache=None, progress=False)
    assert outcome.hypotheses == tuple(sources)


def test_copy_bleu_is_sacrebleus_source_vs_reference():
    sources = ["2019年 GDP 增長 6.1%", "他說 OK"]
    refs = ["GDP grew 6.1% in 2019", "He said OK"]
    hyps = translate_segments(build(), sources, cache=None, progress=False).hypotheses
    assert sacrebleu.corpus_bleu(list(hyps), [refs]).score == pytest.approx(
        sacrebleu.corpus_bleu(sources, [refs]).score)


def test_fingerprint_depends_on_direction_not_name():
    assert build(name="a").fingerprint() == build(name="b").fingerprint()
    assert build(tgt="en").fingerprint() != build(tgt="de").fingerprint()
