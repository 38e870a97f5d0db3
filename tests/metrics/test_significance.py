"""Paired tests equal sacrebleu.significance or an independent numpy recomputation with the same
indices; CIs equal sacrebleu's; identical systems get p = 1; units and notes."""

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.significance import PairedTest
from testkit.synthetic import make_corpus

from evalmt.metrics import (
    APPROXIMATE_RANDOMIZATION,
    PAIRED_BOOTSTRAP,
    SACREBLEU_PAIRED_BOOTSTRAP,
    ConfidenceOptions,
    SignificanceOptions,
    build_metrics,
    score_systems,
)

SACREBLEU = {"bleu": (BLEU, {}, "BLEU"), "chrf": (CHRF, {}, "chrF2"), "ter": (TER, {}, "TER"),
             "chrf++": (CHRF, {"word_order": 2}, "chrF2++")}


@pytest.mark.parametrize("corpus_name", ["corpus1", "corpus2"])
@pytest.mark.parametrize(("samples", "seed"), [(200, 12345), (150, 7)])
def test_sacrebleu_paired_bootstrap_equals_sacrebleu_paired_test(request, monkeypatch,
                                                                 corpus_name, samples, seed):
    hyps, refs, doc_ids, seg_ids = request.getfixturevalue(corpus_name)
    names = ["bleu", "chrf", "chrf++", "ter"]
    report = score_systems(
        hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
        metrics=build_metrics(names, tgt_lang="en"),
        significance=SignificanceOptions(method=SACREBLEU_PAIRED_BOOTSTRAP, samples=samples,
                                         seed=seed, unit="document"))  # unit ignored: segments
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))
    systems = list(hyps)
    for baseline in systems:  # every system as sacrebleu's baseline covers all pairs
        named = [(baseline, hyps[baseline])] + [(s, hyps[s]) for s in systems if s != baseline]
        metrics = {n: SACREBLEU[n][0](**SACREBLEU[n][1]) for n in names}
        _, results = PairedTest(named, metrics, refs, test_type="bs", n_samples=samples)()
        for key in names:
            display = SACREBLEU[key][2]
            for (name, _), result in zip(named[1:], results[display][1:], strict=True):
                test = report.test(display, baseline, name, SACREBLEU_PAIRED_BOOTSTRAP)
                assert test.p_value == result.p_value
                assert test.unit == "segment"
    assert any("sacrebleu-paired-bootstrap" in n for n in report.notes) is False  # table's job


def _units(doc_ids, unit):
    if unit == "segment":
        return [[i] for i in range(len(doc_ids))]
    docs = list(dict.fromkeys(doc_ids))
    return [[i for i, d in enumerate(doc_ids) if d == doc] for doc in docs]


def _independent(key, hyps, refs, doc_ids, unit, method, samples, seed):
    """p-value, Δ CI per pair from sacrebleu's own statistics and arithmetic, drawn with numpy."""
    cls, opts, _ = SACREBLEU[key]
    metric = cls(**opts, references=refs)
    stats = {s: metric._extract_corpus_statistics(h, None) for s, h in hyps.items()}
    units = _units(doc_ids, unit)
    real = {s: metric._aggregate_and_compute([list(r) for r in rows]).score
            for s, rows in stats.items()}

    def score(rows, take):
        picked = [list(rows[i]) for u in take for i in units[u]]
        return metric._aggregate_and_compute(picked).score

    def resampled(rows):  # scores on the bootstrap resamples of units
        idxs = np.random.default_rng(seed).choice(len(units), size=(1000 if samples is None
                                                                    else samples, len(units)))
        if unit == "segment":  # sacrebleu's float32 sums of resampled rows
            s32 = np.array(rows, dtype="float32")
            return np.array([metric._compute_score_from_stats(s32[i].sum(0)).score
                             for i in idxs])
        return np.array([score(rows, row) for row in idxs])

    out = {}
    boot = {s: resampled(rows) for s, rows in stats.items()}
    systems = list(hyps)
    for ia, a in enumerate(systems):
        for b in systems[ia + 1:]:
            delta = real[b] - real[a]
            if method == APPROXIMATE_RANDOMIZATION:
                mask = np.random.default_rng(seed).integers(2, size=(samples, len(units)),
                                                            dtype=bool)
                null = []
                for row in mask:
                    pa = [stats[a][i] if row[u] else stats[b][i]
                          for u in range(len(units)) for i in units[u]]
                    pb = [stats[b][i] if row[u] else stats[a][i]
                          for u in range(len(units)) for i in units[u]]
                    null.append(abs(metric._aggregate_and_compute(pa).score
                                    - metric._aggregate_and_compute(pb).score))
                count = sum(x >= abs(delta) for x in null)
            else:
                d = boot[b] - boot[a]
                count = int(np.sum(np.abs(d - d.mean()) >= abs(delta)))
            d = np.sort(boot[b] - boot[a])
            k = len(d) // 40
            out[(a, b)] = ((count + 1) / (samples + 1), d[k], d[len(d) - k - 1])
    return out


