"""All-pairs paired tests of one metric: units, resamples, p-values, Δ intervals, clusters.

``compare_all_pairs`` is what the scoring engine calls once per metric with
every system's per-segment statistics. It sums them into the test unit
(segments, or whole documents), draws each resampling once for all pairs,
runs the configured tests, adjusts the cluster-forming test's p-values for
multiplicity, forms WMT clusters and (optionally) bootstrap rank ranges.
Only a ``score_rows`` callable is needed from the metric, so any metric whose
score is a function of summed statistics works.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from evalmt.metrics.clusters import adjust_p_values, rank_ranges, wmt_clusters
from evalmt.metrics.records import (
    APPROXIMATE_RANDOMIZATION,
    MIN_DOCUMENTS,
    PAIRED_BOOTSTRAP,
    SACREBLEU_PAIRED_BOOTSTRAP,
    PairwiseTest,
    SignificanceOptions,
)
from evalmt.metrics.resample import bootstrap_indices, group_resampled_sums, resampled_sums
from evalmt.metrics.significance import (
    ScoreRows,
    approximate_randomization_p,
    ar_selectors,
    delta_interval,
    mc_error,
    paired_bootstrap_p,
    sacrebleu_paired_bootstrap_p,
)

CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no"}


def resolve_unit(options: SignificanceOptions, n_documents: int) -> tuple[str, str | None]:
    """Return the test unit for ``options.unit`` and this many documents, plus a note."""
    if options.unit == "document":
        note = (f"significance: the document-level tests resample only {n_documents} "
                f"document(s) (fewer than {MIN_DOCUMENTS})"
                if n_documents < MIN_DOCUMENTS else None)
        return "document", note
    if options.unit == "segment":
        return "segment", None
    if n_documents >= MIN_DOCUMENTS:
        return "document", None
    return "segment", (f"significance: only {n_documents} document(s) (< {MIN_DOCUMENTS}), so "
                       "the paired tests resample segments, assuming segments independent")


def cluster_rule(options: SignificanceOptions, unit: str, n_pairs: int) -> str:
    """One line saying which test, unit, correction and alpha formed the rank clusters."""
    method = options.method
    samples = options.samples_for(method)
    draws = "trials" if method == APPROXIMATE_RANDOMIZATION else "resamples"
    unit = "segment" if method == SACREBLEU_PAIRED_BOOTSTRAP else unit
    correction = CORRECTION_NAMES[options.correction]
    return (f"WMT rule (a boundary only where every system above significantly beats every "
            f"system below): {method}, {unit} unit, {samples} {draws}, {correction} correction "
            f"over {n_pairs} pair(s) per metric, α = {options.alpha:g}")


def resolution_note(options: SignificanceOptions, n_pairs: int) -> str | None:
    """Say when too few draws make every adjusted p-value reach alpha (nothing can separate).

    A Monte Carlo p-value is at least 1 / (N + 1); Holm multiplies the smallest
    by the number of pairs m, so it needs N + 1 > m / alpha.
    """
    draws = options.samples_for(options.method)
    factor = n_pairs if options.correction == "holm" else 1
    if factor / (draws + 1) < options.alpha:
        return None
    need = math.ceil(factor / options.alpha)
    return (f"significance: with {draws} draws no p-value is below 1/{draws + 1}; "
            f"{CORRECTION_NAMES[options.correction]} correction over {n_pairs} pair(s) then "
            f"leaves every adjusted p at or above α = {options.alpha:g}, so no two systems "
            f"can be separated (use samples >= {need})")


@dataclass(frozen=True)
class PairwiseResult:
    """Tests of every pair, clusters and rank ranges of one metric."""

    tests: tuple[PairwiseTest, ...]
    clusters: dict[str, int]
    rank_ranges: dict[str, tuple[int, int]] | None


def _unit_stats(arrays: Mapping[str, np.ndarray], unit: str,
                documents: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    if unit == "segment":
        return dict(arrays)
    return {s: np.stack([a[list(idx)].sum(0) for idx in documents.values()])
            for s, a in arrays.items()}


def _bootstrap(unit_stats: Mapping[str, np.ndarray], float32: bool, samples: int,
               seed: int | None, score_rows: ScoreRows) -> dict[str, np.ndarray]:
    """Every system's scores on the same resamples of units (float32 sums as sacrebleu's)."""
    n = len(next(iter(unit_stats.values())))
    idxs = bootstrap_indices(n, samples, seed)
    resum = resampled_sums if float32 else group_resampled_sums
    return {s: score_rows(resum(a, idxs)) for s, a in unit_stats.items()}


def compare_all_pairs(*, metric: str, arrays: Mapping[str, np.ndarray],
                      scores: Mapping[str, float], documents: Mapping[str, Sequence[int]],
                      options: SignificanceOptions, score_rows: ScoreRows,
                      higher_is_better: bool, unit: str,
                      signature: Callable[..., str], float32: bool = False,
                      segment_bootstrap: Mapping[str, np.ndarray] | None = None
                      ) -> PairwiseResult:
    """Run every configured test on every pair of systems of one metric.

    ``arrays`` are per-segment statistics (n × k) per system, ``documents``
    the segment indices of each document, ``unit`` from ``resolve_unit``.
    ``segment_bootstrap`` may pass the CI's segment bootstrap scores when
    they were drawn with the same samples and seed (they are reused).
    ``signature(**extra)`` formats the metric signature with test fields.
    ``float32`` sums resampled segment statistics in float32 as sacrebleu does
    (sacrebleu metrics: bit-identical to ``sacrebleu.significance``).
    """
    systems = list(arrays)
    pairs = list(combinations(systems, 2))
    unit_stats = _unit_stats(arrays, unit, documents)
    n_boot = options.bootstrap_samples
    if unit == "segment" and segment_bootstrap is not None:
        boot = dict(segment_bootstrap)
    else:
        boot = _bootstrap(unit_stats, float32 and unit == "segment", n_boot, options.seed,
                          score_rows)
    tests: list[PairwiseTest] = []
    cluster_p: list[float] = []
    for method in options.methods:
        samples = options.samples_for(method)
        method_unit = "segment" if method == SACREBLEU_PAIRED_BOOTSTRAP else unit
        if method == SACREBLEU_PAIRED_BOOTSTRAP:
            # sacrebleu's PairedTest passes ``seed if seed else None``: seed 0 means unseeded.
            seed = options.seed or None
            same = unit == "segment" and samples == n_boot and seed == options.seed
            draws = boot if same else _bootstrap(arrays, float32, samples, seed, score_rows)
            sig = signature(seed=str(seed).lower(), bs=samples)
        elif method == PAIRED_BOOTSTRAP:
            draws = boot if samples == n_boot else _bootstrap(
                unit_stats, float32 and unit == "segment", samples, options.seed, score_rows)
            sig = signature(seed=str(options.seed), bs=samples, unit=unit)
        else:
            pos_sel = ar_selectors(len(next(iter(unit_stats.values()))), samples, options.seed)
            sig = signature(seed=str(options.seed), ar=samples, unit=unit)
        rows = []
        for a, b in pairs:
            if method == APPROXIMATE_RANDOMIZATION:
                p = approximate_randomization_p(score_rows, unit_stats[a], unit_stats[b],
                                                scores[a], scores[b], pos_sel)
            elif method == PAIRED_BOOTSTRAP:
                p = paired_bootstrap_p(draws[a], draws[b], scores[a], scores[b])
            else:
                p = sacrebleu_paired_bootstrap_p(draws[a], draws[b], scores[a], scores[b])
            rows.append((a, b, p))
        adjusted = adjust_p_values([p for _, _, p in rows], options.correction)
        if method == options.method:
            cluster_p = adjusted
        delta_boot = draws if method == SACREBLEU_PAIRED_BOOTSTRAP else boot
        for (a, b, p), p_adj in zip(rows, adjusted, strict=True):
            low, high = delta_interval(delta_boot[a], delta_boot[b])
            tests.append(PairwiseTest(
                metric, a, b, scores[a], scores[b], method, samples, options.seed, p, sig,
                unit=method_unit, p_mc_error=mc_error(p, samples), p_adjusted=p_adj,
                correction=options.correction, alpha=options.alpha,
                # a zero difference is never significant (sacrebleu's test can say p < alpha)
                significant=bool(p_adj < options.alpha and scores[a] != scores[b]),
                delta_ci_low=low, delta_ci_high=high))
    significant = {frozenset(pair): p < options.alpha
                   for pair, p in zip(pairs, cluster_p, strict=True)}
    clusters = wmt_clusters(scores, significant, higher_is_better=higher_is_better)
    ranges = rank_ranges(boot, higher_is_better=higher_is_better) \
        if options.rank_ranges else None
    return PairwiseResult(tuple(tests), clusters, ranges)
