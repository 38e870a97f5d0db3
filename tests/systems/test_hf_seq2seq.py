"""hf-seq2seq on tiny Marian, NLLB, M2M100 and mBART-50 models built by the tests."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch
import transformers
from pydantic import ValidationError
from transformers import AutoTokenizer
from transformers.models.m2m_100.tokenization_m2m_100 import (
    FAIRSEQ_LANGUAGE_CODES as M2M100_CODES,
)
from transformers.models.mbart50.tokenization_mbart50 import (
    FAIRSEQ_LANGUAGE_CODES as MBART50_CODES,
)
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB_CODES

from evalmt.errors import ConfigError, TranslationError
from evalmt.systems import SYSTEMS, hf_common
from evalmt.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem, detect_family
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
FAMILIES = ["marian", "nllb", "m2m100", "mbart50", "t5", "marian_multi"]


def make(path, src="zh", tgt="en", **options) -> HFSeq2SeqSystem:
    options.setdefault("num_beams", 1)
    options.setdefault("max_new_tokens", 8)
    options.setdefault("device", "cpu")  # deterministic float32 on any machine
    config = HFSeq2SeqConfig(name="tiny", model=str(path), **options)
    return HFSeq2SeqSystem(config, src_lang=src, tgt_lang=tgt)


class GenerateSpy:
    """Wraps ``model.generate`` and records its inputs, keyword arguments and outputs."""

    def __init__(self, model):
        self.real = model.generate
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        out = self.real(**kwargs)
        self.calls.append({**kwargs, "output": out})
        return out


def spy(system: HFSeq2SeqSystem) -> GenerateSpy:
    recorder = GenerateSpy(system.model)
    system.model.generate = recorder
    return recorder


def test_registered_lazily():
    assert SYSTEMS.get("hf-seq2seq") is HFSeq2SeqSystem


# (family fixture, src, tgt, family, first input token, forced BOS token or None)
CODE_TABLE = [
    ("nllb", "zh", "en", "nllb", "zho_Hans", "eng_Latn"),
    ("nllb", "zh-Hant", "en", "nllb", "zho_Hant", "eng_Latn"),
    ("nllb", "en", "zh_TW", "nllb", "eng_Latn", "zho_Hant"),
    ("m2m100", "zh", "en", "m2m100", "__zh__", "__en__"),
    ("m2m100", "zh-Hant", "en", "m2m100", "__zh__", "__en__"),
    ("mbart50", "zh", "en", "mbart50", "zh_CN", "en_XX"),
    ("mbart50", "en", "zh", "mbart50", "en_XX", "zh_CN"),
    ("marian", "zh", "en", "marian", None, None),
]


@pytest.mark.parametrize(
    ("tiny_seq2seq", "src", "tgt", "family", "src_token", "bos_token"),
    CODE_TABLE,
    indirect=["tiny_seq2seq"],
)
def test_language_codes_reach_generate(tiny_seq2seq, src, tgt, family, src_token, bos_token):
    system = make(tiny_seq2seq, src=src, tgt=tgt)
    recorder = spy(system)
    system.translate(["我们今天去北京。", "天气很好"])
    (call,) = recorder.calls
    # Expected ids come from the tokenizer itself, loaded independently of the system.
    tok = AutoTokenizer.from_pretrained(str(tiny_seq2seq))
    ids = call["input_ids"]
    assert system.setup.family == family
    if src_token is None:
        assert "forced_bos_token_id" not in call
        plain = tok(["我们今天去北京。"])["input_ids"][0]
        assert ids[0, : len(plain)].tolist() == plain
        return
    src_id = tok.convert_tokens_to_ids(src_token)
    bos_id = tok.convert_tokens_to_ids(bos_token)
    assert src_id != tok.unk_token_id and bos_id != tok.unk_token_id
    assert ids[:, 0].tolist() == [src_id, src_id]  # language code first, on every row
    assert call["forced_bos_token_id"] == bos_id
    # generate honoured it: row = decoder start, forced language token, translation
    assert call["output"][:, 1].tolist() == [bos_id, bos_id]
    # the language token never reaches the output text
    assert all(bos_token not in out for out in system.translate(SOURCES[:2]))


@pytest.mark.parametrize(
    ("tiny_seq2seq", "options", "src_token", "bos_token"),
    [
        ("nllb", {"tgt_code": "fra_Latn"}, "zho_Hans", "fra_Latn"),
        ("nllb", {"src_code": "zho_Hant", "tgt_code": "deu_Latn"}, "zho_Hant", "deu_Latn"),
        ("mbart50", {"tgt_code": "fr_XX"}, "zh_CN", "fr_XX"),
        ("m2m100", {"tgt_code": "fr"}, "__zh__", "__fr__"),
    ],
    indirect=["tiny_seq2seq"],
)
def test_code_overrides(tiny_seq2seq, options, src_token, bos_token):
    system = make(tiny_seq2seq, **options)
    recorder = spy(system)
    system.translate(["天气很好"])
    tok = AutoTokenizer.from_pretrained(str(tiny_seq2seq))
    assert recorder.calls[0]["input_ids"][0, 0].item() == tok.convert_tokens_to_ids(src_token)
    assert recorder.calls[0]["forced_bos_token_id"] == tok.convert_tokens_to_ids(bos_token)


@pytest.mark.parametrize(
    ("tiny_seq2seq", "options"),
    [("nllb", {"tgt_code": "xxx_Latn"}), ("mbart50", {"src_code": "zh_XX"}),
     ("m2m100", {"tgt_code": "qq"})],
    indirect=["tiny_seq2seq"],
)
def test_unknown_code_is_a_config_error(tiny_seq2seq, options):
    with pytest.raises(ConfigError, match="not in the"):
        make(tiny_seq2seq, **options).translate(["好"])


@pytest.mark.parametrize(
    ("tiny_seq2seq", "src", "tgt", "family", "first_token"),
    [
        ("t5", "zh", "en", "t5", "<2en>"),  # MADLAD-400: <2xx> target token first
        ("t5", "en", "zh", "t5", "<2zh>"),
        ("marian_multi", "zh", "en", "marian", ">>eng<<"),
        ("marian_multi", "en", "zh", "marian", ">>cmn_Hans<<"),
    ],
    indirect=["tiny_seq2seq"],
)
def test_target_token_prefix(tiny_seq2seq, src, tgt, family, first_token):
    system = make(tiny_seq2seq, src=src, tgt=tgt)
    recorder = spy(system)
    out = system.translate(["我们今天去北京。", "好"])
    tok = AutoTokenizer.from_pretrained(str(tiny_seq2seq))
    token_id = tok.convert_tokens_to_ids(first_token)
    assert token_id != tok.unk_token_id
    call = recorder.calls[0]
    assert system.setup.family == family and "forced_bos_token_id" not in call
    assert call["input_ids"][:, 0].tolist() == [token_id, token_id]
    assert all(first_token not in o for o in out)


def test_marian_target_without_token_is_a_config_error(tiny_marian_multi):
    with pytest.raises(ConfigError, match=r"available: >>eng<<, >>cmn_Hans<<"):
        make(tiny_marian_multi, tgt="fr").translate(["好"])


def test_prefix_is_prepended(tiny_marian):
    """T5/MADLAD-style task prefix: the prefix text reaches the encoder before the source."""
    system = make(tiny_marian, prefix="天气 ")
    recorder = spy(system)
    system.translate(["好"])
    tok = AutoTokenizer.from_pretrained(str(tiny_marian))
    assert recorder.calls[0]["input_ids"][0].tolist() == tok(["天气 好"])["input_ids"][0]
    assert system.num_tokens("好") == len(tok("天气 好")["input_ids"])


@pytest.mark.parametrize("tiny_seq2seq", FAMILIES, indirect=True)
def test_batch_size_invariance_greedy(tiny_seq2seq):
    system = make(tiny_seq2seq, max_new_tokens=10)
    batched = system.translate(SOURCES)
    single = [system.translate([s])[0] for s in SOURCES]
    assert batched == single
    assert sum(bool(o) for o in batched) >= len(SOURCES) // 2  # not trivially empty


@pytest.mark.parametrize("tiny_seq2seq", ["marian", "nllb"], indirect=True)
def test_beam_search_batch_invariance_without_relative_limit(tiny_seq2seq):
    system = make(tiny_seq2seq, num_beams=3, max_new_tokens=8)
    assert system.translate(SOURCES) == [system.translate([s])[0] for s in SOURCES]


def test_blank_inputs_skip_the_model(tiny_marian):
    system = make(tiny_marian)
    recorder = spy(system)
    assert system.translate(["", "  ", "好"])[:2] == ["", ""]
    assert recorder.calls[0]["input_ids"].shape[0] == 1
    assert system.translate([" "]) == [""] and len(recorder.calls) == 1


@pytest.mark.parametrize(
    ("options", "lengths", "expected_budget"),
    [
        # max_new_tokens only
        ({"max_new_tokens": 7}, [4, 11], 7),
        # ratio 0.5 × longest input (11 → ceil 5.5 = 6) + 2 = 8, under max_new_tokens 20
        ({"max_new_tokens": 20, "max_length_ratio": 0.5, "max_length_offset": 2}, [4, 11], 8),
        # the relative limit is capped by max_new_tokens
        ({"max_new_tokens": 4, "max_length_ratio": 2.0, "max_length_offset": 0}, [4, 11], 4),
    ],
)
def test_length_limits(tiny_nllb, options, lengths, expected_budget):
    system = make(tiny_nllb, **options)
    tok = system.tokenizer
    # tiny NLLB: one token per character, plus language code, "▁" and </s>
    pool = ["好", "天气很好", "我们今天去北京。", "机器翻译评估需要参考译文和自动指标。"]
    by_len = {len(tok(s)["input_ids"]): s for s in pool}
    sources = [by_len[n] for n in lengths]
    recorder = spy(system)
    system.translate(sources)
    # +1: NLLB's forced language token counts as a generated token
    assert recorder.calls[0]["max_new_tokens"] == expected_budget + 1


@pytest.mark.parametrize("tiny_seq2seq", ["nllb", "mbart50"], indirect=True)
def test_relative_limit_is_per_segment(tiny_seq2seq):
    """A short segment batched with a long one gets its own (smaller) budget, as when alone."""
    system = make(tiny_seq2seq, max_new_tokens=30, max_length_ratio=0.3, max_length_offset=1)
    assert system.translate(SOURCES) == [system.translate([s])[0] for s in SOURCES]


def test_decoding_options_reach_generate(tiny_marian):
    system = make(tiny_marian, num_beams=2, length_penalty=0.6, no_repeat_ngram_size=3,
                  max_new_tokens=5)
    recorder = spy(system)
    system.translate(["好"])
    call = recorder.calls[0]
    assert (call["num_beams"], call["length_penalty"], call["no_repeat_ngram_size"],
            call["do_sample"], call["max_new_tokens"]) == (2, 0.6, 3, False, 5)


@pytest.mark.parametrize("tiny_seq2seq", ["marian", "nllb"], indirect=True)
def test_long_segment_is_chunked_by_translate(tiny_seq2seq):
    system = make(tiny_seq2seq)
    limit = system.max_input_tokens
    assert limit == 64  # tiny tokenizers declare model_max_length 64, positions 64
    long = "".join(SOURCES[i % 4] for i in range(12))  # well over 64 tokens
    assert system.num_tokens(long) > limit
    recorder = spy(system)
    outcome = translate_segments(system, [long, "好"], cache=None, progress=False)
    assert outcome.chunks[0] >= 2 and 1 not in outcome.chunks
    assert all(call["input_ids"].shape[1] <= limit for call in recorder.calls)
    assert system.truncated_inputs == 0
    assert outcome.hypotheses[0]


def test_over_long_input_is_truncated_and_counted(tiny_marian, caplog):
    system = make(tiny_marian)
    long = "".join(SOURCES) * 3
    with caplog.at_level(logging.WARNING):
        system.translate([long])
    assert system.truncated_inputs == 1
    assert "truncated" in caplog.text
    assert system.describe()["stats"] == {"truncated_inputs": 1}


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({}, False),
        ({"num_beams": 2}, True),
        ({"max_new_tokens": 9}, True),
        ({"tgt_code": "fra_Latn"}, True),
        ({"dtype": "bfloat16"}, True),
    ],
)
def test_fingerprint(tiny_nllb, change, differs):
    base = make(tiny_nllb).fingerprint()
    other = make(tiny_nllb, **change)
    assert (other.fingerprint() != base) is differs
    assert other._model is None  # fingerprinting does not load the weights


def test_fingerprint_follows_weights_and_direction(tiny_nllb, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_nllb, copy)
    first = make(copy)
    assert make(copy).fingerprint() == first.fingerprint()
    assert make(copy, src="en", tgt="zh").fingerprint() != first.fingerprint()
    extra = first.fingerprint_extra()
    assert extra["source"]["files"]["model.safetensors"] == hf_common.sha256_file(
        copy / "model.safetensors")
    (copy / "model.safetensors").write_bytes((copy / "model.safetensors").read_bytes() + b" ")
    assert make(copy).fingerprint() != first.fingerprint()


def test_trust_remote_code_defaults_to_false(tiny_marian, monkeypatch, caplog):
    assert HFSeq2SeqConfig(name="x", model="m").trust_remote_code is False
    seen = []
    real = transformers.AutoModelForSeq2SeqLM.from_pretrained

    def recording(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSeq2SeqLM, "from_pretrained", recording)
    system = make(tiny_marian)
    system.translate(["好"])
    assert seen[0]["trust_remote_code"] is False
    assert seen[0]["use_safetensors"] is True and seen[0]["weights_only"] is True
    assert system.describe()["warnings"] == []
    with caplog.at_level(logging.WARNING):
        trusting = make(tiny_marian, trust_remote_code=True)
    assert "trust_remote_code is enabled" in caplog.text
    assert any("trust_remote_code" in w for w in trusting.describe()["warnings"])


def test_bin_checkpoint_loads_with_weights_only_and_a_warning(tiny_marian, tmp_path):
    from transformers import AutoModelForSeq2SeqLM

    copy = tmp_path / "bin"
    shutil.copytree(tiny_marian, copy)
    model = AutoModelForSeq2SeqLM.from_pretrained(str(copy))
    (copy / "model.safetensors").unlink()
    # transformers 5 only writes safetensors; write a legacy checkpoint by hand
    torch.save(model.state_dict(), copy / "pytorch_model.bin")
    system = make(copy)
    info = system.describe()  # the runner records this before translating
    assert system.translate(["好"]) == make(tiny_marian).translate(["好"])
    assert any("weights_only" in w for w in info["warnings"])


@pytest.mark.parametrize(
    ("model_type", "tokenizer_class", "expected"),
    [
        ("marian", "MarianTokenizer", "marian"),
        ("m2m_100", "NllbTokenizerFast", "nllb"),
        ("m2m_100", "NllbTokenizer", "nllb"),
        ("m2m_100", "M2M100Tokenizer", "m2m100"),
        ("nllb-moe", "NllbTokenizer", "nllb"),
        ("mbart", "MBart50Tokenizer", "mbart50"),
        ("t5", "T5Tokenizer", "t5"),
        ("mt5", "T5TokenizerFast", "t5"),
        ("bart", "BartTokenizer", None),
    ],
)
def test_detect_family(model_type, tokenizer_class, expected):
    assert detect_family(model_type, tokenizer_class) == expected


def test_family_override_and_undetectable(tiny_nllb):
    # the same checkpoint read as M2M100 would need __zh__ tokens, which it does not have
    with pytest.raises(ConfigError):
        make(tiny_nllb, family="m2m100").translate(["好"])
    with pytest.raises(ValidationError):
        HFSeq2SeqConfig(name="x", model="m", family="bart")


def test_missing_local_model_and_offline_hub_id():
    with pytest.raises(TranslationError, match="does not exist"):
        make("./no/such/model").fingerprint()
    with pytest.raises(TranslationError, match="local copy"):
        make("evalmt-tests/no-such-model").fingerprint()


def test_describe_records_codes_and_source(tiny_nllb):
    system = make(tiny_nllb)
    system.translate(["好"])
    info = system.describe()
    assert (info["family"], info["src_code"], info["tgt_code"]) == ("nllb", "zho_Hans",
                                                                     "eng_Latn")
    assert info["model_source"]["local"] is True
    assert info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["fingerprint"] == system.fingerprint()


def test_language_code_maps_use_codes_the_tokenizers_know():
    """Every mapped code exists in transformers' own NLLB / M2M100 / mBART-50 code lists."""
    for tag in ["en", "zh", "zh-Hant", "ja", "ko", "fr", "de", "es", "ru", "ar", "vi"]:
        assert hf_common.language_code("nllb", tag, key="k") in NLLB_CODES
        assert hf_common.language_code("m2m100", tag, key="k") in M2M100_CODES["m2m100"]
        assert hf_common.language_code("mbart50", tag, key="k") in MBART50_CODES


