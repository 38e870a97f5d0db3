"""The metric protocol: a mean-of-segment-scores metric gets CIs, paired tests, documents
and clusters from the shared engine (checked against an independent numpy computation),
and a metric that fails is an "n/a (reason)" while the others are scored."""

import json

import numpy as np
import pytest

from evalmt.metrics import (
    APPROXIMATE_RANDOMIZATION,
    PAIRED_BOOTSTRAP,
    SACREBLEU_PAIRED_BOOTSTRAP,
    ConfidenceOptions,
    MeanSegmentMetric,
    MetricUnavailable,
    SignificanceOptions,
    build_metrics,
    score_systems,
)
from evalmt.report.manifest import metric_entries
from evalmt.report.tables import render_json, render_latex, render_markdown


class LengthRatio(MeanSegmentMetric):
    """A toy neural-like metric: hypothesis length / (source + reference length)."""

    key, name = "toy", "TOY"

    def segment_scores(self, *, sources, hypotheses, references):
        return {s: [len(h) / (1 + len(src) + len(ref)) for h, src, ref in
                    zip(hyps, sources, references[0], strict=True)]
                for s, hyps in hypotheses.items()}

    def signature(self, *, references, segment=False, **extra):
        return "toy|" + "|".join(f"{k}:{v}" for k, v in extra.items())


class Broken(LengthRatio):
    key, name = "broken", "BROKEN"

    def segment_scores(self, *, sources, hypotheses, references):
        raise MetricUnavailable("out of memory", "CUDA out of memory at batch size 1")


def _data(seed=3, n=60, systems=4):
    rng = np.random.default_rng(seed)
    words = ["a", "bb", "ccc", "dddd", "eeeee"]

    def sent():
        return " ".join(rng.choice(words, size=rng.integers(1, 9)))

    sources = [sent() for _ in range(n)]
    refs = [[sent() for _ in range(n)]]
    hyps = {f"s{k}": [sent() for _ in range(n)] for k in range(systems)}
    doc_ids = [f"d{i // 7}" for i in range(n)]
    return sources, hyps, refs, doc_ids, [str(i) for i in range(n)]


def _expected_scores(sources, hyps, refs):
    return {s: np.array([len(h) / (1 + len(src) + len(r)) for h, src, r in
                         zip(hs, sources, refs[0], strict=True)]) for s, hs in hyps.items()}


def _ci(values):  # independent: sorted bootstrap means, 2.5% / 97.5% order statistics
    values = np.sort(values)
    k = len(values) // 40
    return values[k], values[len(values) - k - 1]


@pytest.mark.parametrize("unit", ["segment", "document"])
def test_mean_metric_corpus_documents_ci_and_tests_equal_numpy(unit):
    sources, hyps, refs, doc_ids, seg_ids = _data()
    samples, seed = 400, 11
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           sources=sources, metrics=[LengthRatio()],
                           confidence=ConfidenceOptions(samples=samples, seed=seed),
                           significance=SignificanceOptions(
                               also=(PAIRED_BOOTSTRAP, SACREBLEU_PAIRED_BOOTSTRAP),
                               samples=samples, seed=seed, unit=unit))
    expected = _expected_scores(sources, hyps, refs)
    idxs = np.random.default_rng(seed).choice(len(sources), size=(samples, len(sources)))
    boot = {s: v[idxs].mean(axis=1) for s, v in expected.items()}
    for s, values in expected.items():
        row = report.corpus_score(s, "TOY")
        assert row.score == pytest.approx(values.mean(), rel=1e-12)
        low, high = _ci(boot[s])
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-12)
        for doc in {d for d in doc_ids}:
            mask = np.array([d == doc for d in doc_ids])
            got = next(r for r in report.documents if r.system == s and r.doc_id == doc)
            assert got.score == pytest.approx(values[mask].mean(), rel=1e-12)
        segs = [r.score for r in report.segments if r.system == s]
        assert segs == pytest.approx(list(values), rel=1e-12)
    # the tests' units: segments, or documents (sum and count of each document's scores)
    docs = list(dict.fromkeys(doc_ids))
    member = np.array([[d == doc for d in doc_ids] for doc in docs])
    units = {s: (v, np.ones(len(v))) if unit == "segment" else (member @ v, member.sum(1))
             for s, v in expected.items()}
    n_units = len(units[next(iter(units))][0])
    unit_idxs = np.random.default_rng(seed).choice(n_units, size=(samples, n_units))
    unit_boot = {s: sums[unit_idxs].sum(1) / counts[unit_idxs].sum(1)
                 for s, (sums, counts) in units.items()}
    flips = np.random.default_rng(seed).integers(2, size=(samples, n_units), dtype=bool)
    for a in expected:
        for b in expected:
            if a >= b:
                continue
            va, vb = expected[a], expected[b]
            real = abs(va.mean() - vb.mean())
            # sacrebleu's paired bootstrap: always segments, |d| centred, strict >
            diffs = np.abs(boot[b] - boot[a])
            p_sbs = (np.sum(diffs - diffs.mean() > real) + 1) / (samples + 1)
            assert report.p_value("TOY", a, b, SACREBLEU_PAIRED_BOOTSTRAP) == pytest.approx(p_sbs)
            d = unit_boot[b] - unit_boot[a]
            tie = 1e-9 * max(1.0, real)  # rounding of float statistics; as documented
            p_bs = (np.sum(np.abs(d - d.mean()) >= real - tie) + 1) / (samples + 1)
            assert report.p_value("TOY", a, b, PAIRED_BOOTSTRAP) == pytest.approx(p_bs)
            test = report.test("TOY", a, b, PAIRED_BOOTSTRAP)
            assert (test.delta_ci_low, test.delta_ci_high) == pytest.approx(_ci(d), rel=1e-9)
            (sa, ca), (sb, cb) = units[a], units[b]
            shuf_a = (np.where(flips, sa, sb).sum(1)) / np.where(flips, ca, cb).sum(1)
            shuf_b = (np.where(flips, sb, sa).sum(1)) / np.where(flips, cb, ca).sum(1)
            p_ar = (np.sum(np.abs(shuf_a - shuf_b) >= real - tie) + 1) / (samples + 1)
            assert report.p_value("TOY", a, b, APPROXIMATE_RANDOMIZATION) == pytest.approx(p_ar)