@pytest.mark.parametrize("key", ["bleu", "chrf", "ter"])
@pytest.mark.parametrize("unit", ["segment", "document"])
@pytest.mark.parametrize(("method", "samples", "seed"), [
    (APPROXIMATE_RANDOMIZATION, 150, 3),
    (PAIRED_BOOTSTRAP, 200, 11),
])
def test_tests_equal_an_independent_numpy_implementation(corpus1, key, unit, method, samples,
                                                         seed):
    hyps, refs, doc_ids, seg_ids = corpus1
    report = score_systems(
        hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
        metrics=build_metrics([key], tgt_lang="en"),
        significance=SignificanceOptions(method=method, samples=samples, seed=seed, unit=unit))
    display = SACREBLEU[key][2]
    # the Δ interval uses `samples` bootstrap resamples as well (samples given)
    expected = _independent(key, hyps, refs, doc_ids, unit, method, samples, seed)
    for (a, b), (p, low, high) in expected.items():
        test = report.test(display, a, b, method)
        assert test.unit == unit
        assert test.p_value == p
        assert test.delta_ci_low == pytest.approx(low, abs=1e-9)
        assert test.delta_ci_high == pytest.approx(high, abs=1e-9)
        assert test.p_mc_error == pytest.approx(np.sqrt(p * (1 - p) / samples))
        assert test.delta == pytest.approx(report.corpus_score(b, display).score
                                           - report.corpus_score(a, display).score)


@pytest.mark.parametrize("unit", ["segment", "document"])
@pytest.mark.parametrize("method", [APPROXIMATE_RANDOMIZATION, PAIRED_BOOTSTRAP,
                                    SACREBLEU_PAIRED_BOOTSTRAP])
def test_identical_outputs(corpus1, unit, method):
    hyps, refs, doc_ids, seg_ids = corpus1
    same = {"a": hyps["sys0"], "b": list(hyps["sys0"]), "c": hyps["sys2"]}
    report = score_systems(hypotheses=same, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu", "chrf"], tgt_lang="en"),
                           significance=SignificanceOptions(method=method, samples=100,
                                                            unit=unit))
    for metric in ("BLEU", "chrF2"):
        test = report.test(metric, "a", "b", method)
        # sacrebleu's rule counts only strictly larger differences: 1 / (N + 1)
        assert test.p_value == (1 / 101 if method == SACREBLEU_PAIRED_BOOTSTRAP else 1.0)
        assert test.delta == 0 and test.delta_ci_low == test.delta_ci_high == 0
        assert not test.significant
        assert report.corpus_score("a", metric).cluster == report.corpus_score("b",
                                                                               metric).cluster


