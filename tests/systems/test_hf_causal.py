"""hf-causal on a tiny Qwen2-architecture LM with a ChatML template, built by the tests."""

from __future__ import annotations

import logging

import pytest
import torch
import transformers
from pydantic import ValidationError
from transformers import AutoTokenizer

from evalmt.systems import SYSTEMS
from evalmt.systems.hf_causal import HFCausalConfig, HFCausalSystem
from evalmt.translate import translate_segments

SOURCES = [
    "我们今天去北京。",
    "這是一個測試句子。應(yīng)該翻譯成英文。",
    "天气很好",
    "机器翻译评估需要参考译文和自动指标。",
    "好",
    "中文和英文的文档放在同一个文件里。",
    "文件里",
    "测试",
]
INSTRUCTION = "Translate the following Chinese text into English. Reply with the translation only."


def make(path, src="zh", tgt="en", **options) -> HFCausalSystem:
    options.setdefault("max_new_tokens", 8)
    options.setdefault("device", "cpu")  # deterministic float32 on any machine
    return HFCausalSystem(HFCausalConfig(name="llm", model=str(path), **options),
                          src_lang=src, tgt_lang=tgt)


class GenerateSpy:
    """Records ``generate`` calls; optionally replaces the continuation with fixed text."""

    def __init__(self, system: HFCausalSystem, continuation: str | None = None):
        self.real = system.model.generate
        self.tokenizer = system.tokenizer
        self.continuation = continuation
        self.calls: list[dict] = []
        system.model.generate = self

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.continuation is None:
            return self.real(**kwargs)
        tok = self.tokenizer
        tail = tok(self.continuation, add_special_tokens=False)["input_ids"]
        tail += [tok.convert_tokens_to_ids("<|im_end|>")]
        tail += tok(" and chatter after the end of turn", add_special_tokens=False)["input_ids"]
        ids = kwargs["input_ids"]
        extra = torch.tensor([tail] * ids.shape[0], dtype=ids.dtype)
        return torch.cat([ids, extra], dim=1)


def test_registered_lazily():
    assert SYSTEMS.get("hf-causal") is HFCausalSystem


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, f"<|im_start|>user\n{INSTRUCTION}\n\n好<|im_end|>\n<|im_start|>assistant\n"),
        (
            {"system_prompt": "You are a translator.",
             "few_shot": [{"source": "你好", "target": "Hello"}]},
            "<|im_start|>system\nYou are a translator.<|im_end|>\n"
            f"<|im_start|>user\n{INSTRUCTION}\n\n你好<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n"
            f"<|im_start|>user\n{INSTRUCTION}\n\n好<|im_end|>\n<|im_start|>assistant\n",
        ),
        (
            {"prompt": "{src_lang} → {tgt_lang}: {source}", "chat_template": False},
            "Chinese → English: 好\n",
        ),
    ],
)
def test_prompt_rendering_with_chat_template(tiny_qwen2, options, expected):
    assert make(tiny_qwen2, **options).render_prompt("好") == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, f"{INSTRUCTION}\n\n好\n"),
        (
            {"system_prompt": "You are a translator.",
             "few_shot": [{"source": "你好", "target": "Hello"}]},
            f"You are a translator.\n\n{INSTRUCTION}\n\n你好\nHello\n\n{INSTRUCTION}\n\n好\n",
        ),
    ],
)
def test_plain_prompt_without_chat_template(tiny_qwen2_plain, options, expected):
    system = make(tiny_qwen2_plain, **options)
    assert system.uses_chat_template is False
    assert system.render_prompt("好") == expected


NO_SYSTEM_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}"
    "<turn>{{ message['role'] }}: {{ message['content'] }}</turn>"
    "{% endfor %}{% if add_generation_prompt %}<turn>assistant: {% endif %}"
)


def test_system_prompt_folds_into_user_turn_when_template_rejects_it(tiny_qwen2):
    system = make(tiny_qwen2, system_prompt="Be literal.", prompt="{source}")
    system.tokenizer.chat_template = NO_SYSTEM_TEMPLATE
    assert system.render_prompt("好") == "<turn>user: Be literal.\n\n好</turn><turn>assistant: "
    assert any("rejects a system turn" in w for w in system.describe()["warnings"])
    plain = make(tiny_qwen2, prompt="{source}")
    plain.tokenizer.chat_template = NO_SYSTEM_TEMPLATE
    assert plain.render_prompt("好") == "<turn>user: 好</turn><turn>assistant: "


