"""The null experiment: how often do evalmt's paired tests and cluster rules see a difference
between systems of EQUAL quality?

Real data: the first ``--segments`` segments of WMT23 zh→en (``../shared/data/wmt23-zh-en``),
reference refA, one submitted system (``--base``, default ONLINE-B). Per segment we make
``--variants`` noisy copies of that system's output (each word independently dropped,
replaced by a word of the system's vocabulary or followed by an inserted word, with
probability ``--noise`` in all); in every trial each of ``--systems`` systems takes, per
segment, a different copy drawn at random. The systems are therefore exchangeable: any
"significant" difference or cluster split is a false positive. Documents are blocks of
``--doc-size`` consecutive segments (the released text files carry no document ids;
consecutive lines come from the same document).

Per trial and metric (BLEU, chrF) it runs evalmt's own all-pairs code
(``evalmt.metrics.pairwise.compare_all_pairs``: approximate randomization, the centred
paired bootstrap and sacrebleu's paired bootstrap, on segment and document units) and
forms clusters with every rule: WMT rule × (Holm, Benjamini–Hochberg, no correction) × test,
and the old "worse than the cluster head" rule evalmt used before (for comparison). Scores
from summed statistics are computed vectorised (checked against sacrebleu below), so the
experiment runs in a few minutes on 2 cores.

Prints rejection rates at α = 0.05 (systems 1 vs 2) and split rates (more than one
cluster among the first 3 and all systems), each with a Wilson 95% interval.

    python scripts/bench/null.py [--trials 200] [--segments 300] [--systems 6]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from statsmodels.stats.proportion import proportion_confint

from evalmt.metrics.clusters import adjust_p_values, ranked, wmt_clusters
from evalmt.metrics.pairwise import compare_all_pairs
from evalmt.metrics.records import (
    APPROXIMATE_RANDOMIZATION,
    PAIRED_BOOTSTRAP,
    SACREBLEU_PAIRED_BOOTSTRAP,
    SignificanceOptions,
)
from evalmt.metrics.sacrebleu_adapter import FastChrfStatistics

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "wmt23-zh-en"
ALPHA = 0.05
TESTS = (APPROXIMATE_RANDOMIZATION, PAIRED_BOOTSTRAP, SACREBLEU_PAIRED_BOOTSTRAP)


def bleu_rows(sums: np.ndarray) -> np.ndarray:
    """Corpus BLEU (13a, exp smoothing, no effective order) of every row of summed statistics."""
    sums = np.asarray(sums, dtype=np.float64)
    sys_len, ref_len = sums[:, 0], sums[:, 1]
    correct, total = sums[:, 2:6], sums[:, 6:10]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0),
                      1.0)
        alive = np.cumprod(total > 0, axis=1).astype(bool)  # sacrebleu breaks at total == 0
        smooth = 2.0 ** np.cumsum((correct == 0) & alive, axis=1)
        prec = np.where(correct > 0, 100.0 * correct / total, 100.0 / (smooth * total))
        prec = np.where(alive, prec, 0.0)
        logs = np.where(prec > 0, np.log(np.where(prec > 0, prec, 1.0)), -9999999999.0)
    score = bp * np.exp(logs.sum(axis=1) / 4)
    return np.where(correct.any(axis=1), score, 0.0)


def chrf_rows(sums: np.ndarray, beta: float = 2.0) -> np.ndarray:
    """chrF (char order 6, β = 2, sacrebleu's effective-order averaging) of every row."""
    sums = np.asarray(sums, dtype=np.float64)
    hyp, ref, match = sums[:, 0::3], sums[:, 1::3], sums[:, 2::3]
    ok = (hyp > 0) & (ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(ok, match / np.where(hyp > 0, hyp, 1), 0.0)
        rec = np.where(ok, match / np.where(ref > 0, ref, 1), 0.0)
        order = ok.sum(axis=1)
        avg_p = np.where(order > 0, prec.sum(axis=1) / np.maximum(order, 1), 0.0)
        avg_r = np.where(order > 0, rec.sum(axis=1) / np.maximum(order, 1), 0.0)
        factor = beta ** 2
        f = np.where(avg_p + avg_r > 0,
                     100 * (1 + factor) * avg_p * avg_r / (factor * avg_p + avg_r), 0.0)
    return f


def noisy(rng: random.Random, text: str, vocab: list[str], rate: float) -> str:
    """Drop, replace or insert after each word with total probability ``rate``."""
    out = []
    for word in text.split():
        r = rng.random()
        if r < rate / 3:
            continue
        out.append(rng.choice(vocab) if r < 2 * rate / 3 else word)
        if 2 * rate / 3 <= r < rate:
            out.append(rng.choice(vocab))
    return " ".join(out)


def head_clusters(scores: dict[str, float], p: dict[frozenset, float]) -> dict[str, int]:
    """evalmt's rule before WMT clusters: a new cluster when worse than the head with p < α."""
    clusters, head, cluster = {}, None, 0
    for s in ranked(scores, higher_is_better=True):
        if head is None:
            head, cluster = s, 1
        elif scores[s] < scores[head] and p[frozenset((head, s))] < ALPHA:
            head, cluster = s, cluster + 1
        clusters[s] = cluster
    return clusters


def wilson(k: int, n: int) -> str:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    return f"{100 * k / n:5.1f}% [{100 * low:4.1f}, {100 * high:4.1f}]"


def run(*, data: Path = DATA, base: str = "ONLINE-B", trials: int = 200, segments: int = 300,
        doc_size: int = 10, systems: int = 6, variants: int = 12, noise: float = 0.3,
        samples: int = 1000, seed: int = 1, tests: tuple[str, ...] = TESTS,
        units: tuple[str, ...] = ("segment", "document"), progress: bool = False
        ) -> tuple[dict, dict, int]:
    """Run the experiment; return (p-values of systems 1 vs 2 per (metric, test, unit),
    split counts per (metric, rule, number of systems), number of documents)."""
    ref_path = data / "generaltest2023.zh-en.ref.refA.en"
    hyp_path = data / f"generaltest2023.zh-en.hyp.{base}.en"
    if not ref_path.exists() or not hyp_path.exists():
        raise FileNotFoundError(f"{data} lacks WMT23 zh-en refA or {base} (see shared/data)")
    n = segments
    refs = ref_path.read_text(encoding="utf-8").split("\n")[:n]
    base_lines = hyp_path.read_text(encoding="utf-8").split("\n")[:n]
    rng = random.Random(seed)
    vocab = sorted({w for line in base_lines for w in line.split()})
    copies = [[noisy(rng, base_lines[i], vocab, noise) for i in range(n)]
              for _ in range(variants)]
    bleu, chrf = BLEU(references=[refs]), CHRF()
    fast = FastChrfStatistics.build(chrf, [refs])
    stats = {"BLEU": np.array([bleu._extract_corpus_statistics(v, None) for v in copies]),
             "chrF2": np.array([fast.statistics(v) if fast else
                                CHRF(references=[refs])._extract_corpus_statistics(v, None)
                                for v in copies])}
    rows = {"BLEU": bleu_rows, "chrF2": chrf_rows}
    # the vectorised scores must equal sacrebleu's arithmetic
    check = {"BLEU": bleu, "chrF2": chrf}
    for name, arr in stats.items():
        sums = arr.sum(axis=1)
        exact = np.array([check[name]._compute_score_from_stats(list(r)).score for r in sums])
        if not np.allclose(rows[name](sums), exact, atol=1e-9):
            raise AssertionError(f"vectorised {name} differs from sacrebleu's")
    documents = {f"d{j}": list(range(j * doc_size, min(n, (j + 1) * doc_size)))
                 for j in range((n + doc_size - 1) // doc_size)}
    names = [f"s{k}" for k in range(systems)]
    reject: dict = {}   # (metric, test, unit) -> [p per trial]
    splits: dict = {}   # (metric, rule, k) -> splits
    draw = np.random.default_rng(seed)
    started = time.perf_counter()
    for trial in range(trials):
        # per segment, distinct copies for the systems
        pick = np.argsort(draw.random((n, variants)), axis=1)[:, :systems]
        for metric, arr in stats.items():
            arrays = {s: arr[pick[:, k], np.arange(n)] for k, s in enumerate(names)}
            scores = {s: float(rows[metric](a.sum(0)[None])[0]) for s, a in arrays.items()}
            for unit in units:
                options = SignificanceOptions(method=tests[0], also=tests[1:], samples=samples,
                                              seed=trial + 1, unit=unit, correction="none")
                result = compare_all_pairs(
                    metric=metric, arrays=arrays, scores=scores, documents=documents,
                    options=options, score_rows=rows[metric], higher_is_better=True, unit=unit,
                    signature=lambda **_: "")
                for test in tests:
                    if test == SACREBLEU_PAIRED_BOOTSTRAP and unit == "document":
                        continue  # sacrebleu's test always resamples segments
                    p = {frozenset((t.system_a, t.system_b)): t.p_value
                         for t in result.tests if t.method == test}
                    reject.setdefault((metric, test, unit), []).append(p[frozenset(names[:2])])
                    for k in sorted({3, systems}):
                        sub = {s: scores[s] for s in names[:k]}
                        pairs = [frozenset(c) for c in combinations(names[:k], 2)]
                        rules = {"head rule, no correction": head_clusters(sub, p)}
                        for corr in ("holm", "bh", "none"):
                            adj = adjust_p_values([p[c] for c in pairs], corr)
                            rules[f"WMT rule, {corr}"] = wmt_clusters(
                                sub, {c: a < ALPHA for c, a in zip(pairs, adj, strict=True)},
                                higher_is_better=True)
                        for rule, clusters in rules.items():
                            key = (metric, f"{rule}: {test}, {unit}", k)
                            splits[key] = splits.get(key, 0) + (max(clusters.values()) > 1)
        if progress and trial % 20 == 19:
            print(f"  {trial + 1} trials, {time.perf_counter() - started:.0f} s", flush=True)
    return reject, splits, len(documents)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--base", default="ONLINE-B")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--segments", type=int, default=300)
    ap.add_argument("--doc-size", type=int, default=10)
    ap.add_argument("--systems", type=int, default=6)
    ap.add_argument("--variants", type=int, default=12)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--samples", type=int, default=1000,
                    help="AR trials and bootstrap resamples per test (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = time.perf_counter()
    try:
        reject, splits, n_docs = run(
            data=args.data, base=args.base, trials=args.trials, segments=args.segments,
            doc_size=args.doc_size, systems=args.systems, variants=args.variants,
            noise=args.noise, samples=args.samples, seed=args.seed, progress=True)
    except FileNotFoundError as exc:
        sys.exit(f"null.py: {exc}")
    t = args.trials
    print(f"\nNull experiment: WMT23 zh-en, {args.segments} segments ({n_docs} documents of "
          f"{args.doc_size}), base {args.base}, noise {args.noise}, {args.variants} copies per "
          f"segment, {args.systems} exchangeable systems, {t} trials, {args.samples} "
          f"trials/resamples per test, α = {ALPHA}.")
    print(f"Machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, numpy {np.__version__}; "
          f"{time.perf_counter() - started:.0f} s.\n")
    print("| metric | test | unit | rejections at α 0.05 [Wilson 95%] | mean p |")
    print("|---|---|---|---|---|")
    for (metric, test, unit), ps in reject.items():
        k = sum(p < ALPHA for p in ps)
        print(f"| {metric} | {test} | {unit} | {wilson(k, t)} | {np.mean(ps):.2f} |")
    print(f"\n| metric | cluster rule: test, unit | split, 3 systems | split, {args.systems} "
          "systems |")
    print("|---|---|---|---|")
    for (metric, rule, k), count in splits.items():
        if k == 3:
            print(f"| {metric} | {rule} | {wilson(count, t)} | "
                  f"{wilson(splits[(metric, rule, args.systems)], t)} |")


if __name__ == "__main__":
    main()
