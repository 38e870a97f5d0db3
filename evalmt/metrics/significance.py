"""Paired significance tests on statistics matrices and WMT-style rank clusters.

The p-values reproduce ``sacrebleu.significance`` exactly (same RNG draws,
same float types, same counting rule): sacrebleu compares one baseline
against each other system; both of its tests are symmetric in the two
systems, so one test per unordered pair covers every comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evalmt.metrics.resample import scores_from_sums

_BLOCK = 1000


def p_value(sample_stats: np.ndarray, real_difference: float) -> float:
    """``(#{stat > real_difference} + 1) / (n + 1)``, as sacrebleu's ``_compute_p_value``.

    The strict ``>`` and the +1 come from multeval (Clark et al., 2011); note
    that two identical systems therefore get p = 1 / (n + 1), as in sacrebleu.
    """
    count = int(np.sum(sample_stats > real_difference))
    return (count + 1) / (len(sample_stats) + 1)


def paired_bootstrap_p(scores_a: np.ndarray, scores_b: np.ndarray,
                       score_a: float, score_b: float) -> float:
    """Paired bootstrap p-value from two systems' scores on the SAME resamples.

    As sacrebleu's ``_paired_bs_test`` (after Moses'
    bootstrap-hypothesis-difference-significance.pl): the absolute sample
    differences are centred on their mean and compared with the real one.
    """
    sample_diffs = np.abs(scores_b - scores_a)
    return p_value(sample_diffs - sample_diffs.mean(), abs(score_a - score_b))


def ar_selectors(n: int, trials: int, seed: int | None) -> np.ndarray:
    """Draw the swap mask sacrebleu's ``_paired_ar_test`` draws: bool (trials × n)."""
    rng = np.random.default_rng(seed)
    return rng.integers(2, size=(trials, n), dtype=bool)


def _shuffled_sums(pos_sel: np.ndarray, stats_a: np.ndarray,
                   stats_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of the two pseudo-systems of every AR trial."""
    integral = stats_a.dtype.kind in "iu" and stats_b.dtype.kind in "iu"
    if integral and max(abs(int(stats_a.sum())), abs(int(stats_b.sum()))) < 2**52:
        # Exact in float64: shuf_a = pos @ a + ~pos @ b = pos @ (a - b) + sum(b).
        diff = (stats_a - stats_b).astype(np.float64)
        # in blocks of trials, so a float copy of the mask never holds more than 1000 rows
        shuf_a = np.concatenate([
            (pos_sel[i:i + _BLOCK].astype(np.float64) @ diff).astype(np.int64)
            for i in range(0, len(pos_sel), _BLOCK)]) + stats_b.sum(0)
        shuf_b = stats_a.sum(0) + stats_b.sum(0) - shuf_a
        return shuf_a, shuf_b
    neg_sel = ~pos_sel
    return pos_sel @ stats_a + neg_sel @ stats_b, neg_sel @ stats_a + pos_sel @ stats_b


def approximate_randomization_p(metric: Any, stats_a: np.ndarray, stats_b: np.ndarray,
                                score_a: float, score_b: float, pos_sel: np.ndarray) -> float:
    """Two-sided paired approximate randomization p-value, as sacrebleu's ``_paired_ar_test``.

    ``stats_a``/``stats_b`` are the statistics as ``numpy.array`` makes them
    from sacrebleu's lists (int64 or float64); each trial swaps the two
    systems' segments where ``pos_sel`` is false.
    """
    shuf_a, shuf_b = _shuffled_sums(pos_sel, stats_a, stats_b)
    diffs = np.abs(scores_from_sums(metric, shuf_a) - scores_from_sums(metric, shuf_b))
    return p_value(diffs, abs(score_a - score_b))


def rank_clusters(scores: Mapping[str, float], p_values: Mapping[frozenset[str], float], *,
                  higher_is_better: bool, alpha: float) -> dict[str, int]:
    """WMT-style clusters: 1 = best.

    Systems are sorted best first (ties keep input order). Each cluster is
    headed by its best system; the next system joins the current cluster
    unless it is strictly worse than the head AND their p-value is below
    ``alpha``, in which case it heads a new cluster.
    """
    order: Sequence[str] = sorted(scores, key=lambda s: -scores[s] if higher_is_better
                                  else scores[s])
    clusters: dict[str, int] = {}
    head, cluster = None, 0
    for system in order:
        if head is None:
            head, cluster = system, 1
        else:
            worse = scores[system] < scores[head] if higher_is_better \
                else scores[system] > scores[head]
            if worse and p_values[frozenset((head, system))] < alpha:
                head, cluster = system, cluster + 1
        clusters[system] = cluster
    return clusters
