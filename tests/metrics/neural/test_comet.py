"""COMET family on tiny random checkpoints (regression, unified QE, XCOMET): evalmt's worker
scores equal unbabel-comet's own predict on the same model; XCOMET's error spans are kept
per segment; CIs and paired tests on the scores equal a numpy recomputation."""

import numpy as np
import pytest

from evalmt.metrics import (
    SACREBLEU_PAIRED_BOOTSTRAP,
    ConfidenceOptions,
    SignificanceOptions,
    build_metrics,
    score_systems,
)

pytestmark = pytest.mark.slow
KINDS = [("regression", "comet", "COMET", 1), ("unified", "cometkiwi", "CometKiwi", 0),
         ("xcomet", "xcomet", "XCOMET", 1)]


def _score(folder, key, data, kind, **extra):
    metric, = build_metrics([key], tgt_lang="en", options={key: {
        "model": str(folder / kind), "local_files_only": True, "batch_size": 3}})
    n = len(data["sources"])
    report = score_systems(hypotheses=data["systems"], references=[data["references"]],
                           sources=data["sources"], doc_ids=["d1"] * 3 + ["d2"] * (n - 3),
                           seg_ids=[str(i) for i in range(n)], metrics=[metric], **extra)
    assert not report.unavailable, report.notes
    return report


@pytest.mark.parametrize(("kind", "key", "name", "refs"), KINDS)
def test_scores_equal_unbabel_predict(tiny_comet, tiny_data, kind, key, name, refs):
    folder, expected = tiny_comet
    samples, seed = 200, 4
    report = _score(folder, key, tiny_data, kind,
                    confidence=ConfidenceOptions(samples=samples, seed=seed),
                    significance=SignificanceOptions(method=SACREBLEU_PAIRED_BOOTSTRAP,
                                                     samples=samples, seed=seed, unit="segment"))
    assert report.metrics == (name,) and report.higher_is_better == (True,)
    for system in tiny_data["systems"]:
        rows = [r for r in report.segments if r.system == system]
        want = expected[kind][system]
        assert [r.score for r in rows] == pytest.approx(want["scores"], abs=1e-5)
        if kind == "xcomet":
            got_spans = [r.detail["error_spans"] for r in rows]
            assert [[(e["text"], e["severity"], e["start"], e["end"]) for e in seg]
                    for seg in got_spans] == \
                [[(e["text"], e["severity"], e["start"], e["end"]) for e in seg]
                 for seg in want["error_spans"]]
            assert [e["confidence"] for seg in got_spans for e in seg] == pytest.approx(
                [e["confidence"] for seg in want["error_spans"] for e in seg], abs=1e-5)
        assert report.corpus_score(system, name).score == pytest.approx(
            np.mean(want["scores"]), abs=1e-6)
    _check_ci_and_paired_test(report, name, expected[kind], samples, seed)
    sig = report.corpus[0].signature
    assert f"refs:{refs}" in sig and "unbabel-comet:2.2.7" in sig and "checkpoint:sha256:" in sig


def _check_ci_and_paired_test(report, name, expected, samples, seed):
    """CIs and the paired bootstrap equal numpy resampling of the predict scores."""
    values = {s: np.array(r["scores"]) for s, r in expected.items()}
    n = len(next(iter(values.values())))
    idxs = np.random.default_rng(seed).choice(n, size=(samples, n))
    k = samples // 40
    for s, v in values.items():
        boot = np.sort(v[idxs].mean(1))
        row = report.corpus_score(s, name)
        assert (row.ci_low, row.ci_high) == pytest.approx((boot[k], boot[samples - k - 1]),
                                                          abs=1e-6)
    diffs = np.abs(values["b"][idxs].mean(1) - values["a"][idxs].mean(1))
    real = abs(values["a"].mean() - values["b"].mean())
    p = (np.sum(diffs - diffs.mean() > real) + 1) / (samples + 1)
    assert report.p_value(name, "a", "b", SACREBLEU_PAIRED_BOOTSTRAP) == pytest.approx(p)


def test_xcomet_spans_are_not_all_empty(tiny_comet):
    _, expected = tiny_comet
    spans = [s for row in expected["xcomet"].values() for s in row["error_spans"]]
    assert any(spans), "the tiny XCOMET should tag some subwords as errors"
