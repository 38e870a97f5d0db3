"""ctranslate2 on the tiny Marian, NLLB, M2M100 and mBART-50 models built by the tests."""

from __future__ import annotations

import json
import math
import sys

import pytest
import yaml

from evalmt.cli import main
from evalmt.errors import ConfigError, TranslationError
from evalmt.systems import SYSTEMS
from evalmt.systems.ct2 import CTranslate2Config, CTranslate2System, is_ct2_directory
from evalmt.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem
from evalmt.translate import translate_segments

ctranslate2 = pytest.importorskip("ctranslate2")

SOURCES = [
    "我们今天去北京。",
    "這是一個測試句子。應(yīng)該翻譯成英文。",
    "天气很好",
    "机器翻译评估需要参考译文和自动指标。中文和英文的文档放在同一个文件里。",
    "好",
    "",
    "文件里",
]
FAMILIES = ["marian", "nllb", "m2m100", "mbart50"]


def make_ct2(path, convert_dir, src="zh", tgt="en", **options) -> CTranslate2System:
    options.setdefault("num_beams", 1)
    options.setdefault("max_new_tokens", 8)
    options.setdefault("device", "cpu")
    options.setdefault("compute_type", "float32")
    config = CTranslate2Config(name="ct2", model=str(path), convert_dir=str(convert_dir),
                               **options)
    return CTranslate2System(config, src_lang=src, tgt_lang=tgt)


def make_hf(path, src="zh", tgt="en", **options) -> HFSeq2SeqSystem:
    options.setdefault("num_beams", 1)
    options.setdefault("max_new_tokens", 8)
    config = HFSeq2SeqConfig(name="hf", model=str(path), device="cpu", dtype="float32",
                             **options)
    return HFSeq2SeqSystem(config, src_lang=src, tgt_lang=tgt)


@pytest.fixture(scope="module")
def convert_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("ct2-cache")


class BatchSpy:
    """Wraps ``Translator.translate_batch``; records source, target prefix and options."""

    def __init__(self, system):
        self.real = system.model.translate_batch
        self.calls: list[dict] = []
        system._model = self  # the system only ever calls translate_batch

    def translate_batch(self, source, target_prefix=None, **kwargs):
        self.calls.append({"source": source, "target_prefix": target_prefix, **kwargs})
        return self.real(source, target_prefix, **kwargs)


def test_registered_lazily():
    assert SYSTEMS.get("ctranslate2") is CTranslate2System


# hf-seq2seq is the reference: same checkpoint, float32 greedy decoding. Both the fixed
# limit and the length-relative limit are compared, through translate_segments so that
# chunking (max_input_tokens=12 cuts the long sources) is the same path for both.
@pytest.mark.parametrize("tiny_seq2seq", FAMILIES, indirect=True)
@pytest.mark.parametrize("limits", [
    {"max_new_tokens": 8},
    {"max_new_tokens": 20, "max_length_ratio": 0.5, "max_length_offset": 2},
])
def test_same_outputs_as_hf_seq2seq_float32_greedy(tiny_seq2seq, convert_dir, limits):
    hf = make_hf(tiny_seq2seq, max_input_tokens=12, **limits)
    ct2 = make_ct2(tiny_seq2seq, convert_dir, max_input_tokens=12, **limits)
    expected = translate_segments(hf, SOURCES, cache=None, progress=False)
    got = translate_segments(ct2, SOURCES, cache=None, progress=False)
    assert got.hypotheses == expected.hypotheses
    assert got.chunks == expected.chunks and len(got.chunks) >= 1
    assert any(h for h in got.hypotheses)
    assert got.hypotheses[SOURCES.index("")] == ""


# Hand-written from each family's conventions: what the encoder must start with and the
# token that must open the decoder.
@pytest.mark.parametrize(("tiny_seq2seq", "first_source_token", "prefix"), [
    ("marian", None, None),
    ("nllb", "zho_Hans", [["eng_Latn"]]),
    ("m2m100", "__zh__", [["__en__"]]),
    ("mbart50", "zh_CN", [["en_XX"]]),
], indirect=["tiny_seq2seq"])
def test_language_tokens_reach_ctranslate2(tiny_seq2seq, convert_dir, first_source_token,
                                           prefix):
    system = make_ct2(tiny_seq2seq, convert_dir)
    spy = BatchSpy(system)
    system.translate(["天气很好", "好"])
    (call,) = spy.calls
    assert call["target_prefix"] == (None if prefix is None else prefix * 2)
    for tokens in call["source"]:
        assert tokens[-1] == "</s>"
        if first_source_token is not None:
            assert tokens[0] == first_source_token
    assert call["beam_size"] == 1 and call["max_decoding_length"] == 8 + (prefix is not None)


