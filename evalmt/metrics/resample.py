"""Bootstrap resampling on statistics matrices, drawn exactly as sacrebleu draws it.

sacrebleu (``significance._bootstrap_resample`` and ``_paired_bs_test``)
seeds ``numpy.random.default_rng(seed)``, draws all indices at once with
``rng.choice(n, size=(samples, n), replace=True)``, casts the statistics to
float32 and sums each resample. We draw the same indices; when every
statistic is an integer and every sum stays below 2**24 (so float32 sums are
exact) we sum with one matrix product of resample counts instead, which
gives bit-identical float32 sums far faster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FLOAT32_EXACT = 2**24  # integers up to 2**24 are exact in float32
_BLOCK = 100  # resamples per count matrix


def bootstrap_indices(n: int, samples: int, seed: int | None) -> np.ndarray:
    """Resample indices of shape (samples, n), the same as sacrebleu's for that seed."""
    rng = np.random.default_rng(seed)
    return rng.choice(n, size=(samples, n), replace=True)


def _counts(idxs: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` items occurs in each resample (samples × n)."""
    samples = idxs.shape[0]
    flat = (idxs + (np.arange(samples)[:, None] * n)).ravel()
    return np.bincount(flat, minlength=samples * n).reshape(samples, n).astype(np.float64)


def _count_product(idxs: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Compute ``counts @ stats`` in blocks of resamples (memory ~ _BLOCK × n)."""
    stats64 = np.asarray(stats, dtype=np.float64)
    return np.concatenate([_counts(idxs[i:i + _BLOCK], stats64.shape[0]) @ stats64
                           for i in range(0, len(idxs), _BLOCK)])


def resampled_sums(stats: np.ndarray, idxs: np.ndarray) -> np.ndarray:
    """Float32 column sums of ``stats`` for each resample, equal to ``stats32[idx].sum(0)``."""
    stats = np.asarray(stats)
    # Every partial sum of a resample is at most n * max(stats): exact in float32 below 2**24.
    integral = bool(np.all(stats >= 0)) and np.array_equal(stats, np.round(stats))
    if integral and float(stats.max(initial=0)) * idxs.shape[1] < _FLOAT32_EXACT:
        return _count_product(idxs, stats).astype(np.float32)
    stats32 = stats.astype(np.float32)
    return np.stack([stats32[row].sum(0) for row in idxs])


def group_resampled_sums(group_stats: np.ndarray, idxs: np.ndarray) -> np.ndarray:
    """Float64 sums of resampled groups (documents) for the cluster bootstrap."""
    return _count_product(idxs, group_stats)


def scores_from_sums(metric: Any, sums: np.ndarray) -> np.ndarray:
    """Score every row of summed statistics with the metric's own arithmetic.

    ``metric`` is an ``evalmt.metrics.base.Metric`` (its ``scores_from_statistics``).
    """
    return metric.scores_from_statistics(sums)


def estimate_ci(scores: np.ndarray) -> tuple[float, float, float, float]:
    """(low, high, mean, half-width) of bootstrap scores, as ``sacrebleu.significance.estimate_ci``.

    The bounds are the sorted scores at index ``n // 40`` and ``n - n // 40 - 1``
    (a 95% interval); the half-width is half their distance.
    """
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    n = len(ordered)
    lower_idx = n // 40
    low, high = float(ordered[lower_idx]), float(ordered[n - lower_idx - 1])
    return low, high, float(ordered.mean()), 0.5 * (high - low)
