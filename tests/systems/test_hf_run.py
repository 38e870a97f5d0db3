"""A full ``evalmt run`` over the bundled sample page with the tiny HF models as systems."""

from __future__ import annotations

import json

import pytest
import yaml

from evalmt.cli import main


@pytest.fixture
def run_config(tmp_path, tiny_marian, tiny_nllb, tiny_mbart50, tiny_qwen2):
    config = {
        "name": "tiny-hf",
        "data": [{"name": "sample", "reader": "bilingual-txt", "path": "pkg://samples/*.txt",
                  "src_lang": "zh", "tgt_lang": "en", "clean": ["strip-pinyin"]}],
        "systems": [
            {"name": "copy-source", "type": "copy"},
            {"name": "marian", "type": "hf-seq2seq", "model": str(tiny_marian),
             "num_beams": 2, "max_new_tokens": 8, "batch_tokens": 256, "device": "cpu"},
            {"name": "nllb", "type": "hf-seq2seq", "model": str(tiny_nllb), "num_beams": 1,
             "max_new_tokens": 16, "max_length_ratio": 0.5, "device": "cpu"},
            {"name": "mbart", "type": "hf-seq2seq", "model": str(tiny_mbart50),
             "max_new_tokens": 8, "device": "cpu"},
            {"name": "llm", "type": "hf-causal", "model": str(tiny_qwen2), "max_new_tokens": 8,
             "max_input_tokens": 60, "device": "cpu",
             "few_shot": [{"source": "你好", "target": "Hello"}]},
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


def test_validate_accepts_hf_systems(run_config, capsys):
    assert main(["validate", str(run_config)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_rejects_bad_hf_options(run_config, tmp_path, capsys):
    assert main(["validate", str(run_config), "--set", "systems.1.num_beams=0",
                 "--set", "systems.4.prompt=Translate {text}"]) == 2
    err = capsys.readouterr().err
    assert "num_beams" in err and "prompt" in err


def test_full_run_with_tiny_models(run_config, tmp_path):
    assert main(["run", str(run_config), "--no-progress"]) == 0
    run_dir = tmp_path / "results" / "tiny-hf"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"

    systems = manifest["systems"]
    nllb = systems["nllb"]["directions"]["zh-en"]
    assert (nllb["family"], nllb["src_code"], nllb["tgt_code"]) == ("nllb", "zho_Hans",
                                                                    "eng_Latn")
    assert systems["mbart"]["directions"]["zh-en"]["tgt_code"] == "en_XX"
    assert systems["marian"]["directions"]["zh-en"]["family"] == "marian"
    assert all(systems[n]["directions"]["zh-en"]["device"] == "cpu"
               for n in ["marian", "nllb", "mbart", "llm"])
    llm = systems["llm"]["directions"]["zh-en"]
    assert llm["chat_template"] is True and llm["model_source"]["local"] is True

    results = manifest["results"]["sample"]
    n_segments = len((run_dir / "hypotheses" / "copy-source.jsonl").read_text(
        encoding="utf-8").splitlines())
    assert n_segments >= 1
    for name in ["marian", "nllb", "mbart", "llm"]:
        rows = (run_dir / "hypotheses" / f"{name}.jsonl").read_text(encoding="utf-8")
        assert len(rows.splitlines()) == n_segments
        assert results[name]["timing"]["split_segments"] >= 1  # sample paragraphs are long
    # cleanup counts reach the manifest: one per translated piece of the LLM
    assert llm["cleanup"]["outputs"] == results["llm"]["timing"]["translated_pieces"] > 0

    scores = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    assert {"marian", "nllb", "mbart", "llm", "copy-source"} <= set(json.dumps(scores).split('"'))

    # a second run is served from the cache: same fingerprints, no model call
    assert main(["run", str(run_config), "--no-progress", "--overwrite"]) == 0
    again = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for name in ["marian", "nllb", "mbart", "llm"]:
        timing = again["results"]["sample"][name]["timing"]
        assert timing["calls"] == 0 and timing["cached_pieces"] == timing["pieces"]
        assert again["results"]["sample"][name]["fingerprint"] == results[name]["fingerprint"]


@pytest.mark.parametrize("name", ["zh-en-opus-mt", "zh-en-nllb", "zh-en-llm", "zh-en-compare"])
def test_shipped_configs_validate_without_importing_torch(name):
    """``evalmt validate`` checks HF system configs with pydantic alone: no torch, no download."""
    import subprocess
    import sys
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / f"{name}.yaml"
    code = (
        "import sys\n"
        "from evalmt.cli import main\n"
        f"rc = main(['validate', {str(config)!r}])\n"
        "heavy = sorted({'torch', 'transformers'} & set(sys.modules))\n"
        "print('heavy:', heavy)\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
