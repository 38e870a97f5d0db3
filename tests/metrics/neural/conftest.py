"""Tiny neural checkpoints built once per session, offline, loaded through the real paths."""

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATA = {
    "sources": ["我们去公园散步", "他喜欢读书", "今天天气很好", "猫在桌子上", "我们去公园散步",
                "这本书很有意思"],
    "references": ["We went for a walk in the park", "He likes reading books",
                   "The weather is nice today", "The cat is on the table",
                   "We walk in the park", "This book is very interesting"],
    "systems": {
        "a": ["We go to the park for a walk", "He likes to read", "Today the weather is good",
              "A cat on the table", "We go to the park for a walk", "This book is fun"],
        "b": ["We walk park", "He like book", "Weather good today nice", "Cat is on table",
              "We walk park", "Book interesting very"],
        "c": ["We go to the park for a walk", "He reads", "Nice weather", "The cat is on the table",
              "We walk in the park", "An interesting book"],
    },
}


@pytest.fixture(scope="session")
def tiny_data():
    return DATA


def _lines():
    return DATA["sources"] + DATA["references"] + [h for hs in DATA["systems"].values()
                                                   for h in hs]


@pytest.fixture(scope="session")
def tiny_metricx(tmp_path_factory):
    """A random 1-layer mT5 whose vocabulary covers id 250089, with a trained tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import MT5Config, MT5ForConditionalGeneration, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("metricx")
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator([f"source: {s} candidate: reference:" for s in _lines()],
                            trainers.UnigramTrainer(vocab_size=200, unk_token="<unk>",
                                                    special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>",
                                                       special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(0)
    config = MT5Config(vocab_size=250112, d_model=8, d_kv=4, d_ff=16, num_layers=1,
                       num_decoder_layers=1, num_heads=2, pad_token_id=0, eos_token_id=1,
                       decoder_start_token_id=0, tie_word_embeddings=False)
    model = MT5ForConditionalGeneration(config)
    with torch.no_grad():  # scores spread over [0, 25] and beyond, so clamping is exercised
        model.lm_head.weight[250089] = torch.randn(8) * 40
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def comet_python():
    from testkit.tools import missing

    from evalmt.metrics.comet_env import default_python

    python = default_python(os.environ)
    if not python.exists():  # a skip here, a failure in CI (EVALMT_REQUIRE_TOOLS=1)
        missing(f"COMET environment not set up ({python}): run `evalmt setup comet`")
    return python


@pytest.fixture(scope="session")
def tiny_comet(comet_python, tmp_path_factory):
    """Regression, unified (QE) and XCOMET tiny checkpoints + unbabel's predict on DATA."""
    folder = tmp_path_factory.mktemp("comet")
    data = folder / "data.json"
    data.write_text(json.dumps(DATA), encoding="utf-8")
    subprocess.run([str(comet_python), str(HERE / "tiny_comet.py"), str(folder), str(data)],
                   check=True, capture_output=True, timeout=900)
    return folder, json.loads((folder / "expected.json").read_text())
