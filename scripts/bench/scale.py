"""Benchmark: the ``local`` executor against ``ray`` with 1 and with N replicas, in one run.

Builds (once) the opus-mt-zh-en-shaped Marian model with seeded random weights
of ``scripts/bench/translate.py`` (vocabulary 65,001, d_model 512, 6+6 layers),
writes synthetic Chinese paragraphs, and runs the same evalmt config three
times from empty translation caches:

1. ``execution: {engine: local}``;
2. ``execution: {engine: ray, replicas: 1}`` — the cost of actors and batch
   round trips (target: ≤ 10% over local); the replica gets as many CPUs as
   the local process has, so both use the same number of torch threads;
3. ``execution: {engine: ray, replicas: N}`` (default 2) — each replica gets
   its share of the CPUs (on a GPU box: one GPU each with ``--gpus-per-replica 1``).

Each timing is the whole ``evalmt.runner.run`` (data, model loading in the
replicas, translation, scoring, report); starting Ray itself is timed apart.
It prints wall-clock seconds, ratios against ``local``, and checks that all
three runs wrote identical hypotheses.

    python scripts/bench/scale.py                  # 64 paragraphs, CPU
    python scripts/bench/scale.py --segments 512 --device cuda --gpus-per-replica 1 --replicas 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling translate.py

import translate as bench_translate  # noqa: E402

from evalmt.config import load_config  # noqa: E402
from evalmt.runner import RunOptions, run  # noqa: E402


def write_config(folder: Path, *, model: Path, engine: dict, args: argparse.Namespace,
                 name: str) -> Path:
    config = {
        "name": name,
        "data": [{"name": "synthetic", "reader": "jsonl", "path": str(folder / "data.jsonl"),
                  "doc_id_field": "doc_id", "src_lang": "zh", "tgt_lang": "en"}],
        "systems": [{"name": "opus-mt-shaped", "type": "hf-seq2seq", "model": str(model),
                     "num_beams": args.beams, "max_new_tokens": 256,
                     "max_length_ratio": args.ratio, "max_length_offset": 2,
                     "batch_tokens": args.batch_tokens, "device": args.device}],
        "metrics": ["bleu"], "confidence": None, "significance": None,
        "output": str(folder / "results"), "cache": str(folder / f"cache-{name}.sqlite"),
        "execution": engine,
    }
    path = folder / f"{name}.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def hypotheses(run_dir: Path) -> list[str]:
    path = run_dir / "hypotheses" / "opus-mt-shaped.jsonl"
    return [json.loads(line)["hyp"] for line in path.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=64)
    ap.add_argument("--replicas", type=int, default=2, help="replicas of the third run")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--gpus-per-replica", type=float, default=0)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1,
                    help="CPUs the local run uses and Ray gets (default: all)")
    ap.add_argument("--beams", type=int, default=1)
    ap.add_argument("--ratio", type=float, default=0.5, help="max_length_ratio")
    ap.add_argument("--batch-tokens", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep the model here between runs (default: a temporary folder)")
    args = ap.parse_args()

    import ray
    import torch

    torch.set_num_threads(args.cpus)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="evalmt-scale-"))
    model = bench_translate.build_model(base / "opus-mt-zh-en-random", args.seed, 8000)
    folder = base / f"run-{int(time.time())}"
    folder.mkdir(parents=True)
    sources = bench_translate.paragraphs(args.segments, args.seed)
    refs = bench_translate.references(args.segments, args.seed)
    (folder / "data.jsonl").write_text("".join(
        json.dumps({"doc_id": f"d{i // 8}", "src": s, "ref": r}, ensure_ascii=False) + "\n"
        for i, (s, r) in enumerate(zip(sources, refs, strict=True))), encoding="utf-8")

    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="warning",
             log_to_driver=False)
    ray_start = time.perf_counter() - started
    per_replica = max(1, args.cpus // args.replicas)
    engines = {
        "local": {"engine": "local"},
        "ray-1": {"engine": "ray", "replicas": 1, "cpus_per_replica": args.cpus,
                  "gpus_per_replica": args.gpus_per_replica},
        f"ray-{args.replicas}": {"engine": "ray", "replicas": args.replicas,
                                 "cpus_per_replica": per_replica,
                                 "gpus_per_replica": args.gpus_per_replica},
    }
    seconds, outputs = {}, {}
    try:
        for name, engine in engines.items():
            config = load_config(write_config(folder, model=model, engine=engine, args=args,
                                              name=name))
            t0 = time.perf_counter()
            result = run(config, RunOptions(progress=False))
            seconds[name] = time.perf_counter() - t0
            outputs[name] = hypotheses(result.run_dir)
    finally:
        ray.shutdown()

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"device {args.device}; torch {torch.__version__}, ray {ray.__version__}")
    print(f"{args.segments} paragraphs, opus-mt-zh-en-shaped random Marian, beams {args.beams}, "
          f"max_length_ratio {args.ratio}, batch_tokens {args.batch_tokens}")
    print(f"ray.init: {ray_start:.1f} s (not in the timings below)")
    print(f"{'engine':<8} {'seconds':>8} {'vs local':>9}")
    for name, secs in seconds.items():
        print(f"{name:<8} {secs:8.1f} {secs / seconds['local']:8.2f}×")
    one = seconds["ray-1"] / seconds["local"] - 1
    print(f"ray overhead with 1 replica: {one:+.1%} (target ≤ +10%)")
    print(f"speed-up of {args.replicas} replicas over 1: "
          f"{seconds['ray-1'] / seconds[f'ray-{args.replicas}']:.2f}×")
    same = all(o == outputs["local"] for o in outputs.values())
    print(f"identical hypotheses across engines: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
