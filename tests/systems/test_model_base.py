"""What every model back end shares (systems/hf_base.py): one translate(), shape buckets."""

from __future__ import annotations

import pytest
import torch

from evalmt.errors import TranslationError
from evalmt.systems.hf_base import (
    BATCH_BUCKETS,
    Encoded,
    ModelSystem,
    ModelSystemConfig,
    bucket_length,
    bucket_size,
)
from evalmt.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem

SOURCES = ["我们今天去北京。", "天气很好", "机器翻译评估需要参考译文和自动指标。", "好", "测试"]


class EchoBackend(ModelSystem):
    """A back end of three steps: encode = length in characters, generate echoes, decode cuts."""

    def __init__(self, *, fail: Exception | None = None, limit: int = 5, **options):
        config = ModelSystemConfig(name="echo", type="echo", model="none", **options)
        super().__init__(config, src_lang="zh", tgt_lang="en")
        self.fail, self.limit, self.seen = fail, limit, []

    def encode(self, texts):
        self.seen.append(list(texts))
        return Encoded([t[:self.limit] for t in texts], [min(len(t), self.limit) for t in texts],
                       truncated=sum(len(t) > self.limit for t in texts), limit=self.limit)

    def generate(self, encoded, max_new_tokens):
        if self.fail is not None:
            raise self.fail
        return [t * 3 for t in encoded.inputs]

    def decode(self, generated, encoded, limits, sources):
        return [g[:n] for g, n in zip(generated, limits, strict=True)]


def test_base_translate_owns_blanks_limits_and_truncation():
    system = EchoBackend(max_length_ratio=1.0, max_length_offset=1)
    out = system.translate(["", "abcdefgh", "  ", "xy"])
    # blanks never reach the model; output limit = ceil(1.0 × length) + 1 per input
    assert system.seen == [["abcdefgh", "xy"]]
    assert out == ["", "abcdea", "", "xyx"]
    assert system.stats["truncated_inputs"] == 1
    assert system.translate(["", " "]) == ["", ""]
    assert system.seen == [["abcdefgh", "xy"]]


@pytest.mark.parametrize(("error", "passes_through"), [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), True),
    (RuntimeError("CUDA error: out of memory"), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("bad beam size"), False),
])
def test_base_translate_lets_out_of_memory_through(error, passes_through):
    system = EchoBackend(fail=error)
    if passes_through:
        with pytest.raises(type(error)):
            system.translate(["abc"])
    else:
        with pytest.raises(TranslationError, match=r"system 'echo': generate failed: "):
            system.translate(["abc"])


@pytest.mark.parametrize(("rows", "bucket"), [(1, 1), (2, 2), (3, 3), (5, 6), (7, 8), (9, 12),
                                              (13, 16), (33, 48), (64, 64), (65, 96),
                                              (600, 600)])
def test_bucket_size(rows, bucket):
    assert bucket_size(rows) == bucket
    assert bucket in BATCH_BUCKETS or bucket == rows


@pytest.mark.parametrize(("longest", "limit", "length"), [(1, 512, 16), (16, 512, 16),
                                                          (17, 512, 32), (500, 512, 512),
                                                          (30, 20, 20)])
def test_bucket_length(longest, limit, length):
    assert bucket_length(longest, limit=limit) == length


def make(path, **options) -> HFSeq2SeqSystem:
    config = HFSeq2SeqConfig(name="tiny", model=str(path), num_beams=2, max_new_tokens=8,
                             device="cpu", **options)
    return HFSeq2SeqSystem(config, src_lang="zh", tgt_lang="en")


def test_bucketed_shapes_give_the_same_outputs(tiny_marian):
    plain, bucketed = make(tiny_marian, bucket_shapes="off"), make(tiny_marian,
                                                                   bucket_shapes="on")
    assert make(tiny_marian).buckets is False  # auto: on CUDA only
    shapes = []
    real = bucketed.model.generate

    def recording(**kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return real(**kwargs)

    bucketed.model.generate = recording
    assert bucketed.translate(SOURCES) == plain.translate(SOURCES)
    assert bucketed.translate(SOURCES[:3]) == plain.translate(SOURCES[:3])
    longest = max(plain.num_tokens(s) for s in SOURCES)
    assert shapes == [(6, bucket_length(longest, limit=512)), (3, shapes[1][1])]
    assert all(length % 16 == 0 for _, length in shapes)
    # the switch does not change outputs, so it stays out of the cache key
    assert plain.fingerprint() == bucketed.fingerprint()
