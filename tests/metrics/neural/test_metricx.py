"""MetricX-24 on a tiny random mT5: the worker's batched scores equal an independent
one-segment-at-a-time computation (encoder, one decoder step, logit 250089, clamp)."""

import pytest

from evalmt.metrics import build_metrics, score_systems


def independent_scores(folder, sources, hyps, refs):
    import torch
    from transformers import AutoTokenizer, MT5ForConditionalGeneration

    tok = AutoTokenizer.from_pretrained(folder)
    model = MT5ForConditionalGeneration.from_pretrained(folder).eval()
    out = []
    with torch.no_grad():
        for s, h, r in zip(sources, hyps, refs, strict=True):
            text = f"source: {s} candidate: {h}" + (f" reference: {r}" if r is not None else "")
            ids = tok(text)["input_ids"]
            assert ids[-1] == tok.eos_token_id
            enc = model.encoder(input_ids=torch.tensor([ids[:-1]])).last_hidden_state
            dec = model.decoder(input_ids=torch.tensor([[0]]),
                                encoder_hidden_states=enc).last_hidden_state
            logit = float(dec[0, 0] @ model.lm_head.weight[250089])
            out.append(min(max(logit, 0.0), 25.0))
    return out


@pytest.mark.slow
def test_metricx_equals_independent_computation(tiny_metricx, tiny_data, qe=False):
    metric, = build_metrics(["metricx"], tgt_lang="en", options={"metricx": {
        "model": str(tiny_metricx), "local_files_only": True, "batch_size": 4, "qe": qe}})
    n = len(tiny_data["sources"])
    report = score_systems(hypotheses=tiny_data["systems"], references=[tiny_data["references"]],
                           sources=tiny_data["sources"], doc_ids=["d"] * n,
                           seg_ids=[str(i) for i in range(n)], metrics=[metric])
    assert not report.unavailable, report.notes
    name = "MetricX-24-QE" if qe else "MetricX-24"
    assert report.higher_is_better == (False,) and report.metrics == (name,)
    values = []
    for system, hyps in tiny_data["systems"].items():
        refs = [None] * n if qe else tiny_data["references"]
        want = independent_scores(tiny_metricx, tiny_data["sources"], hyps, refs)
        got = [r.score for r in report.segments if r.system == system]
        assert got == pytest.approx(want, rel=1e-4, abs=1e-4)  # padding: float noise x40
        values += want
    assert any(0 < v < 25 for v in values) and any(v in (0.0, 25.0) for v in values)
    sig = report.corpus[0].signature
    assert "checkpoint:sha256:" in sig and "transformers:" in sig and f"qe:{qe}" in sig


@pytest.mark.parametrize("qe", [False, True])
def test_metricx_inputs_drop_the_eos_and_the_reference_in_qe_mode(tiny_metricx, qe):
    from transformers import AutoTokenizer

    from evalmt.metrics.neural_worker import metricx_inputs

    tok = AutoTokenizer.from_pretrained(tiny_metricx)
    item = ("源", "a cat", None if qe else "the cat")
    text = "source: 源 candidate: a cat" + ("" if qe else " reference: the cat")
    full = tok(text)["input_ids"]
    assert full[-1] == tok.eos_token_id
    assert metricx_inputs(tok, [item], 1536) == [full[:-1]]
    assert metricx_inputs(tok, [item], 4) == [tok(text, max_length=4,
                                                  truncation=True)["input_ids"][:-1]]