def test_chat_template_required_but_missing(tiny_qwen2_plain):
    from evalmt.errors import TranslationError

    with pytest.raises(TranslationError, match="has none"):
        make(tiny_qwen2_plain, chat_template=True).render_prompt("好")


def test_language_names_in_prompt(tiny_qwen2):
    system = make(tiny_qwen2, src="en", tgt="zh-Hant", prompt="{src_lang}|{tgt_lang}|{source}",
                  chat_template=False)
    assert system.render_prompt("x") == "English|Traditional Chinese|x\n"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("Translate {text}", "unknown field"),
        ("Translate this from {src_lang}", "must contain {source}"),
        ("Translate {source", "not a valid template"),
    ],
)
def test_prompt_validation(prompt, message):
    with pytest.raises(ValidationError, match=message):
        HFCausalConfig(name="x", model="m", prompt=prompt)


def test_newline_stop_string_is_rejected():
    with pytest.raises(ValidationError, match="newline"):
        HFCausalConfig(name="x", model="m", stop_strings=["\n"])


def test_stops_at_end_of_turn_not_newline_and_pads_left(tiny_qwen2):
    system = make(tiny_qwen2)
    spy = GenerateSpy(system)
    system.translate(["好", "机器翻译评估需要参考译文和自动指标。"])
    (call,) = spy.calls
    tok = AutoTokenizer.from_pretrained(str(tiny_qwen2))
    im_end, endoftext = tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    newline = tok("\n", add_special_tokens=False)["input_ids"]
    assert sorted(call["eos_token_id"]) == sorted({im_end, endoftext})
    assert not set(newline) & set(call["eos_token_id"])
    assert "stop_strings" not in call
    assert call["do_sample"] is False and call["num_beams"] == 1  # greedy by default
    # no pad token in the tokenizer: EOS pads, on the left
    assert tok.pad_token is None and call["pad_token_id"] == im_end
    assert call["input_ids"][0, 0].item() == im_end and call["attention_mask"][0, 0] == 0
    assert call["attention_mask"][1].all()
    # every row ends with the generation prompt "<|im_start|>assistant\n"
    tail = tok("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    assert call["input_ids"][:, -len(tail):].tolist() == [tail, tail]


@pytest.mark.parametrize(
    ("continuation", "expected", "rule"),
    [
        ("Line one.\nLine two. Still two.", "Line one.\nLine two. Still two.", None),
        ("Here is the translation:\nLine one.\nLine two.", "Line one.\nLine two.", "preamble"),
        ('"We went home."', "We went home.", "wrapping_quotes"),
        ("We went home.\n\nNote: informal.", "We went home.", "trailing_note"),
    ],
)
def test_multiline_output_survives_and_is_cleaned(tiny_qwen2, continuation, expected, rule):
    system = make(tiny_qwen2, max_new_tokens=200)
    GenerateSpy(system, continuation=continuation)
    assert system.translate(["好", "天气很好"]) == [expected, expected]
    counts = system.describe()["cleanup"]
    assert counts["outputs"] == 2
    assert {k: v for k, v in counts.items() if v and k != "outputs"} == (
        {rule: 2} if rule else {})


def test_cleanup_can_be_switched_off(tiny_qwen2):
    system = make(tiny_qwen2, max_new_tokens=200, cleanup=False)
    GenerateSpy(system, continuation="Translation: Hi.")
    assert system.translate(["好"]) == ["Translation: Hi."]
    assert system.describe()["cleanup"]["outputs"] == 0


def test_stop_strings_cut_the_output(tiny_qwen2):
    system = make(tiny_qwen2, max_new_tokens=200, stop_strings=["###"], cleanup=False)
    spy = GenerateSpy(system, continuation="Line one.\nLine two.###More")
    assert system.translate(["好"]) == ["Line one.\nLine two."]
    assert spy.calls[0]["stop_strings"] == ["###"]


@pytest.mark.parametrize("fixture", ["tiny_qwen2", "tiny_qwen2_plain"])
def test_batch_size_invariance_greedy(request, fixture):
    system = make(request.getfixturevalue(fixture), cleanup=False)
    batched = system.translate(SOURCES)
    assert batched == [system.translate([s])[0] for s in SOURCES]
    assert sum(bool(o) for o in batched) >= len(SOURCES) // 2


def test_relative_limit_is_per_segment(tiny_qwen2):
    system = make(tiny_qwen2, cleanup=False, max_new_tokens=40, max_length_ratio=0.25,
                  max_length_offset=0)
    spy = GenerateSpy(system)
    batched = system.translate(SOURCES)
    # longest source: 17 CJK characters (51 UTF-8 bytes) + "(yīng)" (7 bytes) = 58
    # byte-level tokens → ceil(0.25 × 58) = 15
    assert spy.calls[0]["max_new_tokens"] == 15
    assert batched == [system.translate([s])[0] for s in SOURCES]


def test_max_input_tokens_leaves_room_for_prompt_and_output(tiny_qwen2):
    system = make(tiny_qwen2)
    prompt = f"<|im_start|>user\n{INSTRUCTION}\n\n<|im_end|>\n<|im_start|>assistant\n"
    # byte-level tokenizer without merges: one token per UTF-8 byte, one per special token
    plain = prompt.replace("<|im_start|>", "").replace("<|im_end|>", "")
    overhead = len(plain.encode("utf-8")) + 3
    assert system.max_input_tokens == (1024 - overhead) // 3
    assert system.num_tokens("好") == 3  # three UTF-8 bytes
    assert make(tiny_qwen2, max_input_tokens=7).max_input_tokens == 7


def test_long_segment_is_chunked_by_translate(tiny_qwen2):
    system = make(tiny_qwen2, max_input_tokens=30)
    seen: list[str] = []
    real = system.translate

    def recording(batch):
        seen.extend(batch)
        return real(batch)

    system.translate = recording
    long = "".join(SOURCES[:4])
    outcome = translate_segments(system, [long, "好"], cache=None, progress=False)
    assert outcome.chunks[0] >= 4 and 1 not in outcome.chunks
    assert all(system.num_tokens(piece) <= 30 for piece in seen)
    pieces = [p for p in seen if p != "好"]  # translated longest first, not in order
    assert all(p in long for p in pieces) and sum(map(len, pieces)) == len(long)


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({}, False),
        ({"prompt": "Into {tgt_lang}: {source}"}, True),
        ({"system_prompt": "Be literal."}, True),
        ({"few_shot": [{"source": "你好", "target": "Hello"}]}, True),
        ({"chat_template": False}, True),
        ({"max_new_tokens": 9}, True),
    ],
)
def test_fingerprint_includes_prompt(tiny_qwen2, change, differs):
    base = make(tiny_qwen2)
    other = make(tiny_qwen2, **change)
    assert (other.fingerprint() != base.fingerprint()) is differs
    assert other._model is None  # fingerprinting does not load the weights
    assert base.fingerprint_extra()["rendered_prompt"] == base.render_prompt("{source}")


def test_trust_remote_code_defaults_to_false(tiny_qwen2, monkeypatch, caplog):
    assert HFCausalConfig(name="x", model="m").trust_remote_code is False
    seen = []
    real = transformers.AutoModelForCausalLM.from_pretrained

    def recording(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", recording)
    system = make(tiny_qwen2)
    system.translate(["好"])
    assert seen[0]["trust_remote_code"] is False and seen[0]["use_safetensors"] is True
    assert system.describe()["warnings"] == []
    with caplog.at_level(logging.WARNING):
        trusting = make(tiny_qwen2, trust_remote_code=True)
    assert "trust_remote_code is enabled" in caplog.text
    assert trusting.describe()["warnings"]


def test_describe(tiny_qwen2):
    system = make(tiny_qwen2)
    system.translate(["好"])
    info = system.describe()
    assert info["chat_template"] is True
    assert sorted(info["stop_tokens"]) == ["<|endoftext|>", "<|im_end|>"]
    assert info["model_source"]["local"] is True
    assert set(info["cleanup"]) == {"outputs", "preamble", "code_fence", "trailing_note",
                                    "wrapping_quotes"}