def test_document_bootstrap_of_means_equals_numpy():
    sources, hyps, refs, doc_ids, seg_ids = _data(seed=5)
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           sources=sources, metrics=[LengthRatio()],
                           confidence=ConfidenceOptions(samples=300, seed=2, unit="document"))
    docs = list(dict.fromkeys(doc_ids))
    idxs = np.random.default_rng(2).choice(len(docs), size=(300, len(docs)))
    for s, values in _expected_scores(sources, hyps, refs).items():
        sums = np.array([values[[d == doc for d in doc_ids]].sum() for doc in docs])
        counts = np.array([sum(d == doc for d in doc_ids) for doc in docs])
        low, high = _ci(sums[idxs].sum(1) / counts[idxs].sum(1))
        row = report.corpus_score(s, "TOY")
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-12)


def test_failed_metric_is_na_and_others_are_scored():
    sources, hyps, refs, doc_ids, seg_ids = _data(n=12, systems=2)
    metrics = [*build_metrics(["bleu"], tgt_lang="en"), Broken(), LengthRatio()]
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           sources=sources, metrics=metrics,
                           significance=SignificanceOptions(samples=50))
    assert report.metrics == ("BLEU", "TOY")
    assert report.unavailable == (("BROKEN", "out of memory"),)
    md = render_markdown(report)
    assert "| BROKEN |" in md.splitlines()[0] and md.count("| n/a (out of memory) |") == 2
    assert "n/a (out of memory)" in render_latex(report)
    assert json.loads(render_json(report))["unavailable"] == {"BROKEN": "out of memory"}
    entries = {e.name: e for e in metric_entries(report)}
    assert entries["BROKEN"].unavailable == "out of memory"
    assert entries["BROKEN"].signature is None
    assert entries["BLEU"].signature.startswith("nrefs:1")
    assert any("CUDA out of memory" in n for n in report.notes)


def test_wrong_number_of_scores_is_malformed_output():
    class Short(LengthRatio):
        def segment_scores(self, *, sources, hypotheses, references):
            return {s: [0.5] for s in hypotheses}

    sources, hyps, refs, doc_ids, seg_ids = _data(n=5, systems=1)
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           sources=sources, metrics=[Short()])
    assert report.unavailable == (("TOY", "malformed output"),)


def test_building_metrics_loads_nothing(monkeypatch):
    from evalmt.metrics import base

    loaded = []
    monkeypatch.setattr(base.Metric, "load", lambda self: loaded.append(self.key))
    build_metrics(["bleu", "chrf", "ter"], tgt_lang="en")
    assert loaded == []
