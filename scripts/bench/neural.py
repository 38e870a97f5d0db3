"""Neural metric speed: unbabel-comet's predict per system vs evalmt's COMET worker.

    python scripts/bench/neural.py [--segments 8] [--systems 15] [--batch-size 8]

Needs the COMET venv (``evalmt setup comet``) and ../shared/data/wmt23-zh-en
(the WMT23 zh-en test set and system outputs; skipped with a message when
absent). A COMET regression model with the real wmt22-comet-da architecture
(XLM-R large, random weights; see neural_predict.py) scores the first N
segments of 15 WMT23 systems:

(a) unbabel-comet: ``load_from_checkpoint`` once, then ``predict`` per system;
(b) evalmt: ``score_systems`` with the ``comet`` metric — one worker process
    (started, model loaded, inputs deduplicated across systems, each distinct
    source and reference embedded once), scores into an empty cache;
(c) evalmt again with a fresh metric on the same cache (a rerun).

Prints max |score difference| between (a) and (b), (a)/(b) and (c)/(b).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data" / "wmt23-zh-en"
PREFIX = "generaltest2023.zh-en"


def read(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=8)
    ap.add_argument("--systems", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--python", help="COMET interpreter (default: evalmt setup comet's venv)")
    args = ap.parse_args()
    if not (DATA / f"{PREFIX}.src.zh").is_file():
        print(f"skipped: {DATA} not found (WMT23 zh-en data)")
        return 0
    from evalmt.metrics import build_metrics, score_systems
    from evalmt.metrics.comet_env import default_python

    python = args.python or str(default_python(os.environ))
    n = args.segments
    names = sorted(p.name.split(".hyp.")[1][:-3] for p in DATA.glob(f"{PREFIX}.hyp.*.en"))
    names = names[:args.systems]
    data = {"sources": read(f"{PREFIX}.src.zh")[:n],
            "references": read(f"{PREFIX}.ref.refA.en")[:n],
            "systems": {s: read(f"{PREFIX}.hyp.{s}.en")[:n] for s in names}}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="evalmt-bench-neural-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "data.json").write_text(json.dumps(data, ensure_ascii=False))
    subprocess.run([python, str(Path(__file__).with_name("neural_predict.py")), str(work),
                    str(args.batch_size)], check=True)
    predict = json.loads((work / "predict.json").read_text())
    t_a = predict["load"] + sum(predict["times"].values())

    def evalmt_run() -> tuple[float, object, dict]:
        metric, = build_metrics(["comet"], tgt_lang="en", options={"comet": {
            "model": str(work / "model"), "python": python, "batch_size": args.batch_size,
            "local_files_only": True, "device": "cpu", "timeout": 3600}})
        metric.attach_cache(work / "segment_scores.sqlite")
        t0 = time.perf_counter()
        report = score_systems(hypotheses=data["systems"], references=[data["references"]],
                               sources=data["sources"], doc_ids=["d"] * n,
                               seg_ids=[str(i) for i in range(n)], metrics=[metric])
        elapsed = time.perf_counter() - t0
        metric.close()
        if report.unavailable:
            raise SystemExit(f"evalmt: {report.notes}")
        return elapsed, report, dict(metric.stats)

    (work / "segment_scores.sqlite").unlink(missing_ok=True)
    t_b, report, stats = evalmt_run()
    t_c, rerun, stats_c = evalmt_run()
    worst = max(abs(r.score - predict["scores"][r.system][i % n])
                for i, r in enumerate(report.segments))
    same = [r.score for r in rerun.segments] == [r.score for r in report.segments]
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}; model: wmt22-comet-da architecture (XLM-R large), "
          "random weights")
    print(f"data: {len(names)} WMT23 zh-en systems x {n} segments, batch size "
          f"{args.batch_size}; distinct triples {stats['unique']} of {stats['segments']}")
    print(f"(a) unbabel-comet load {predict['load']:.1f} s + predict per system "
          f"{sum(predict['times'].values()):.1f} s = {t_a:.1f} s")
    print(f"(b) evalmt comet worker (process start + load + scoring): {t_b:.1f} s")
    print(f"(c) evalmt rerun from the segment-score cache: {t_c:.3f} s "
          f"(scored {stats_c['scored']}, identical scores: {same})")
    print(f"max |score difference| (a) vs (b): {worst:.2e}")
    print(f"a/b = {t_a / t_b:.2f}   c/b = {t_c / t_b:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
