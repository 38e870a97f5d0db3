"""Tests for evalmt.translate and evalmt.segmentation: chunking, batching, OOM, cache, resume."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from typing import Literal

import pytest

from evalmt.cache import TranslationCache
from evalmt.errors import TranslationError
from evalmt.segmentation import join_pieces, split_sentences, split_to_fit
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator
from evalmt.translate import (
    count_cached,
    is_out_of_memory,
    pack_batches,
    split_segments,
    translate_segments,
)

# -- test doubles, registered like real systems ---------------------------------------------


class RecorderConfig(SystemConfig):
    type: Literal["test-recorder"] = "test-recorder"
    max_input_tokens: int | None = None
    fail_on: str | None = None  # raise ValueError when a batch contains this source
    oom_above: int | None = None  # raise OutOfMemoryError for batches larger than this
    stop_after: int | None = None  # raise RuntimeError on the call after this many batches


class OutOfMemoryError(RuntimeError):
    """Same class name as torch.cuda.OutOfMemoryError, without importing torch."""


class RecordingSystem(Translator):
    """Upper-cases and brackets every input; records the batches it was given."""

    config_model = RecorderConfig

    def __init__(self, config: RecorderConfig, *, src_lang: str = "en", tgt_lang: str = "en"):
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang)
        self.max_input_tokens = config.max_input_tokens
        self.batches: list[list[str]] = []
        self.calls = 0

    def num_tokens(self, text: str) -> int:
        return len(text)  # characters: easy to reason about in the tests

    def translate(self, batch: list[str]) -> list[str]:
        self.calls += 1
        cfg = self.config
        if cfg.stop_after is not None and len(self.batches) >= cfg.stop_after:
            raise RuntimeError("stopped on purpose")
        if cfg.oom_above is not None and len(batch) > cfg.oom_above:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if cfg.fail_on is not None and cfg.fail_on in batch:
            raise ValueError("boom")
        self.batches.append(list(batch))
        return [f"<{s.upper()}>" for s in batch]


if "test-recorder" not in SYSTEMS:
    SYSTEMS.add("test-recorder", RecordingSystem)


def recorder(**options) -> RecordingSystem:
    cls = SYSTEMS.get("test-recorder")
    tgt = options.pop("tgt_lang", "en")
    return cls(cls.config_model(name="rec", **options), src_lang="en", tgt_lang=tgt)


def expected(source: str) -> str:
    return f"<{source.upper()}>"


WORDS = ["a", "bb", "ccc", "dddd", "eeeee", "the cat sat", "on the mat", "x" * 30, "y" * 7,
         "hello world", "zz", "a", "bb"]  # duplicates on purpose


# -- batching -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_outputs_follow_input_order_whatever_the_order(seed):
    sources = list(WORDS)
    random.Random(seed).shuffle(sources)
    system = recorder()
    outcome = translate_segments(system, sources, cache=None, batch_tokens=40, max_batch_size=4,
                                 progress=False)
    assert outcome.hypotheses == tuple(expected(s) for s in sources)
    # Each unique source went to the model exactly once.
    sent = [s for batch in system.batches for s in batch]
    assert sorted(sent) == sorted(set(WORDS))
    assert outcome.pieces == len(set(WORDS)) == outcome.translated_pieces


@pytest.mark.parametrize(("batch_tokens", "max_batch_size"), [(40, 4), (10, 64), (100, 2), (1, 8)])
def test_batches_respect_token_budget_and_size(batch_tokens, max_batch_size):
    system = recorder()
    translate_segments(system, WORDS, cache=None, batch_tokens=batch_tokens,
                       max_batch_size=max_batch_size, progress=False)
    for batch in system.batches:
        assert len(batch) <= max_batch_size
        padded = len(batch) * max(len(s) for s in batch)
        assert len(batch) == 1 or padded <= batch_tokens
    # Longest first: batch maxima never increase.
    maxima = [max(len(s) for s in b) for b in system.batches]
    assert maxima == sorted(maxima, reverse=True)


@pytest.mark.parametrize(("lengths", "budget", "size", "expected_batches"), [
    ([1, 2, 3, 4], 8, 10, [[3, 2], [1, 0]]),  # 2×4=8 fits, 3×4=12 does not
    ([5, 5, 5], 100, 2, [[0, 1], [2]]),
    ([9, 1], 4, 10, [[0], [1]]),  # over-long piece alone
])
def test_pack_batches_hand_computed(lengths, budget, size, expected_batches):
    pieces = [chr(ord("a") + i) * n for i, n in enumerate(lengths)]
    assert pack_batches(pieces, lengths, batch_tokens=budget,
                        max_batch_size=size) == expected_batches


def test_empty_sources_give_empty_output_without_a_call():
    system = recorder()
    outcome = translate_segments(system, ["", "  ", "a"], cache=None, progress=False)
    assert outcome.hypotheses == ("", "", "<A>")
    assert system.batches == [["a"]]


# -- OOM backoff and errors -----------------------------------------------------------------


@pytest.mark.parametrize("oom_above", [1, 2, 3])
def test_out_of_memory_halves_the_batch(oom_above):
    system = recorder(oom_above=oom_above)
    sources = [f"s{i}" for i in range(16)]
    outcome = translate_segments(system, sources, cache=None, max_batch_size=16,
                                 progress=False)
    assert outcome.hypotheses == tuple(expected(s) for s in sources)
    assert outcome.oom_retries >= 1
    assert all(len(b) <= oom_above for b in system.batches)


def test_out_of_memory_on_a_single_piece_is_an_error():
    system = recorder(oom_above=0)
    with pytest.raises(TranslationError, match=r"'rec'.*OutOfMemoryError"):
        translate_segments(system, ["a", "b"], cache=None, progress=False)


@pytest.mark.parametrize(("exc", "is_oom"), [
    (OutOfMemoryError("x"), True),
    (type("CudaOOM", (OutOfMemoryError,), {})("x"), True),  # subclass of an OOM class
    (RuntimeError("CUDA out of memory. Tried to allocate"), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("bad"), False),
])
def test_is_out_of_memory(exc, is_oom):
    assert is_out_of_memory(exc) is is_oom


def test_error_names_system_and_segments():
    system = recorder(fail_on="bad one")
    with pytest.raises(TranslationError) as info:
        translate_segments(system, ["ok", "fine", "bad one"], cache=None, max_batch_size=1,
                           progress=False)
    message = str(info.value)
    assert "'rec'" in message and "[2]" in message and "bad one" in message and "boom" in message


class WrongCount(RecordingSystem):
    def translate(self, batch):
        return ["only one"]


def test_wrong_number_of_outputs_is_an_error():
    system = WrongCount(RecorderConfig(name="short"), src_lang="en", tgt_lang="en")
    with pytest.raises(TranslationError, match=r"'short'.*expected 2 strings, got 1 outputs"):
        translate_segments(system, ["a", "b"], cache=None, progress=False)


# -- cache and resume -----------------------------------------------------------------------


def test_second_run_translates_nothing(tmp_path):
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        first = translate_segments(recorder(), WORDS, cache=cache, progress=False)
        again = recorder()
        second = translate_segments(again, WORDS, cache=cache, progress=False)
    assert again.calls == 0 and second.calls == 0
    assert second.cached_pieces == len(set(WORDS)) and second.translated_pieces == 0
    assert second.hypotheses == first.hypotheses


def test_count_cached_counts_segments_whose_pieces_are_all_cached(tmp_path):
    sources = ["短句。", ZH, "", "other"]
    system = recorder(max_input_tokens=9)
    pieces, chunks = split_segments(system, sources)
    assert chunks == {1: 6} and pieces[2] == [] and pieces[3] == ["other"]
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        assert count_cached(system, sources, cache=None) == 1  # only the empty source
        translate_segments(system, sources[:2], cache=cache, progress=False)
        assert count_cached(system, sources, cache=cache) == 3
        cache.put_many(system.fingerprint(), [("other", "x")])
        assert count_cached(system, sources, cache=cache) == 4


def test_resume_after_failure_translates_only_the_rest(tmp_path):
    sources = [f"sentence number {i}" for i in range(20)]
    reference = translate_segments(recorder(), sources, cache=None, max_batch_size=3,
                                   progress=False).hypotheses
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        crashing = recorder(stop_after=2)
        with pytest.raises(TranslationError):
            translate_segments(crashing, sources, cache=cache, max_batch_size=3, progress=False)
        done_before = {s for b in crashing.batches for s in b}
        assert cache.count(crashing.fingerprint()) == len(done_before) == 6
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        resumed = Resumable(crashing.config, crashing.fingerprint())
        outcome = translate_segments(resumed, sources, cache=cache, max_batch_size=3,
                                     progress=False)
    assert outcome.hypotheses == reference
    assert {s for b in resumed.batches for s in b} == set(sources) - done_before
    assert outcome.cached_pieces == 6


class Resumable(RecordingSystem):
    """Same config and fingerprint as a crashed recorder, but does not crash."""

    def __init__(self, config, fingerprint):
        super().__init__(config, src_lang="en", tgt_lang="en")
        self._fingerprint = fingerprint

    def fingerprint(self):
        return self._fingerprint

    def translate(self, batch):
        self.calls += 1
        self.batches.append(list(batch))
        return [expected(s) for s in batch]


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from evalmt.cache import TranslationCache
    from evalmt.systems.baselines import CopyConfig, CopySystem
    from evalmt.translate import translate_segments

    class Dying(CopySystem):
        calls = 0
        def fingerprint(self):
            return "kill-test"
        def translate(self, batch):
            Dying.calls += 1
            if Dying.calls > 2:
                os.kill(os.getpid(), signal.SIGKILL)  # like kill -9 from outside
            return [s[::-1] for s in batch]

    sources = [f"segment {i:02d}" for i in range(12)]
    system = Dying(CopyConfig(name="dying"), src_lang="en", tgt_lang="en")
    with TranslationCache(sys.argv[1]) as cache:
        translate_segments(system, sources, cache=cache, max_batch_size=2, progress=False)
""")