def test_decoding_options_reach_ctranslate2(tiny_marian, convert_dir):
    system = make_ct2(tiny_marian, convert_dir, num_beams=3, length_penalty=0.6,
                      no_repeat_ngram_size=2, max_new_tokens=5)
    spy = BatchSpy(system)
    system.translate(["天气很好"])
    call = spy.calls[0]
    assert (call["beam_size"], call["length_penalty"], call["no_repeat_ngram_size"],
            call["max_decoding_length"]) == (3, 0.6, 2, 5)


def test_blank_inputs_skip_the_model(tiny_marian, convert_dir):
    system = make_ct2(tiny_marian, convert_dir)
    assert system.translate(["", "  "]) == ["", ""]
    assert system._model is None


def test_conversion_is_cached_and_keyed_by_quantization(tiny_nllb, tmp_path, monkeypatch):
    from ctranslate2.converters import TransformersConverter

    calls = []
    real = TransformersConverter.convert

    def counting(self, output_dir, *args, **kwargs):
        calls.append(kwargs.get("quantization"))
        return real(self, output_dir, *args, **kwargs)

    monkeypatch.setattr(TransformersConverter, "convert", counting)
    first = make_ct2(tiny_nllb, tmp_path)
    first.translate(["好"])
    second = make_ct2(tiny_nllb, tmp_path)
    second.translate(["好"])
    assert (first.stats["conversions"], second.stats["conversions"]) == (1, 0)
    assert second.ct2_directory == first.ct2_directory and calls == ["float32"]
    int8 = make_ct2(tiny_nllb, tmp_path, compute_type="int8")
    int8.translate(["好"])
    assert calls == ["float32", "int8"] and int8.ct2_directory != first.ct2_directory
    entries = sorted(p.name for p in tmp_path.iterdir())
    assert len(entries) == 2 and not any(name.startswith(".") for name in entries)
    record = json.loads((first.ct2_directory / "evalmt-conversion.json").read_text())
    assert record["quantization"] == "float32"
    assert record["ctranslate2"] == ctranslate2.__version__


def test_interrupted_conversion_leaves_no_entry(tiny_marian, tmp_path, monkeypatch):
    from ctranslate2.converters import TransformersConverter

    def broken(self, output_dir, *args, **kwargs):
        (__import__("pathlib").Path(output_dir)).mkdir(parents=True)
        (__import__("pathlib").Path(output_dir) / "model.bin").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(TransformersConverter, "convert", broken)
    with pytest.raises(KeyboardInterrupt):
        make_ct2(tiny_marian, tmp_path).translate(["好"])
    assert list(tmp_path.iterdir()) == []


