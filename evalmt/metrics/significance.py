"""Paired significance tests on statistics matrices.

Three tests, each a function of two systems' per-unit sufficient statistics
(a unit is a segment or a whole document: the caller sums a document's rows)
and a ``score_rows`` callable that scores every row of a matrix of summed
statistics with the metric's own arithmetic:

* ``approximate-randomization`` (the default; Noreen 1989, Riezler & Maxwell
  2005): swap the two systems' units at random; p = (#{|Δ*| ≥ |Δ|} + 1) /
  (N + 1). Exact under the null that the two systems are exchangeable, so two
  identical outputs get p = 1.
* ``paired-bootstrap``, correctly centred (Efron & Tibshirani 1993, §16.4;
  Koehn 2004 as corrected by Berg-Kirkpatrick et al. 2012): resample units,
  Δ* = score_b* − score_a*; p = (#{|Δ* − mean Δ*| ≥ |Δ|} + 1) / (N + 1).
* ``sacrebleu-paired-bootstrap``: sacrebleu's ``_paired_bs_test`` after Moses'
  bootstrap-hypothesis-difference-significance.pl, bit for bit (same RNG
  draws, float32 sums, strict ``>``): it centres the *absolute* differences,
  so under the null its p-values sit low (never above ~0.5) and it rejects
  too often; kept for comparability with published numbers.

The Monte Carlo error of a p-value estimated from N draws is
``sqrt(p (1 − p) / N)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Scores every row of a (m × k) matrix of summed statistics: returns m scores.
ScoreRows = Callable[[np.ndarray], np.ndarray]

_BLOCK = 1000


#: Relative tolerance for "≥ observed": a permutation that reproduces the observed
#: statistic (e.g. the identity) must count even when float statistics (mean-of-
#: segment metrics) are summed in another order; integer statistics tie exactly.
TIE_TOLERANCE = 1e-9


def p_value(null_stats: np.ndarray, observed: float) -> float:
    """``(#{stat ≥ observed} + 1) / (n + 1)``: the Monte Carlo p-value (Davison & Hinkley 1997).

    ``≥`` allows a relative ``TIE_TOLERANCE`` of ``observed`` for rounding.
    """
    threshold = observed - TIE_TOLERANCE * max(1.0, abs(observed))
    count = int(np.sum(np.asarray(null_stats) >= threshold))
    return (count + 1) / (len(null_stats) + 1)


def sacrebleu_p_value(sample_stats: np.ndarray, real_difference: float) -> float:
    """``(#{stat > real_difference} + 1) / (n + 1)``, as sacrebleu's ``_compute_p_value``.

    The strict ``>`` comes from multeval (Clark et al., 2011): two identical
    systems get p = 1 / (n + 1).
    """
    count = int(np.sum(sample_stats > real_difference))
    return (count + 1) / (len(sample_stats) + 1)


def mc_error(p: float, samples: int) -> float:
    """Return the standard error of a Monte Carlo p-value from ``samples`` draws."""
    return float(np.sqrt(p * (1.0 - p) / samples))


def paired_bootstrap_p(boot_a: np.ndarray, boot_b: np.ndarray,
                       score_a: float, score_b: float) -> float:
    """Correctly centred paired bootstrap p-value from both systems' scores on the SAME resamples.

    The bootstrap distribution of Δ* = b* − a* is shifted to mean 0 (the null)
    and compared two-sidedly with the real Δ: #{|Δ* − mean Δ*| ≥ |Δ|}.
    """
    deltas = np.asarray(boot_b, dtype=np.float64) - np.asarray(boot_a, dtype=np.float64)
    return p_value(np.abs(deltas - deltas.mean()), abs(score_b - score_a))


def sacrebleu_paired_bootstrap_p(boot_a: np.ndarray, boot_b: np.ndarray,
                                 score_a: float, score_b: float) -> float:
    """Sacrebleu's ``_paired_bs_test`` p-value: centred ABSOLUTE differences, strict ``>``.

    Equal to ``sacrebleu.significance`` for the same resamples; anti-conservative
    (see the module docstring and docs/scoring.md).
    """
    sample_diffs = np.abs(boot_b - boot_a)
    return sacrebleu_p_value(sample_diffs - sample_diffs.mean(), abs(score_a - score_b))


def delta_interval(boot_a: np.ndarray, boot_b: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of Δ* = b* − a* (sacrebleu's ``estimate_ci`` indices)."""
    ordered = np.sort(np.asarray(boot_b, dtype=np.float64) - np.asarray(boot_a, dtype=np.float64))
    low = len(ordered) // 40
    return float(ordered[low]), float(ordered[len(ordered) - low - 1])


def ar_selectors(n: int, trials: int, seed: int | None) -> np.ndarray:
    """Draw the swap mask sacrebleu's ``_paired_ar_test`` draws: bool (trials × n units)."""
    rng = np.random.default_rng(seed)
    return rng.integers(2, size=(trials, n), dtype=bool)


def shuffled_sums(pos_sel: np.ndarray, stats_a: np.ndarray,
                  stats_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the summed statistics of both pseudo-systems of every AR trial (A kept if True)."""
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


def approximate_randomization_p(score_rows: ScoreRows, stats_a: np.ndarray,
                                stats_b: np.ndarray, score_a: float, score_b: float,
                                pos_sel: np.ndarray) -> float:
    """Two-sided paired approximate randomization p-value, #{|Δ*| ≥ |Δ|}.

    ``stats_a``/``stats_b`` hold one row per unit (segment or document); each
    trial swaps the two systems' units where ``pos_sel`` is false. The swap
    mask is sacrebleu's, so the p-value equals sacrebleu's ``_paired_ar_test``
    whenever no trial ties the real difference exactly (sacrebleu counts ``>``).
    """
    shuf_a, shuf_b = shuffled_sums(pos_sel, stats_a, stats_b)
    diffs = np.abs(score_rows(shuf_a) - score_rows(shuf_b))
    return p_value(diffs, abs(score_a - score_b))
