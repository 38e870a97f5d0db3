"""Multiplicity corrections equal statsmodels; the WMT cluster rule; bootstrap rank ranges."""

import numpy as np
import pytest
from scipy.stats import rankdata
from statsmodels.stats.multitest import multipletests

from evalmt.metrics.clusters import adjust_p_values, rank_ranges, wmt_clusters

P_VECTORS = [
    [0.01, 0.04, 0.03, 0.5, 0.005, 0.2],
    [0.2, 0.01, 0.5],
    [0.9, 0.06, 0.01],
    [0.001, 0.001, 0.02, 0.02, 0.3],  # ties
    [0.6, 0.7, 0.8, 0.9],  # capped at 1
    [0.04],
    list(np.random.default_rng(3).uniform(0, 0.2, 15)),  # 6 systems: 15 pairs
]


@pytest.mark.parametrize("p", P_VECTORS)
@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_equal_statsmodels(p, ours, theirs):
    expected = multipletests(p, alpha=0.05, method=theirs)[1]
    assert adjust_p_values(p, ours) == pytest.approx(list(expected), abs=1e-12)


def test_no_correction_keeps_p_values():
    assert adjust_p_values([0.2, 0.01], "none") == [0.2, 0.01]


def _significant(pvals, alpha=0.05, correction="none"):
    keys = list(pvals)
    adjusted = adjust_p_values([pvals[k] for k in keys], correction)
    return {frozenset(k): p < alpha for k, p in zip(keys, adjusted, strict=True)}


# (scores, p-values by pair, higher is better, expected WMT clusters)
CLUSTER_CASES = [
    # Issue reproducer 1: B is not significantly better than C, and A not than B,
    # so no boundary anywhere (the old head rule said {A: 1, B: 1, C: 2}).
    ({"a": 30, "b": 29, "c": 28}, {"ab": 0.2, "ac": 0.01, "bc": 0.5}, True,
     {"a": 1, "b": 1, "c": 1}),
    # Issue reproducer 2: B beats C (p .01), but A does not beat C (p .06), so
    # the rule puts no boundary between B and C either: one cluster.
    ({"a": 30, "b": 29.9, "c": 29}, {"ab": 0.9, "ac": 0.06, "bc": 0.01}, True,
     {"a": 1, "b": 1, "c": 1}),
    # every system above beats every system below: boundary after b
    ({"a": 30, "b": 29, "c": 20}, {"ab": 0.3, "ac": 0.001, "bc": 0.01}, True,
     {"a": 1, "b": 1, "c": 2}),
    ({"a": 30, "b": 20, "c": 10}, {"ab": 0.001, "ac": 0.001, "bc": 0.001}, True,
     {"a": 1, "b": 2, "c": 3}),
    # TER: lower is better
    ({"a": 30, "b": 40}, {"ab": 0.001}, False, {"a": 1, "b": 2}),
    # equal scores never start a new cluster, whatever the p-value
    ({"a": 30, "b": 30}, {"ab": 0.001}, True, {"a": 1, "b": 1}),
    # input order does not matter; ranking is by score
    ({"c": 28, "a": 30, "b": 29}, {"ab": 0.01, "ac": 0.01, "bc": 0.5}, True,
     {"a": 1, "b": 2, "c": 2}),
]


@pytest.mark.parametrize(("scores", "pvals", "higher", "expected"), CLUSTER_CASES)
def test_wmt_clusters(scores, pvals, higher, expected):
    assert wmt_clusters(scores, _significant(pvals), higher_is_better=higher) == expected


def test_holm_can_merge_what_uncorrected_tests_split():
    scores = {"a": 30, "b": 29, "c": 28}
    pvals = {"ab": 0.03, "ac": 0.001, "bc": 0.04}
    assert wmt_clusters(scores, _significant(pvals), higher_is_better=True) == \
        {"a": 1, "b": 2, "c": 3}
    # Holm: .001*3, .03*2, .04*1 -> .003, .06, .06: only a-c survives
    assert wmt_clusters(scores, _significant(pvals, correction="holm"),
                        higher_is_better=True) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("higher", [True, False])
def test_rank_ranges_equal_scipy_ranks(higher):
    rng = np.random.default_rng(7)
    boot = {s: rng.normal(mu, 1.0, 400) for s, mu in zip("abcd", (30, 29.5, 25, 25), strict=True)}
    boot["e"] = boot["d"].copy()  # ties share the better rank
    got = rank_ranges(boot, higher_is_better=higher)
    matrix = np.stack(list(boot.values()), axis=1)
    ranks = np.array([rankdata(-row if higher else row, method="min") for row in matrix])
    ranks.sort(axis=0)
    for j, system in enumerate(boot):
        assert got[system] == (ranks[400 // 40, j], ranks[400 - 400 // 40 - 1, j])


@pytest.mark.parametrize(("samples", "correction", "pairs", "noted"), [
    (100, "holm", 120, True),  # 120 / 101 >= 0.05: Holm can never reject
    (2400, "holm", 120, False),  # 120 / 2401 < 0.05
    (100, "bh", 120, False),  # BH's smallest possible adjusted p is 1 / 101
    (10, "none", 1, True),  # 1 / 11 >= 0.05
])
def test_too_few_draws_to_separate_anything_is_noted(samples, correction, pairs, noted):
    from evalmt.metrics import SignificanceOptions
    from evalmt.metrics.pairwise import resolution_note

    note = resolution_note(SignificanceOptions(samples=samples, correction=correction), pairs)
    assert (note is not None) == noted
    if noted:
        assert f"below 1/{samples + 1}" in note and "samples >=" in note