@pytest.mark.parametrize(
    ("cuda", "mps", "bf16", "device", "dtype", "expected"),
    [
        (True, False, True, "auto", "auto", ("cuda", "bfloat16")),
        (True, True, False, "auto", "auto", ("cuda", "float16")),
        (False, True, False, "auto", "auto", ("mps", "float32")),
        (False, False, False, "auto", "auto", ("cpu", "float32")),
        (False, False, False, "cpu", "float16", ("cpu", "float16")),
        (True, False, True, "cuda:1", "float32", ("cuda:1", "float32")),
    ],
)
def test_device_and_dtype_resolution(monkeypatch, cuda, mps, bf16, device, dtype, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    resolved = hf_common.resolve_device(device)
    assert (resolved, hf_common.resolve_dtype(dtype, resolved)) == expected


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_unavailable_device_is_an_error(monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(TranslationError, match=device):
        hf_common.resolve_device(device)


@pytest.mark.parametrize(
    ("tag", "split", "name"),
    [
        ("zh", ("zh", "Hans"), "Chinese"),
        ("zh-CN", ("zh", "Hans"), "Simplified Chinese"),
        ("zh-Hans", ("zh", "Hans"), "Simplified Chinese"),
        ("zh-Hant", ("zh", "Hant"), "Traditional Chinese"),
        ("zh_TW", ("zh", "Hant"), "Traditional Chinese"),
        ("zh-HK", ("zh", "Hant"), "Traditional Chinese"),
        ("en", ("en", None), "English"),
        ("en-US", ("en", None), "English"),
        ("yue", ("yue", "Hant"), "Cantonese"),
        ("xx", ("xx", None), "xx"),
    ],
)
def test_language_tags(tag, split, name):
    assert hf_common.split_language(tag) == split
    assert hf_common.language_name(tag) == name


@pytest.mark.parametrize(
    ("family", "tag", "code"),
    [
        ("nllb", "zh", "zho_Hans"), ("nllb", "zh-Hant", "zho_Hant"), ("nllb", "en", "eng_Latn"),
        ("nllb", "yue", "yue_Hant"), ("m2m100", "zh-TW", "zh"), ("m2m100", "en", "en"),
        ("mbart50", "zh", "zh_CN"), ("mbart50", "en", "en_XX"), ("mbart50", "ja", "ja_XX"),
        ("marian", "zh", "cmn_Hans"), ("marian", "zh-Hant", "cmn_Hant"), ("marian", "fr", "fra"),
        ("t5", "en", "en"), ("t5", "zh", "zh"),
    ],
)
def test_language_code_table(family, tag, code):
    assert hf_common.language_code(family, tag, key="k") == code


@pytest.mark.parametrize("family", ["nllb", "mbart50", "m2m100"])
def test_unknown_language_names_the_key(family):
    with pytest.raises(ConfigError, match="tgt_code.*set it explicitly"):
        hf_common.language_code(family, "tlh", key="systems.1.tgt_code")


def _fake_hub_cache(root, repo_id, model_dir, commit):
    """Lay ``model_dir`` out as the hub cache does: snapshots/<commit>/ and refs/main."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(model_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def test_hub_id_resolves_to_the_cached_commit_offline(tiny_nllb, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    commit_a, commit_b = "a" * 40, "b" * 40
    _fake_hub_cache(tmp_path, "evalmt-tests/tiny-nllb", tiny_nllb, commit_a)
    hub = make("evalmt-tests/tiny-nllb")
    assert hub.source.local is False and hub.source.commit == commit_a
    assert hub.fingerprint_extra()["source"] == {"local": False, "model": "evalmt-tests/tiny-nllb",
                                                 "commit": commit_a}
    assert hub.translate(SOURCES[:3]) == make(tiny_nllb).translate(SOURCES[:3])
    pinned = make("evalmt-tests/tiny-nllb", revision=commit_a)
    assert pinned.source.commit == commit_a and pinned.fingerprint() != hub.fingerprint()
    # a new commit on main changes the fingerprint, so cached outputs are not reused
    _fake_hub_cache(tmp_path, "evalmt-tests/tiny-nllb", tiny_nllb, commit_b)
    assert make("evalmt-tests/tiny-nllb").fingerprint() != hub.fingerprint()


def test_revision_on_a_local_path_is_a_config_error(tiny_nllb):
    with pytest.raises(ConfigError, match="revision"):
        make(tiny_nllb, revision="main").fingerprint()


def test_relative_model_path_resolves_against_the_config_folder(tiny_marian, monkeypatch,
                                                                tmp_path):
    monkeypatch.chdir(tmp_path)  # the folder is not reachable from the cwd
    config = HFSeq2SeqConfig(name="rel", model=tiny_marian.name, num_beams=1, max_new_tokens=8,
                             device="cpu")
    system = HFSeq2SeqSystem(config, src_lang="zh", tgt_lang="en", base_dir=tiny_marian.parent)
    assert system.source.local and system.source.model == str(tiny_marian)
    assert system.translate(["好"]) == make(tiny_marian).translate(["好"])


def test_configured_input_limit_never_exceeds_the_model(tiny_marian):
    system = make(tiny_marian, max_input_tokens=500)  # positions: 64
    assert system.max_input_tokens == 500
    recorder = spy(system)
    system.translate(["".join(SOURCES) * 3])
    assert recorder.calls[0]["input_ids"].shape[1] == 64
    assert system.truncated_inputs == 1


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("<2{lang}> ", "unknown field"), ("{tgt_code", "not a valid template")],
)
def test_prefix_validation(prefix, message):
    with pytest.raises(ValidationError, match=message):
        HFSeq2SeqConfig(name="x", model="m", prefix=prefix)


def test_prefix_template_fields(tiny_t5):
    system = make(tiny_t5, prefix="<2{tgt_code}> ", tgt="fr")
    assert system.setup.prefix == "<2fr> " and system.setup.src_code is None


def test_max_new_tokens_is_capped_at_the_decoder_position_table(tiny_marian):
    """The tiny Marian has 64 decoder positions: 500 new tokens would index past the table.

    End of sentence is suppressed so generation really runs to the limit; without the cap
    this raises ``IndexError: index out of range in self``.
    """
    system = make(tiny_marian, max_new_tokens=500)
    positions = system.model.config.max_position_embeddings
    assert positions == 64
    real = system.model.generate
    eos = system.model.config.eos_token_id
    system.model.generate = lambda **kw: real(**kw, suppress_tokens=[eos])
    recorder = spy(system)
    outputs = system.translate(SOURCES[:2])
    # decoder start token + 63 new tokens fill the 64 positions
    assert recorder.calls[0]["max_new_tokens"] == positions - 1
    assert recorder.calls[0]["output"].shape[1] == positions
    assert all(outputs)
    info = system.describe()
    assert info["max_new_tokens"] == positions - 1
    assert any("max_new_tokens 500 capped to 63" in w for w in info["warnings"])