@pytest.mark.parametrize("key", ["bleu", "chrf", "ter"])
@pytest.mark.parametrize(("samples", "seed"), [(100, 12345), (400, 3)])
def test_segment_bootstrap_ci_equals_sacrebleu(monkeypatch, corpus2, key, samples, seed):
    hyps, refs, doc_ids, seg_ids = corpus2
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics([key], tgt_lang="en"),
                           confidence=ConfidenceOptions(samples=samples, seed=seed))
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))
    cls, opts, display = SACREBLEU[key]
    for system, lines in hyps.items():
        metric = cls(**opts)
        expected = metric.corpus_score(lines, refs, n_bootstrap=samples)
        row = report.corpus_score(system, display)
        assert row.ci_mean == pytest.approx(expected._mean, abs=1e-9)
        assert row.ci_halfwidth == pytest.approx(expected._ci, abs=1e-9)
        assert row.ci_low <= row.ci_mean <= row.ci_high
        assert row.signature == metric.get_signature().format()


def test_document_bootstrap_ci_equals_sacrebleu_on_resampled_documents(corpus1):
    # Independent computation: draw documents with the documented RNG call,
    # concatenate them and let sacrebleu score each resample as a corpus.
    hyps, refs, doc_ids, seg_ids = corpus1
    docs = list(dict.fromkeys(doc_ids))
    members = {d: [i for i, x in enumerate(doc_ids) if x == d] for d in docs}
    samples, seed = 60, 17
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu"], tgt_lang="en"),
                           confidence=ConfidenceOptions(samples=samples, seed=seed,
                                                        unit="document"))
    draws = np.random.default_rng(seed).choice(len(docs), size=(samples, len(docs)))
    for system, lines in hyps.items():
        scores = []
        for row in draws:
            idx = [i for d in row for i in members[docs[d]]]
            scores.append(BLEU().corpus_score([lines[i] for i in idx],
                                              [[refs[0][i] for i in idx]]).score)
        scores.sort()
        got = report.corpus_score(system, "BLEU")
        assert got.ci_low == pytest.approx(scores[samples // 40], abs=1e-9)
        assert got.ci_high == pytest.approx(scores[samples - samples // 40 - 1], abs=1e-9)
        assert got.ci_mean == pytest.approx(float(np.mean(scores)), abs=1e-9)


@pytest.mark.parametrize(("n_docs", "unit", "expected_unit", "noted"), [
    (30, "auto", "document", False),
    (6, "auto", "segment", True),
    (6, "document", "document", True),
    (30, "segment", "segment", False),
])
def test_test_unit_follows_the_number_of_documents(n_docs, unit, expected_unit, noted):
    hyps, refs, doc_ids, seg_ids = make_corpus(4, n=60, n_docs=n_docs, n_systems=2)
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["chrf"], tgt_lang="en"),
                           significance=SignificanceOptions(samples=50, unit=unit))
    assert {t.unit for t in report.pairwise} == {expected_unit}
    assert any(n.startswith("significance:") for n in report.notes) == noted
    assert f"{expected_unit} unit" in report.cluster_rule
    assert "Holm" in report.cluster_rule and "α = 0.05" in report.cluster_rule


def test_every_method_reported_with_adjusted_p_and_clusters_from_the_first(corpus1):
    hyps, refs, doc_ids, seg_ids = corpus1
    options = SignificanceOptions(also=(PAIRED_BOOTSTRAP, SACREBLEU_PAIRED_BOOTSTRAP),
                                  samples=80, correction="bh", rank_ranges=True)
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu"], tgt_lang="en"), significance=options)
    assert {t.method for t in report.pairwise} == {APPROXIMATE_RANDOMIZATION, PAIRED_BOOTSTRAP,
                                                   SACREBLEU_PAIRED_BOOTSTRAP}
    assert all(t.correction == "bh" and t.p_adjusted >= t.p_value for t in report.pairwise)
    assert all(t.significant == (t.p_adjusted < 0.05 and t.delta != 0) for t in report.pairwise)
    assert report.cluster_rule.startswith("WMT rule") and "approximate-randomization" in \
        report.cluster_rule and "Benjamini–Hochberg" in report.cluster_rule
    for row in report.corpus:
        assert 1 <= row.rank_low <= row.rank_high <= 3


def test_no_significance_no_cluster_rule(corpus1):
    hyps, refs, doc_ids, seg_ids = corpus1
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu"], tgt_lang="en"))
    assert report.cluster_rule == "" and not report.pairwise
    assert {r.cluster for r in report.corpus} == {None}