def test_conversion_failure_is_a_translation_error(tiny_marian, tmp_path, monkeypatch):
    from ctranslate2.converters import TransformersConverter

    def failing(self, output_dir, *args, **kwargs):
        raise ValueError("No conversion is registered for the model configuration X")

    monkeypatch.setattr(TransformersConverter, "convert", failing)
    with pytest.raises(TranslationError, match="CTranslate2 conversion failed"):
        make_ct2(tiny_marian, tmp_path).translate(["好"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tiny_seq2seq", ["marian", "nllb"], indirect=True)
def test_int8_quantizes_and_translates(tiny_seq2seq, convert_dir):
    full = make_ct2(tiny_seq2seq, convert_dir)
    int8 = make_ct2(tiny_seq2seq, convert_dir, compute_type="int8")
    outputs = int8.translate(SOURCES)
    assert len(outputs) == len(SOURCES) and all(isinstance(o, str) for o in outputs)
    assert sum(bool(o) for o in outputs) == len([s for s in SOURCES if s])
    # int8 weights take about a quarter of the float32 file (scales and biases stay float).
    full_size = (full.ct2_directory / "model.bin").stat().st_size
    int8_size = (int8.ct2_directory / "model.bin").stat().st_size
    assert int8_size < 0.6 * full_size
    assert int8.fingerprint() != full.fingerprint()


@pytest.mark.parametrize("tiny_seq2seq", ["marian", "nllb", "m2m100"], indirect=True)
def test_prebuilt_directory_is_used_as_is(tiny_seq2seq, convert_dir):
    converted = make_ct2(tiny_seq2seq, convert_dir)
    expected = converted.translate(SOURCES)
    directory = converted.ct2_directory
    assert is_ct2_directory(directory) and not is_ct2_directory(tiny_seq2seq)
    prebuilt = make_ct2(directory, convert_dir / "unused", tokenizer=str(tiny_seq2seq))
    assert prebuilt.prebuilt and prebuilt.translate(SOURCES) == expected
    assert prebuilt.setup.family == converted.setup.family
    assert prebuilt.stats["conversions"] == 0 and not (convert_dir / "unused").exists()


def test_prebuilt_directory_without_tokenizer_is_an_error(tiny_marian, convert_dir):
    directory = make_ct2(tiny_marian, convert_dir).ct2_directory
    with pytest.raises(TranslationError, match="tokenizer"):
        make_ct2(directory, convert_dir).translate(["好"])


@pytest.mark.parametrize(("change", "differs"), [
    ({"compute_type": "int8"}, True),
    ({"num_beams": 2}, True),
    ({"max_new_tokens": 9}, True),
    ({"tgt_code": "fra_Latn"}, True),
    ({"convert_dir": "elsewhere"}, False),
])
def test_fingerprint(tiny_nllb, convert_dir, change, differs):
    base = make_ct2(tiny_nllb, convert_dir)
    options = {"convert_dir": convert_dir, **change}
    other = make_ct2(tiny_nllb, options.pop("convert_dir"), **options)
    assert (base.fingerprint() != other.fingerprint()) is differs
    assert base.fingerprint() != make_hf(tiny_nllb).fingerprint()


def test_missing_ctranslate2_names_the_extra(tiny_marian, convert_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)
    with pytest.raises(TranslationError, match=r"evalmt\[ct2\]"):
        make_ct2(tiny_marian, convert_dir).fingerprint()


def test_unavailable_cuda_is_an_error(tiny_marian, convert_dir, monkeypatch):
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    with pytest.raises(TranslationError, match="cuda"):
        make_ct2(tiny_marian, convert_dir, device="cuda").translate(["好"])
    assert make_ct2(tiny_marian, convert_dir, device="auto").ct2_device == ("cpu", 0)


@pytest.mark.parametrize(("options", "tgt", "key"), [
    ({"family": "t5"}, "en", None),
    ({}, "xx", "tgt_code"),
    ({"tgt_code": "klingon"}, "en", "tgt_code"),
])
def test_codes_and_position_limit(tiny_nllb, convert_dir, options, tgt, key):
    system = make_ct2(tiny_nllb, convert_dir, tgt=tgt, max_new_tokens=256, **options)
    if key is None:  # decoding stops at the 64 positions of the tiny model's table,
        spy = BatchSpy(system)  # one of which the decoder start token takes (as hf-seq2seq)
        system.translate(["好"])
        assert spy.calls[0]["max_decoding_length"] == 64 - 1
    else:
        with pytest.raises(ConfigError, match=key):
            system.translate(["好"])


@pytest.fixture
def run_config(tmp_path, tiny_marian, tiny_nllb):
    common = {"device": "cpu", "max_new_tokens": 8, "max_input_tokens": 40}
    config = {
        "name": "tiny-ct2",
        "data": [{"name": "sample", "reader": "bilingual-txt", "path": "pkg://samples/*.txt",
                  "src_lang": "zh", "tgt_lang": "en", "clean": ["strip-pinyin"]}],
        "systems": [
            {"name": "marian-hf", "type": "hf-seq2seq", "model": str(tiny_marian),
             "num_beams": 1, "dtype": "float32", **common},
            {"name": "marian-ct2", "type": "ctranslate2", "model": str(tiny_marian),
             "num_beams": 1, "compute_type": "float32", "convert_dir": str(tmp_path / "ct2"),
             **common},
            {"name": "nllb-ct2-int8", "type": "ctranslate2", "model": str(tiny_nllb),
             "compute_type": "int8", "convert_dir": str(tmp_path / "ct2"), **common},
        ],
        "metrics": ["bleu", "chrf"],
        "confidence": {"samples": 20, "seed": 1},
        "significance": {"samples": 20, "seed": 1},
        "output": str(tmp_path / "results"),
        "cache": str(tmp_path / "cache.sqlite"),
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_validate_rejects_bad_ct2_options(run_config, capsys):
    assert main(["validate", str(run_config)]) == 0
    # num_beams is the one name for beam width in every model system; beam_size is refused
    assert main(["validate", str(run_config), "--set", "systems.1.num_beams=2"]) == 0
    assert main(["validate", str(run_config), "--set", "systems.1.compute_type=int4",
                 "--set", "systems.2.beam_size=2"]) == 2
    err = capsys.readouterr().err
    assert "systems.1.compute_type" in err and "systems.2.beam_size" in err


def test_evalmt_run_with_ctranslate2(run_config, tmp_path):
    assert main(["run", str(run_config), "--no-progress"]) == 0
    run_dir = tmp_path / "results" / "tiny-ct2"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"
    ct2 = manifest["systems"]["marian-ct2"]["directions"]["zh-en"]
    assert ct2["compute_type"] == "float32" and ct2["stats"]["conversions"] == 1
    nllb = manifest["systems"]["nllb-ct2-int8"]["directions"]["zh-en"]
    assert (nllb["src_code"], nllb["tgt_code"], nllb["quantization"]) == (
        "zho_Hans", "eng_Latn", "int8")

    def hyps(name):
        lines = (run_dir / "hypotheses" / f"{name}.jsonl").read_text(encoding="utf-8")
        return [json.loads(line)["hyp"] for line in lines.splitlines()]

    assert hyps("marian-ct2") == hyps("marian-hf") and any(hyps("marian-ct2"))
    assert manifest["results"]["sample"]["marian-ct2"]["timing"]["split_segments"] >= 1

    # a second run is served from the cache and converts nothing
    assert main(["run", str(run_config), "--no-progress", "--overwrite"]) == 0
    again = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in ["marian-ct2", "nllb-ct2-int8"]:
        timing = again["results"]["sample"][name]["timing"]
        assert timing["calls"] == 0 and timing["cached_pieces"] == timing["pieces"]
        assert again["systems"][name]["directions"]["zh-en"]["stats"]["conversions"] == 0


# --- the speed benchmark (scripts/bench/translate.py) -------------------------------------

def _bench_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "scripts" / "bench" / "translate.py"
    spec = importlib.util.spec_from_file_location("bench_translate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the config annotations through it
    spec.loader.exec_module(module)
    return module


def test_bench_paragraphs_are_seeded_and_long_tailed():
    bench = _bench_module()
    texts = bench.paragraphs(300, 1)
    assert texts == bench.paragraphs(300, 1) and texts != bench.paragraphs(300, 2)
    lengths = sorted(len(t) for t in texts)
    assert lengths[0] >= 10 and lengths[-1] <= 300
    median = lengths[len(lengths) // 2]
    assert 40 <= median <= 80 and lengths[-1] > 3 * median  # log-normal, median 60


def test_bench_engines_decode_exactly_the_limit(tiny_marian, convert_dir):
    """Every engine must do the same work: min = max length, so no segment stops early."""
    bench = _bench_module()
    options = {"max_new_tokens": 30, "max_length_ratio": 0.5, "max_length_offset": 2}
    ct2 = bench.FixedCT2(CTranslate2Config(name="c", model=str(tiny_marian), num_beams=1,
                                           convert_dir=str(convert_dir), device="cpu",
                                           **options), src_lang="zh", tgt_lang="en")
    spy = BatchSpy(ct2)
    sources = ["我们今天去北京。天气很好，我们很高兴。", "好"]
    ct2.translate(sources)
    (call,) = spy.calls
    # hand-computed: limit = ceil(0.5 × source tokens) + 2 for the longest source
    longest = max(len(tokens) for tokens in call["source"])
    expected = math.ceil(0.5 * longest) + 2
    assert call["min_decoding_length"] == call["max_decoding_length"] == expected
    results = spy.real(call["source"], None, **{k: v for k, v in call.items()
                                                 if k not in ("source", "target_prefix")})
    assert [len(r.hypotheses[0]) for r in results] == [expected, expected]
    hf = bench.FixedHF(bench.FixedHFConfig(name="h", model=str(tiny_marian), num_beams=1,
                                           device="cpu", **options),
                       src_lang="zh", tgt_lang="en")
    kwargs = hf.generation_kwargs(expected)
    assert kwargs["min_new_tokens"] == kwargs["max_new_tokens"] == expected


@pytest.mark.slow
def test_bench_script_runs(tmp_path):
    import subprocess

    out = tmp_path / "bench.json"
    script = __import__("pathlib").Path(__file__).parents[2] / "scripts/bench/translate.py"
    proc = subprocess.run([sys.executable, str(script), "--smoke", "--segments", "5",
                           "--ratio", "0.1",
                           "--workdir", str(tmp_path / "work"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["seconds"]) == {"naive", "hf-seq2seq", "ctranslate2-float32",
                                      "ctranslate2-int8"}
    assert result["settings"]["segments"] == 5 and not result["errors"]
    assert result["ratios"]["rerun/first-run"] < 1
    assert "hf-seq2seq/naive" in proc.stdout
