"""Benchmark: plain sacrebleu corpus_score vs evalmt's full scoring, in one run.

5 systems × 2,000 segments × 100 documents (synthetic, seeded), BLEU + chrF.
(a) sacrebleu ``corpus_score`` once per system and metric;
(b) ``evalmt.metrics.score_systems``: corpus + per-document + per-segment
    scores + 1000-sample bootstrap CIs + all-pairs paired bootstrap (1000).
Prints both times and the ratio b/a.

    python scripts/bench/scoring.py [--systems 5] [--segments 2000] [--docs 100]
"""

import argparse
import platform
import random
import time

from sacrebleu.metrics import BLEU, CHRF

from evalmt.metrics import ConfidenceOptions, SignificanceOptions, build_metrics, score_systems
from evalmt.metrics.sacrebleu_adapter import FastChrfStatistics

WORDS = [f"w{i}" for i in range(3000)] + "the a of and to in is was , .".split() * 50


def corpus(seed: int, n_systems: int, n: int, n_docs: int):
    rng = random.Random(seed)
    refs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))) for _ in range(n)]

    def noisy(text: str, rate: float) -> str:
        return " ".join(rng.choice(WORDS) if rng.random() < rate else w for w in text.split())

    hyps = {f"sys{k}": [noisy(r, 0.2 + 0.05 * k) for r in refs] for k in range(n_systems)}
    doc_ids = [f"doc{i * n_docs // n:03d}" for i in range(n)]
    return hyps, [refs], doc_ids, [str(i) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", type=int, default=5)
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    hyps, refs, doc_ids, seg_ids = corpus(args.seed, args.systems, args.segments, args.docs)

    t0 = time.perf_counter()
    plain = {}
    for system, lines in hyps.items():
        for metric in (BLEU(), CHRF()):
            score = metric.corpus_score(lines, refs)
            plain[(system, score.name)] = score.score
    t_a = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu", "chrf"], tgt_lang="en"),
                           confidence=ConfidenceOptions(samples=1000),
                           significance=SignificanceOptions(method="paired-bootstrap",
                                                            samples=1000))
    t_b = time.perf_counter() - t0

    worst = max(abs(r.score - plain[(r.system, r.metric)]) for r in report.corpus)
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"python {platform.python_version()}")
    print(f"data: {args.systems} systems x {args.segments} segments x {args.docs} documents, "
          "BLEU + chrF")
    print(f"(a) sacrebleu corpus_score per system and metric: {t_a:.3f} s")
    print(f"(b) evalmt corpus+documents+segments+CI(1000)+all-pairs paired-bs(1000): "
          f"{t_b:.3f} s  [{len(report.documents)} document scores, "
          f"{len(report.segments)} segment scores, {len(report.pairwise)} tests]")
    print(f"max |corpus score difference| vs sacrebleu: {worst:.2e}")
    print(f"b/a = {t_b / t_a:.3f}")

    # Stretch: chrF statistics extraction alone (references cached in both).
    metric = CHRF(references=refs)
    t0 = time.perf_counter()
    slow = [metric._extract_corpus_statistics(lines, None) for lines in hyps.values()]
    t_slow = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast_extractor = FastChrfStatistics.build(metric, refs)
    fast = [fast_extractor.statistics(lines) for lines in hyps.values()]
    t_fast = time.perf_counter() - t0
    print(f"chrF statistics, {args.systems} systems: sacrebleu {t_slow:.3f} s, evalmt "
          f"{t_fast:.3f} s (incl. reference indexing), identical: {slow == fast}, "
          f"speed-up x{t_slow / t_fast:.1f}")


if __name__ == "__main__":
    main()