class Reverser(RecordingSystem):
    def fingerprint(self):
        return "kill-test"

    def translate(self, batch):
        self.batches.append(list(batch))
        return [s[::-1] for s in batch]


def test_resume_after_kill_minus_nine(tmp_path):
    db = tmp_path / "c.sqlite"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(db)], capture_output=True,
                          timeout=120, env={**os.environ})
    assert proc.returncode == -9, proc.stderr.decode()
    sources = [f"segment {i:02d}" for i in range(12)]
    with TranslationCache(db) as cache:
        assert cache.count("kill-test") == 4  # two finished batches of two
        system = Reverser(RecorderConfig(name="rev"), src_lang="en", tgt_lang="en")
        outcome = translate_segments(system, sources, cache=cache, max_batch_size=2,
                                     progress=False)
    assert outcome.hypotheses == tuple(s[::-1] for s in sources)
    assert outcome.cached_pieces == 4 and outcome.translated_pieces == 8


# -- chunking -------------------------------------------------------------------------------

ZH = "他說：「你好。」然後走了！真的嗎？是的……好吧；再見"


@pytest.mark.parametrize(("text", "sentences"), [
    (ZH, ["他說：「你好。」", "然後走了！", "真的嗎？", "是的……", "好吧；", "再見"]),
    ("價格是3.5元。很好", ["價格是3.5元。", "很好"]),
    ("你好?我很好.謝謝", ["你好?", "我很好.", "謝謝"]),
    ("Mr. Smith paid 3.5 dollars. He left!  Really? Yes.",
     ["Mr. Smith paid 3.5 dollars.", "He left!", "Really?", "Yes."]),
    ("See Fig. 3, e.g. this one. Then J. Smith came.", ["See Fig. 3, e.g. this one.",
                                                       "Then J. Smith came."]),
    ('He said "stop." Then he went.', ['He said "stop."', "Then he went."]),
    ("The U.S.A. and the U.K. agreed. Done.", ["The U.S.A. and the U.K. agreed.", "Done."]),
    ("no boundary here", ["no boundary here"]),
])
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(("text", "max_tokens"), [
    ("一二三四五六七八九十，甲乙丙丁戊己庚辛壬癸、子丑寅卯辰巳午未申酉戌亥。好", 12),
    ("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥", 7),
    ("one two three, four five six seven eight nine ten eleven. twelve", 14),
])
def test_split_to_fit_respects_budget_and_keeps_text(text, max_tokens):
    pieces = split_to_fit(text, max_tokens=max_tokens, num_tokens=len)
    assert all(len(p) <= max_tokens for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_over_long_sentence_is_cut_at_clauses_first():
    text = "一二三四五，六七八九十，甲乙丙丁戊。"
    assert split_to_fit(text, max_tokens=8, num_tokens=len) == ["一二三四五，", "六七八九十，",
                                                                 "甲乙丙丁戊。"]


@pytest.mark.parametrize(("tgt_lang", "joined"), [
    ("zh", "<他說：「你好。」><然後走了！><真的嗎？><是的……><好吧；><再見>"),
    ("en", "<他說：「你好。」> <然後走了！> <真的嗎？> <是的……> <好吧；> <再見>"),
])
def test_long_segments_are_split_translated_and_joined(tgt_lang, joined):
    system = recorder(max_input_tokens=9, tgt_lang=tgt_lang)
    outcome = translate_segments(system, ["短句。", ZH], cache=None, progress=False)
    assert outcome.hypotheses == ("<短句。>", joined)
    assert dict(outcome.chunks) == {1: 6}
    assert all(len(s) <= 9 for b in system.batches for s in b)


@pytest.mark.parametrize(("lang", "pieces", "joined"), [
    ("zh-Hant", [" 你好。", "再見 "], "你好。再見"),
    ("ja_JP", ["a", "b"], "ab"),
    ("en", ["Hello.", " Bye. "], "Hello. Bye."),
])
def test_join_pieces(lang, pieces, joined):
    assert join_pieces(pieces, lang) == joined


def test_outcome_as_dict_is_json_ready():
    import json

    outcome = translate_segments(recorder(), ["a", "b"], cache=None, progress=False)
    data = json.loads(json.dumps(outcome.as_dict()))
    assert data["segments"] == 2 and data["calls"] == 1 and data["translated_tokens"] == 2


def test_progress_bar_is_quiet_off_a_terminal(capsys):
    translate_segments(recorder(), WORDS, cache=None, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_appears_after_the_model_loaded(monkeypatch):
    """The model loads lazily in the first batch; our bar must not be drawn before that,
    or transformers' loading bars would be printed in the middle of it."""
    import tqdm.auto

    events: list[str] = []

    class Bar:
        def __init__(self, *args, **kwargs):
            events.append("bar")

        def set_postfix_str(self, *args, **kwargs):
            pass

        def update(self, n):
            events.append("update")

        def close(self):
            events.append("close")

    class LazyLoading(RecordingSystem):
        def translate(self, batch):
            if "load" not in events:
                events.append("load")
            return super().translate(batch)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    system = LazyLoading(RecorderConfig(name="lazy"), src_lang="zh",
                         tgt_lang="en")
    translate_segments(system, WORDS, cache=None, progress=True, max_batch_size=2)
    assert events[:2] == ["load", "bar"] and events[-1] == "close"


# -- properties -----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TEXT = st.text(alphabet=st.sampled_from(list("甲乙丙丁。！？，、ab .,!?\"」3")), max_size=80)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(text=TEXT, max_tokens=st.integers(min_value=1, max_value=12))
def test_split_to_fit_property(text, max_tokens):
    pieces = split_to_fit(text, max_tokens=max_tokens, num_tokens=len)
    if len(text) <= max_tokens:
        assert pieces == [text]
        return
    # Nothing lost but whitespace, nothing empty, nothing longer than the budget.
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert all(p and len(p) <= max_tokens for p in pieces)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(sources=st.lists(TEXT, max_size=20), max_input=st.one_of(st.none(), st.integers(3, 15)),
       budget=st.integers(1, 60), size=st.integers(1, 8))
def test_translate_matches_piecewise_reference(sources, max_input, budget, size):
    system = recorder(max_input_tokens=max_input)
    outcome = translate_segments(system, sources, cache=None, batch_tokens=budget,
                                 max_batch_size=size, progress=False)
    want = []
    for s in sources:
        if not s.strip():
            want.append("")
        elif max_input is None or len(s) <= max_input:
            want.append(expected(s))
        else:
            pieces = split_to_fit(s, max_tokens=max_input, num_tokens=len)
            want.append(" ".join(expected(p) for p in pieces))
    assert outcome.hypotheses == tuple(want)
