"""Benchmark: plain sacrebleu corpus_score vs evalmt's full scoring, in one run.

5 systems × 2,000 segments × 100 documents (synthetic, seeded), BLEU + chrF.
(a) sacrebleu ``corpus_score`` once per system and metric;
(b) ``evalmt.metrics.score_systems``: corpus + per-document + per-segment
    scores + 1000-sample bootstrap CIs + all-pairs sacrebleu paired bootstrap (1000, the
    same resamples as the CIs, as before the default test changed).
Prints both times and the ratio b/a.

    python scripts/bench/scoring.py [--systems 5] [--segments 2000] [--docs 100]

``--wmt23`` runs the real job instead: the 15 WMT23 zh-en submissions × 1,976
segments (``../shared/data/wmt23-zh-en``, or ``--data FOLDER``) with BLEU, chrF,
chrF++ and TER; (a) is sacrebleu's plain ``corpus_score`` for each system and
metric, (b) evalmt's full scoring (corpus, documents, segments, 1000-sample CIs,
all-pairs paired bootstrap).

    python scripts/bench/scoring.py --wmt23
"""

import argparse
import platform
import random
import time
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF, TER

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


WMT23 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wmt23-zh-en"


def wmt23(folder: Path) -> None:
    """The real WMT23 zh-en job: ratio of evalmt's full scoring to plain corpus_score."""
    if not (folder / "generaltest2023.zh-en.ref.refA.en").is_file():
        raise SystemExit(f"WMT23 zh-en data not found in {folder} (give --data FOLDER)")
    refs = [(folder / "generaltest2023.zh-en.ref.refA.en").read_text("utf-8").splitlines()]
    srcs = (folder / "generaltest2023.zh-en.src.zh").read_text("utf-8").splitlines()
    hyps = {p.name.split(".hyp.")[1][:-3]: p.read_text("utf-8").splitlines()
            for p in sorted(folder.glob("generaltest2023.zh-en.hyp.*.en"))}
    n = len(refs[0])

    t0 = time.perf_counter()
    plain = {}
    for system, lines in hyps.items():
        for metric in (BLEU(), CHRF(), CHRF(word_order=2), TER()):
            score = metric.corpus_score(lines, refs)
            plain[(system, score.name)] = score.score
    t_a = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = score_systems(hypotheses=hyps, references=refs, sources=srcs,
                           doc_ids=["generaltest2023"] * n, seg_ids=[str(i) for i in range(n)],
                           metrics=build_metrics(["bleu", "chrf", "chrf++", "ter"],
                                                 tgt_lang="en"),
                           confidence=ConfidenceOptions(samples=1000),
                           significance=SignificanceOptions(method="paired-bootstrap",
                                                            samples=1000))
    t_b = time.perf_counter() - t0
    worst = max(abs(r.score - plain[(r.system, r.metric)]) for r in report.corpus)
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"python {platform.python_version()}")
    print(f"data: WMT23 zh-en, {len(hyps)} systems x {n} segments, BLEU + chrF + chrF++ + TER")
    print(f"(a) sacrebleu corpus_score per system and metric: {t_a:.1f} s")
    print(f"(b) evalmt corpus+segments+CI(1000)+all-pairs paired-bs(1000): {t_b:.1f} s  "
          f"[{len(report.segments)} segment scores, {len(report.pairwise)} tests]")
    print(f"max |corpus score difference| vs sacrebleu: {worst:.2e}")
    print(f"b/a = {t_b / t_a:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wmt23", action="store_true",
                    help="the real WMT23 zh-en job (15 systems x 1,976 segments, 4 metrics)")
    ap.add_argument("--data", type=Path, default=WMT23, help="with --wmt23: the data folder")
    ap.add_argument("--systems", type=int, default=5)
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.wmt23:
        wmt23(args.data)
        return
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
                           significance=SignificanceOptions(method="sacrebleu-paired-bootstrap",
                                                            samples=1000, unit="segment"))
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
