"""Build tiny random COMET checkpoints and score data with unbabel-comet's own predict.

Run with the COMET environment's interpreter (it imports comet):
    python tiny_comet.py OUT_DIR DATA_JSON
DATA_JSON: {"sources": [...], "references": [...], "systems": {name: [hyp, ...]}}.
Writes OUT_DIR/<kind>/ (hparams.yaml, checkpoints/model.ckpt, encoder/ with a
tokenizer trained on the data and a tiny XLM-R config) for kind in
regression, unified (QE: input_segments mt+src), xcomet, and
OUT_DIR/expected.json: kind -> system -> {"scores": [...], "error_spans": [...]}
from load_from_checkpoint(..., local_files_only=True).predict(...).
"""

import json
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from comet import load_from_checkpoint
from comet.models import RegressionMetric, UnifiedMetric, XCOMETMetric
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_encoder(folder: Path, lines: list[str]) -> None:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(lines, trainers.UnigramTrainer(
        vocab_size=300, special_tokens=SPECIALS, unk_token="<unk>"))
    tok.post_processor = processors.RobertaProcessing(sep=("</s>", 2), cls=("<s>", 0))
    fast = XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=126)
    fast.save_pretrained(folder)
    XLMRobertaConfig(vocab_size=len(fast), hidden_size=16, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=130, pad_token_id=1, bos_token_id=0,
                     eos_token_id=2).save_pretrained(folder)


COMMON = dict(encoder_model="XLM-RoBERTa", load_pretrained_weights=False,
              local_files_only=True, hidden_sizes=[16], dropout=0.1)
KINDS = {
    "regression": ("regression_metric", RegressionMetric,
                   dict(layer="mix", layer_transformation="sparsemax", layer_norm=False,
                        pool="avg")),
    "unified": ("unified_metric", UnifiedMetric,
                dict(sent_layer="mix", layer_transformation="sparsemax", layer_norm=True,
                     word_layer=2, input_segments=["mt", "src"])),
    "xcomet": ("xcomet_metric", XCOMETMetric,
               dict(sent_layer="mix", layer_transformation="sparsemax", layer_norm=False,
                    word_layer=2)),
}


def _centre_tagger(model, data) -> None:
    """Make the random span tagger's decision depend on the token.

    Tiny random encoders give every subword nearly the same hidden state, so
    one label wins everywhere and no span is ever closed. Centring the tagger
    on the mean hidden state of the data (bias = -W·mean) and sharpening it
    makes tags vary token by token, so some error spans are decoded.
    """
    seen = []
    hook = model.hidden2tag.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    samples = [{"src": s, "mt": h, "ref": r} for hs in data["systems"].values()
               for s, h, r in zip(data["sources"], hs, data["references"], strict=False)]
    model.eval()
    with torch.no_grad():
        for part in model.prepare_for_inference(samples):
            model.forward(**part)
        hook.remove()
        mean = torch.cat([x.reshape(-1, x.shape[-1]) for x in seen]).mean(0)
        model.hidden2tag.weight.mul_(30.0)
        model.hidden2tag.bias.copy_(-model.hidden2tag.weight @ mean)


def main(out: Path, data: dict) -> None:
    lines = data["sources"] + data["references"] + [h for hs in data["systems"].values()
                                                    for h in hs]
    expected = {}
    for kind, (identifier, cls, extra) in KINDS.items():
        folder = out / kind
        (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
        build_encoder(folder / "encoder", lines)
        torch.manual_seed(1 + len(expected))
        hparams = {**COMMON, **extra, "pretrained_model": str(folder / "encoder")}
        model = cls(**hparams)
        if kind == "xcomet":  # random but non-trivial span decisions
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p) * 0.5)
            _centre_tagger(model, data)
        saved = {**hparams, "class_identifier": identifier}
        (folder / "hparams.yaml").write_text(yaml.safe_dump(saved))
        torch.save({"state_dict": model.state_dict(), "hyper_parameters": saved,
                    "pytorch-lightning_version": pl.__version__,
                    "epoch": 0, "global_step": 0},
                   folder / "checkpoints" / "model.ckpt")
        loaded = load_from_checkpoint(str(folder / "checkpoints" / "model.ckpt"),
                                      local_files_only=True)
        expected[kind] = {}
        samples = [{"src": src, "mt": h, **({"ref": r} if kind != "unified" else {})}
                   for hyps in data["systems"].values()
                   for src, h, r in zip(data["sources"], hyps, data["references"], strict=True)]
        pred = loaded.predict(samples, batch_size=4, gpus=0, progress_bar=False)
        meta = pred.get("metadata") or {}
        n = len(data["sources"])
        for k, system in enumerate(data["systems"]):
            row = {"scores": [float(x) for x in pred.scores[k * n:(k + 1) * n]]}
            if "error_spans" in meta:
                row["error_spans"] = meta["error_spans"][k * n:(k + 1) * n]
            expected[kind][system] = row
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main(Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()))
