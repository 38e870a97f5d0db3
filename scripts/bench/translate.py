"""Benchmark: translation speed of evalmt's engines on the real opus-mt-zh-en architecture.

Builds a MarianMT model with the dimensions of Helsinki-NLP/opus-mt-zh-en
(vocabulary 65,001, d_model 512, 6+6 layers, 8 heads, FFN 2048, 512
positions) with seeded random weights, a Marian tokenizer over a SentencePiece
model trained on synthetic Chinese (its vocabulary padded to 65,001 entries),
and N synthetic Chinese paragraphs with long-tailed lengths (10-300 characters,
log-normal, seeded). Every segment must produce exactly
``ceil(ratio × source tokens) + 2`` target tokens (min = max length, so no engine
stops early and all do the same work); a batch decodes as long as its longest
segment, as real decoding does. Target tokens/s, all measured in one run:

1. naive loop: ``model.generate`` on batches of 16 in input order;
2. the ``hf-seq2seq`` system through ``evalmt run`` (evalmt.translate's
   length-sorted, token-budget batching);
3. the ``ctranslate2`` system through evalmt.translate, float32 and int8 on CPU
   (float16 and int8_float16 on CUDA).

Prints the ratios 2/1 and 3/2. Rerun cost: the ``evalmt run`` of step 2 is
run a second time (same config, same cache) and the ratio second/first is printed.

    python scripts/bench/translate.py [--device cpu|cuda] [--segments 500] [--quick]
                                      [--ratio 0.5] [--beams 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from evalmt.systems.base import SYSTEMS
from evalmt.systems.ct2 import CTranslate2Config, CTranslate2System
from evalmt.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem

#: Helsinki-NLP/opus-mt-zh-en's config.json, weights aside.
OPUS_MT_ZH_EN = dict(
    vocab_size=65001, d_model=512, encoder_layers=6, decoder_layers=6,
    encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
    decoder_ffn_dim=2048, max_position_embeddings=512, activation_function="swish",
    scale_embedding=True, static_position_embeddings=True, share_encoder_decoder_embeddings=True,
    pad_token_id=65000, eos_token_id=0, decoder_start_token_id=65000, bad_words_ids=[[65000]],
)
#: --smoke: the same vocabulary and tokenizer, a tiny network (1+1 layers, d_model 64), so
#: the test suite can run the script end to end in seconds; its numbers mean nothing.
SMOKE = dict(d_model=64, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
             decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128)
NAIVE_BATCH = 16
LENGTH_OFFSET = 2
#: Models already in memory, by directory: the hf-seq2seq run reuses the naive loop's weights,
#: so neither timing includes loading 300 MB.
_LOADED: dict[str, Any] = {}


# --- synthetic data and model --------------------------------------------------------------

def paragraphs(n: int, seed: int) -> list[str]:
    """``n`` Chinese-looking paragraphs: Zipfian words, commas, full stops, log-normal lengths."""
    rng = random.Random(seed)
    hanzi = [chr(0x4E00 + i) for i in range(3000)]
    hanzi_cum = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(hanzi))))
    words = ["".join(rng.choices(hanzi, cum_weights=hanzi_cum, k=rng.choice((1, 2, 2, 2, 3))))
             for _ in range(8000)]
    word_cum = list(itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(words))))
    out = []
    for _ in range(n):
        target = min(300, max(10, int(rng.lognormvariate(math.log(60), 0.8))))
        text, sentence = "", 0
        for word in rng.choices(words, cum_weights=word_cum, k=target):
            if len(text) >= target - 1:
                break
            text += word
            sentence += len(word)
            if sentence > rng.randint(12, 40):
                text, sentence = text + "。", 0
            elif rng.random() < 0.08:
                text += "，"
        out.append(text[: target - 1] + "。")
    return out


def references(n: int, seed: int) -> list[str]:
    """English-looking references (only scoring needs them; they never reach a model)."""
    rng = random.Random(seed + 1)
    vocab = [f"w{i}" for i in range(2000)] + "the a of and to in is was".split() * 40
    return [" ".join(rng.choices(vocab, k=rng.randint(5, 60))) + "." for _ in range(n)]


def build_model(out_dir: Path, seed: int, spm_vocab: int, smoke: bool = False) -> Path:
    """Write the opus-mt-zh-en-shaped model and its tokenizer into ``out_dir`` (once)."""
    if (out_dir / "model.safetensors").is_file():
        return out_dir
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = out_dir / "_spm"
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(paragraphs(5000, seed + 7)) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(work / "spm"), vocab_size=spm_vocab,
        model_type="unigram", character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0,
        pad_id=-1, num_threads=os.cpu_count() or 1, minloglevel=2)
    proc = spm.SentencePieceProcessor(model_file=str(work / "spm.model"))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(proc.get_piece_size()):
        vocab.setdefault(proc.id_to_piece(i), len(vocab))
    # Pad to opus-mt-zh-en's size: the output layer, the largest matrix, keeps its real cost.
    filler = 0
    while len(vocab) < OPUS_MT_ZH_EN["vocab_size"] - 1:
        vocab.setdefault(f"▁x{filler}", len(vocab))
        filler += 1
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(source_spm=str(work / "spm.model"),
                                target_spm=str(work / "spm.model"),
                                vocab=str(work / "vocab.json"), source_lang="zh",
                                target_lang="en", model_max_length=512)
    torch.manual_seed(seed)
    model = MarianMTModel(MarianConfig(**{**OPUS_MT_ZH_EN, **(SMOKE if smoke else {})}))
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    return out_dir


# --- fixed-length systems ------------------------------------------------------------------

class FixedHFConfig(HFSeq2SeqConfig):
    """``hf-seq2seq`` options, registered as ``bench-hf-seq2seq``."""

    type: Literal["bench-hf-seq2seq"] = "bench-hf-seq2seq"  # type: ignore[assignment]


class FixedHF(HFSeq2SeqSystem):
    """hf-seq2seq that decodes every batch to exactly its length limit."""

    config_model = FixedHFConfig

    @property
    def model(self) -> Any:
        loaded = _LOADED.get(self.config.model)
        if self._model is None and loaded is not None:
            self._model, self._device = loaded
        return super().model

    def generation_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        return {**super().generation_kwargs(max_new_tokens), "min_new_tokens": max_new_tokens}


class FixedCT2(CTranslate2System):
    """ctranslate2 that decodes every batch to exactly its length limit."""

    def decoding_kwargs(self, max_decoding_length: int) -> dict[str, Any]:
        return {**super().decoding_kwargs(max_decoding_length),
                "min_decoding_length": max_decoding_length}


# --- engines -------------------------------------------------------------------------------

def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def naive_loop(model_dir: Path, texts: list[str], limits: list[int], *, device: str,
               dtype: str, beams: int) -> float:
    """``generate`` on batches of 16 in input order; return seconds (model load excluded)."""
    import torch
    from transformers import AutoTokenizer, MarianMTModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = MarianMTModel.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device)
    model.eval()
    _LOADED[str(model_dir)] = (model, device)

    def generate(batch: list[str], length: int) -> None:
        enc = tokenizer(batch, return_tensors="pt", padding=True, truncation=True,
                        max_length=512).to(device)
        with torch.inference_mode():
            model.generate(**enc, num_beams=beams, do_sample=False, min_new_tokens=length,
                           max_new_tokens=length, forced_eos_token_id=None)

    generate(texts[:2], 4)  # warm-up
    _sync(device)
    started = time.perf_counter()
    for i in range(0, len(texts), NAIVE_BATCH):
        generate(texts[i:i + NAIVE_BATCH], max(limits[i:i + NAIVE_BATCH]))
    _sync(device)
    return time.perf_counter() - started


def run_config(work: Path, model_dir: Path, texts: list[str], *, device: str, dtype: str,
               beams: int, ratio: float, batch_tokens: int) -> Path:
    """Write the data files and the ``evalmt run`` config of step 2."""
    (work / "src.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (work / "ref.txt").write_text("\n".join(references(len(texts), 1)) + "\n", encoding="utf-8")
    config = {
        "name": "bench-translate",
        "data": [{"name": "bench", "reader": "text", "source": "src.txt",
                  "references": ["ref.txt"], "src_lang": "zh", "tgt_lang": "en"}],
        "systems": [{"name": "hf", "type": "bench-hf-seq2seq", "model": str(model_dir),
                     "device": device, "dtype": dtype, "num_beams": beams,
                     "max_new_tokens": 512, "max_length_ratio": ratio,
                     "max_length_offset": LENGTH_OFFSET, "batch_tokens": batch_tokens}],
        "metrics": ["bleu", "chrf"],
        "output": str(work / "results"),
        "cache": str(work / "cache.sqlite"),
    }
    path = work / "bench.json"  # JSON is YAML
    path.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def evalmt_run(config: Path) -> tuple[float, dict[str, Any]]:
    """``evalmt run CONFIG --overwrite`` in this process; return seconds and the manifest."""
    from evalmt.cli import main as cli

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the score table; results are on disk
        code = cli(["run", str(config), "--overwrite", "--no-progress"])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"evalmt run failed with exit code {code}")
    manifest = json.loads((config.parent / "results" / "bench-translate" / "manifest.json")
                          .read_text(encoding="utf-8"))
    return seconds, manifest


def ct2_engine(model_dir: Path, texts: list[str], *, compute_type: str, device: str,
               beams: int, ratio: float, batch_tokens: int, convert_dir: Path,
               threads: int) -> float:
    """The ctranslate2 system through evalmt.translate; return seconds (conversion excluded)."""
    from evalmt.translate import translate_segments

    config = CTranslate2Config(
        name=f"ct2-{compute_type}", model=str(model_dir), convert_dir=str(convert_dir),
        compute_type=compute_type, device=device, num_beams=beams, max_new_tokens=512,
        max_length_ratio=ratio, max_length_offset=LENGTH_OFFSET, batch_tokens=batch_tokens,
        intra_threads=threads if device == "cpu" else 0)
    system = FixedCT2(config, src_lang="zh", tgt_lang="en")
    system.translate(texts[:2])  # converts (once, cached) and loads; warm-up
    outcome = translate_segments(system, texts, cache=None, batch_tokens=batch_tokens,
                                 progress=False)
    if len(outcome.hypotheses) != len(texts):
        raise SystemExit("ctranslate2 returned the wrong number of outputs")
    return outcome.seconds


def machine(device: str) -> dict[str, Any]:
    """What the numbers were measured on."""
    import ctranslate2
    import torch
    import transformers

    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "ctranslate2": ctranslate2.__version__}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    if hasattr(os, "getloadavg"):
        info["load_average_after"] = os.getloadavg()  # a shared machine skews timings
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--segments", type=int, default=None,
                    help="default 500 on cuda, 200 on cpu (fits ~10 minutes on 2 cores)")
    ap.add_argument("--quick", action="store_true", help="48 segments, for smoke tests")
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny network instead of opus-mt's (tests only: numbers mean nothing)")
    ap.add_argument("--ratio", type=float, default=0.5,
                    help="target tokens per source token (fixed output length)")
    ap.add_argument("--beams", type=int, default=1, help="1: greedy (the default)")
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the model, data and results go (default: a temp dir; the "
                         "model is reused when the folder already holds it)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()
    n = 48 if args.quick else args.segments or (500 if args.device == "cuda" else 200)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    threads = torch.get_num_threads()
    dtype = "float16" if args.device == "cuda" else "float32"
    compute_types = ["float16", "int8_float16"] if args.device == "cuda" else ["float32", "int8"]
    if "bench-hf-seq2seq" not in SYSTEMS:
        SYSTEMS.add("bench-hf-seq2seq", FixedHF)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="evalmt-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model_dir = build_model(work / ("smoke" if args.smoke else "opus-mt-zh-en-random"),
                            args.seed, spm_vocab=8000, smoke=args.smoke)
    build_seconds = time.perf_counter() - t0
    texts = paragraphs(n, args.seed)
    sizer = FixedHF(FixedHFConfig(name="sizer", model=str(model_dir), max_new_tokens=512,
                                  max_length_ratio=args.ratio, max_length_offset=LENGTH_OFFSET,
                                  device="cpu"), src_lang="zh", tgt_lang="en")
    src_tokens = [sizer.num_tokens(t) for t in texts]
    limits = [sizer.output_limit(k) for k in src_tokens]
    target_tokens = sum(limits)
    print(f"model built in {build_seconds:.1f}s at {model_dir}; {n} segments, "
          f"{sum(map(len, texts))} chars, {sum(src_tokens)} source tokens, "
          f"{target_tokens} target tokens (ratio {args.ratio}), beams {args.beams}, "
          f"device {args.device}, {threads} threads", flush=True)

    seconds: dict[str, float] = {}
    seconds["naive"] = naive_loop(model_dir, texts, limits, device=args.device, dtype=dtype,
                                  beams=args.beams)
    print(f"naive loop: {seconds['naive']:.1f}s", flush=True)
    config = run_config(work, model_dir, texts, device=args.device, dtype=dtype,
                        beams=args.beams, ratio=args.ratio, batch_tokens=args.batch_tokens)
    (work / "cache.sqlite").unlink(missing_ok=True)
    first_run, manifest = evalmt_run(config)
    timing = manifest["results"]["bench"]["hf"]["timing"]
    if timing["translated_pieces"] != n:
        raise SystemExit(f"hf-seq2seq translated {timing['translated_pieces']} of {n} segments")
    seconds["hf-seq2seq"] = timing["seconds"]
    print(f"hf-seq2seq (evalmt run, first): {seconds['hf-seq2seq']:.1f}s translating, "
          f"{first_run:.1f}s whole run", flush=True)
    second_run, again = evalmt_run(config)
    if again["results"]["bench"]["hf"]["timing"]["calls"] != 0:
        raise SystemExit("the second evalmt run called the model")
    print(f"evalmt run, second (all cached): {second_run:.2f}s", flush=True)
    _LOADED.clear()
    errors: dict[str, str] = {}
    for compute_type in compute_types:
        key = f"ctranslate2-{compute_type}"
        try:
            seconds[key] = ct2_engine(model_dir, texts, compute_type=compute_type,
                                      device=args.device, beams=args.beams, ratio=args.ratio,
                                      batch_tokens=args.batch_tokens, convert_dir=work / "ct2",
                                      threads=threads)
        except Exception as exc:  # e.g. a CTranslate2 wheel built for another CUDA major
            errors[key] = f"{type(exc).__name__}: {exc}"
            print(f"{key}: FAILED {errors[key]}", flush=True)
            continue
        print(f"{key}: {seconds[key]:.1f}s", flush=True)

    rates = {k: target_tokens / v for k, v in seconds.items()}
    ratios = {"hf-seq2seq/naive": rates["hf-seq2seq"] / rates["naive"]}
    for key in seconds:
        if key.startswith("ctranslate2-"):
            ratios[f"{key}/hf-seq2seq"] = rates[key] / rates["hf-seq2seq"]
    ratios["rerun/first-run"] = second_run / first_run
    print("\nengine                      seconds   target tok/s")
    for key in seconds:
        print(f"{key:26s} {seconds[key]:9.2f} {rates[key]:12.1f}")
    targets = {"hf-seq2seq/naive": 1.5, f"ctranslate2-{compute_types[1]}/hf-seq2seq": 3.5}
    for name, value in ratios.items():
        verdict = ""
        if name == "rerun/first-run":
            verdict = f"  (target <= 1/50: {'met' if value <= 1 / 50 else 'MISSED'})"
        elif name in targets:
            met = "met" if value >= targets[name] else "MISSED"
            verdict = f"  (target >= {targets[name]}: {met})"
        print(f"{name:32s} {value:8.3f}{verdict}")
    result = {"machine": machine(args.device),
              "settings": {"segments": n, "ratio": args.ratio, "length_offset": LENGTH_OFFSET,
                           "beams": args.beams, "batch_tokens": args.batch_tokens,
                           "device": args.device, "hf_dtype": dtype, "seed": args.seed,
                           "source_tokens": sum(src_tokens), "target_tokens": target_tokens,
                           "threads": threads},
              "seconds": seconds, "target_tokens_per_second": rates, "ratios": ratios,
              "evalmt_run_seconds": {"first": first_run, "second": second_run},
              "errors": errors}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
