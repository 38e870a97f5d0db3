"""COMET side of scripts/bench/neural.py (run with the COMET venv's interpreter).

    python neural_predict.py WORKDIR BATCH_SIZE

Builds WORKDIR/model (once): a COMET regression checkpoint with the real
wmt22-comet-da architecture — XLM-R large encoder (24 layers, hidden 1024,
16 heads, vocabulary 250002), sparsemax layer mix, average pooling, a
3072-1024 Tanh estimator — with random weights and a tokenizer trained on the
bench data. Then times unbabel-comet's own predict, one call per system, on
WORKDIR/data.json and writes WORKDIR/predict.json (load time, per-system
times and scores).
"""

import json
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from comet import load_from_checkpoint
from comet.models import RegressionMetric
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

HPARAMS = {  # wmt22-comet-da's hparams.yaml (architecture keys)
    "encoder_model": "XLM-RoBERTa", "pool": "avg", "layer": "mix",
    "layer_transformation": "sparsemax", "layer_norm": False, "hidden_sizes": [3072, 1024],
    "activations": "Tanh", "final_activation": None, "dropout": 0.1,
    "load_pretrained_weights": False, "local_files_only": True,
}


def build(folder: Path, lines: list) -> None:
    enc = folder / "encoder"
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(lines, trainers.UnigramTrainer(
        vocab_size=8000, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        unk_token="<unk>"))
    tok.post_processor = processors.RobertaProcessing(sep=("</s>", 2), cls=("<s>", 0))
    XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                            sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                            pad_token="<pad>", mask_token="<mask>",
                            model_max_length=512).save_pretrained(enc)
    XLMRobertaConfig(vocab_size=250002, hidden_size=1024, num_hidden_layers=24,
                     num_attention_heads=16, intermediate_size=4096,
                     max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                     bos_token_id=0, eos_token_id=2).save_pretrained(enc)
    torch.manual_seed(0)
    hparams = {**HPARAMS, "pretrained_model": str(enc)}
    model = RegressionMetric(**hparams)
    saved = {**hparams, "class_identifier": "regression_metric"}
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "hparams.yaml").write_text(yaml.safe_dump(saved))
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": saved,
                "pytorch-lightning_version": pl.__version__, "epoch": 0, "global_step": 0},
               folder / "checkpoints" / "model.ckpt")


def main(work: Path, batch_size: int) -> None:
    data = json.loads((work / "data.json").read_text())
    folder = work / "model"
    if not (folder / "checkpoints" / "model.ckpt").is_file():
        build(folder, data["sources"] + data["references"]
              + [h for hs in data["systems"].values() for h in hs])
    t0 = time.perf_counter()
    model = load_from_checkpoint(str(folder / "checkpoints" / "model.ckpt"),
                                 local_files_only=True)
    load = time.perf_counter() - t0
    times, scores = {}, {}
    for system, hyps in data["systems"].items():
        samples = [{"src": s, "mt": h, "ref": r}
                   for s, h, r in zip(data["sources"], hyps, data["references"], strict=True)]
        t0 = time.perf_counter()
        pred = model.predict(samples, batch_size=batch_size, gpus=0, progress_bar=False)
        times[system] = time.perf_counter() - t0
        scores[system] = [float(x) for x in pred.scores]
    (work / "predict.json").write_text(json.dumps({"load": load, "times": times,
                                                   "scores": scores}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
