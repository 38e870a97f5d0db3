"""Rank clusters from pairwise tests: multiplicity correction, the WMT rule, rank ranges.

* ``adjust_p_values``: Holm's step-down (1979; controls the family-wise error
  rate) or Benjamini–Hochberg's step-up (1995; controls the false discovery
  rate) over all pairs of systems of one metric; equal to
  ``statsmodels.stats.multitest.multipletests`` (``holm``, ``fdr_bh``).
* ``wmt_clusters``: systems sorted best first; a cluster boundary between two
  neighbours exactly where EVERY system above it significantly beats EVERY
  system below it (the rule of the WMT findings papers, e.g. Barrault et al.
  2020, §3). A system that is not significantly worse than a better system
  can therefore never be separated from it, whatever lies in between.
* ``rank_ranges``: per system the 2.5th–97.5th percentile of its rank over
  the bootstrap resamples (as WMT22's rank ranges).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from evalmt.errors import MetricError


def adjust_p_values(p_values: Sequence[float], correction: str) -> list[float]:
    """Return adjusted p-values (same order) for correction "holm", "bh" or "none"."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if correction == "none" or m == 0:
        return [float(x) for x in p]
    if correction == "holm":
        order = np.argsort(p, kind="mergesort")
        # p_(i) * (m - i), made monotone non-decreasing, capped at 1
        stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    elif correction == "bh":
        order = np.argsort(p, kind="mergesort")[::-1]
        # p_(i) * m / i from the largest down, made monotone non-increasing
        stepped = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    else:
        raise MetricError(f"significance.correction: unknown correction {correction!r}; "
                          "expected holm, bh or none")
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(x) for x in adjusted]


def ranked(scores: Mapping[str, float], *, higher_is_better: bool) -> list[str]:
    """Systems best first (stable: ties keep input order)."""
    return sorted(scores, key=lambda s: -scores[s] if higher_is_better else scores[s])


def wmt_clusters(scores: Mapping[str, float], significant: Mapping[frozenset[str], bool], *,
                 higher_is_better: bool) -> dict[str, int]:
    """WMT-style clusters, 1 = best.

    ``significant[frozenset((u, v))]`` says whether the (corrected) test
    between u and v rejects at the chosen alpha. A boundary goes between
    positions i and i + 1 of the ranking only if every system at or above i
    is strictly better than, and significantly different from, every system
    below: systems with equal scores always share a cluster.
    """
    order = ranked(scores, higher_is_better=higher_is_better)

    def beats(u: str, v: str) -> bool:
        better = scores[u] > scores[v] if higher_is_better else scores[u] < scores[v]
        return better and bool(significant[frozenset((u, v))])

    clusters: dict[str, int] = {}
    cluster = 1
    for i, system in enumerate(order):
        if i and all(beats(u, v) for u in order[:i] for v in order[i:]):
            cluster += 1
        clusters[system] = cluster
    return clusters


def rank_ranges(boot_scores: Mapping[str, np.ndarray], *,
                higher_is_better: bool) -> dict[str, tuple[int, int]]:
    """Per system, the 95% range of its 1-based rank across bootstrap resamples.

    On every resample the systems are ranked by their resampled scores
    (competition ranking: tied systems share the better rank); the range runs
    from the sorted ranks at ``n // 40`` to ``n − n // 40 − 1`` (sacrebleu's
    ``estimate_ci`` indices).
    """
    systems = list(boot_scores)
    matrix = np.stack([np.asarray(boot_scores[s], dtype=np.float64) for s in systems], axis=1)
    if not higher_is_better:
        matrix = -matrix
    # rank = 1 + number of systems strictly better on that resample
    ranks = 1 + (matrix[:, None, :] > matrix[:, :, None]).sum(axis=2)
    ranks.sort(axis=0)
    n = ranks.shape[0]
    low, high = n // 40, n - n // 40 - 1
    return {s: (int(ranks[low, j]), int(ranks[high, j])) for j, s in enumerate(systems)}
