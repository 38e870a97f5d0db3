"""Corpus, document and segment scores equal sacrebleu's own."""

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER

from evalmt.errors import MetricError, RegistryError
from evalmt.metrics import build_metrics, score_systems

# (our name, sacrebleu metric built independently of our code, its display name)
REFERENCE_METRICS = [
    ("bleu", lambda: BLEU(), lambda: BLEU(effective_order=True), "BLEU"),
    ("chrf", lambda: CHRF(), lambda: CHRF(), "chrF2"),
    ("chrf++", lambda: CHRF(word_order=2), lambda: CHRF(word_order=2), "chrF2++"),
    ("ter", lambda: TER(), lambda: TER(), "TER"),
]


def _score(corpus, names=("bleu", "chrf", "chrf++", "ter"), tgt_lang="en"):
    hyps, refs, doc_ids, seg_ids = corpus
    return score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                         metrics=build_metrics(list(names), tgt_lang=tgt_lang))


@pytest.mark.parametrize("corpus_name", ["corpus1", "corpus2"])
@pytest.mark.parametrize(("key", "make", "make_sent", "name"), REFERENCE_METRICS)
def test_corpus_document_segment_scores_equal_sacrebleu(request, corpus_name, key, make,
                                                        make_sent, name):
    corpus = request.getfixturevalue(corpus_name)
    hyps, refs, doc_ids, seg_ids = corpus
    report = _score(corpus, names=(key,))
    for system, lines in hyps.items():
        expected = make().corpus_score(lines, refs)
        row = report.corpus_score(system, name)
        assert abs(row.score - expected.score) < 1e-9
        assert row.signature == _sig(make, lines, refs)
        for doc in sorted(set(doc_ids)):
            idx = [i for i, d in enumerate(doc_ids) if d == doc]
            want = make().corpus_score([lines[i] for i in idx],
                                       [[stream[i] for i in idx] for stream in refs]).score
            got = [d.score for d in report.documents
                   if d.system == system and d.metric == name and d.doc_id == doc]
            assert len(got) == 1 and abs(got[0] - want) < 1e-9
        seg = [s for s in report.segments if s.system == system and s.metric == name]
        assert [s.seg_id for s in seg] == seg_ids
        sent_metric = make_sent()
        for i, s in enumerate(seg):
            want = sent_metric.sentence_score(lines[i], [stream[i] for stream in refs]).score
            assert abs(s.score - want) < 1e-9


def _sig(make, lines, refs):
    metric = make()
    metric.corpus_score(lines, refs)
    return metric.get_signature().format()


def test_sentence_bleu_function_matches_segment_scores(corpus1):
    hyps, refs, _, _ = corpus1
    report = _score(corpus1, names=("bleu",))
    got = [s.score for s in report.segments if s.system == "sys0"]
    want = [sacrebleu.sentence_bleu(h, [refs[0][i]]).score for i, h in enumerate(hyps["sys0"])]
    assert got == pytest.approx(want, abs=1e-9)


# Edge cases: each behaves as sacrebleu does on the same input.
EDGE_CASES = [
    ("empty hypotheses", ["", "", "a cat"], [["the cat", "a dog sat", "a cat"]]),
    ("empty references", ["the cat", "a dog", "x"], [["", "a dog", ""]]),
    ("all empty", ["", ""], [["", ""]]),
    ("missing ref in stream 2", ["the cat sat", "a dog"], [["the cat sat", "a dog"],
                                                           ["a cat sat", None]]),
]


@pytest.mark.parametrize(("label", "hyp", "refs"), EDGE_CASES)
@pytest.mark.parametrize(("key", "make", "make_sent", "name"), REFERENCE_METRICS)
def test_edge_cases_behave_as_sacrebleu(label, hyp, refs, key, make, make_sent, name):
    doc_ids = [f"d{i}" for i in range(len(hyp))]  # single-segment documents
    seg_ids = ["1"] * len(hyp)
    report = score_systems(hypotheses={"s": hyp}, references=refs, doc_ids=doc_ids,
                           seg_ids=seg_ids, metrics=build_metrics([key], tgt_lang="en"))
    assert abs(report.corpus[0].score - make().corpus_score(hyp, refs).score) < 1e-9
    assert report.corpus[0].signature == _sig(make, hyp, refs)  # nrefs:var with None refs
    for i, d in enumerate(report.documents):
        want = make().corpus_score([hyp[i]], [[s[i]] for s in refs]).score
        assert abs(d.score - want) < 1e-9
    for i, s in enumerate(report.segments):
        want = make_sent().sentence_score(hyp[i], [r[i] for r in refs]).score
        assert abs(s.score - want) < 1e-9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"hypotheses": {"mt": ["a", "b", "c"]}}, "system 'mt': 3 segments in hypotheses but 2"),
    ({"hypotheses": {"mt": ["a", None]}}, "hypothesis 1 is None"),
    ({"references": [["x", "y"], ["z"]]}, "references[1] has 1 segments"),
    ({"references": ["x", "y"]}, "got a single string"),
    ({"references": []}, "expected one or more reference streams"),
    ({"references": [["x", None], [None, None]]}, "segment 1 has no reference"),
    ({"doc_ids": ["d"]}, "doc_ids: 1 ids for 2 segments"),
    ({"hypotheses": {"mt": ["a", "b \ud800"]}}, "system 'mt': hypothesis 1 holds a lone surrogate"),
    ({"references": [["x \udfff", "y"]]}, "references: segment 0 holds a lone surrogate"),
])
def test_inconsistent_inputs_raise_metric_error(kwargs, message):
    args = {"hypotheses": {"mt": ["a", "b"]}, "references": [["x", "y"]],
            "doc_ids": ["d", "d"], "seg_ids": ["1", "2"],
            "metrics": build_metrics(["bleu"], tgt_lang="en")}
    args.update(kwargs)
    with pytest.raises(MetricError, match=message.replace("[", r"\[").replace("(", r"\(")):
        score_systems(**args)


@pytest.mark.parametrize(("tgt_lang", "options", "tok"), [
    ("en", {}, "13a"),
    ("zh", {}, "zh"),
    ("de", {}, "13a"),
    ("zh-Hant", {}, "zh"),
    ("zh_TW", {}, "zh"),
    ("zh", {"bleu": {"tokenize": "intl"}}, "intl"),
    ("ja", {}, "13a"),  # mecab is not installed here: falls back with a note
])
def test_bleu_tokenizer_follows_target_language(tgt_lang, options, tok):
    spec = build_metrics(["bleu"], tgt_lang=tgt_lang, options=options)[0]
    assert spec.options["tokenize"] == tok
    report = score_systems(hypotheses={"s": ["你好 世界"]}, references=[["你好世界"]],
                           doc_ids=["d"], seg_ids=["1"], metrics=[spec])
    assert f"tok:{tok}" in report.corpus[0].signature
    if tgt_lang == "ja":
        assert any("ja-mecab" in n for n in report.notes)


def test_zh_scores_equal_sacrebleu_zh_tokenizer():
    hyp, ref = ["我们今天去公园散步。", "他喜欢读书"], [["我们明天去公园散步。", "她喜欢看书"]]
    report = score_systems(hypotheses={"s": hyp}, references=ref, doc_ids=["d", "d"],
                           seg_ids=["1", "2"], metrics=build_metrics(["bleu"], tgt_lang="zh"))
    assert abs(report.corpus[0].score - sacrebleu.corpus_bleu(hyp, ref, tokenize="zh").score) < 1e-9


@pytest.mark.parametrize(("names", "options", "error", "message"), [
    (["blue"], {}, RegistryError, "did you mean 'bleu'"),
    (["bleu"], {"bleu": {"colour": 1}}, MetricError, "metrics.bleu: unknown option"),
    (["bleu"], {"chrf": {}}, MetricError, "not requested: chrf"),
    (["bleu", "bleu"], {}, MetricError, "duplicate"),
    (["bleu"], {"bleu": {"tokenize": "nope"}}, MetricError, "metrics.bleu: invalid options"),
])
def test_build_metrics_errors(names, options, error, message):
    with pytest.raises(error, match=message):
        build_metrics(names, tgt_lang="en", options=options)


def test_groups_are_scored_as_their_own_corpus(corpus2):
    hyps, refs, doc_ids, seg_ids = corpus2
    labels = ["long" if len(r.split()) > 8 else "short" for r in refs[0]]
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=build_metrics(["bleu", "chrf"], tgt_lang="en"),
                           groups={"length": labels})
    assert len(report.groups) == len(hyps) * 2 * 2
    for row in report.groups:
        idx = [i for i, label in enumerate(labels) if label == row.group]
        lines = [hyps[row.system][i] for i in idx]
        sub_refs = [[stream[i] for i in idx] for stream in refs]
        want = (BLEU() if row.metric == "BLEU" else CHRF()).corpus_score(lines, sub_refs).score
        assert row.grouping == "length" and row.num_segments == len(idx)
        assert abs(row.score - want) < 1e-9


def test_group_labels_must_cover_every_segment(corpus1):
    hyps, refs, doc_ids, seg_ids = corpus1
    with pytest.raises(MetricError, match="groups.alignment: 1 labels for 60 segments"):
        score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                      metrics=build_metrics(["bleu"], tgt_lang="en"), groups={"alignment": ["x"]})


@pytest.mark.parametrize(("n_docs", "unit", "expected"), [
    (1, "document", "resamples only 1 document(s); its intervals are degenerate"),
    (3, "segment", "only 3 segment(s): bootstrap intervals and p-values are illustrations"),
    (12, "document", None),
])
def test_too_few_resampling_units_are_noted(n_docs, unit, expected):
    from evalmt.metrics import ConfidenceOptions

    hyps = [f"a b c {i}" for i in range(max(3, n_docs))]
    refs = [[f"a b d {i}" for i in range(len(hyps))]]
    doc_ids = [f"d{i % n_docs}" for i in range(len(hyps))]
    report = score_systems(hypotheses={"s": hyps}, references=refs, doc_ids=doc_ids,
                           seg_ids=[str(i) for i in range(len(hyps))],
                           metrics=build_metrics(["bleu"], tgt_lang="en"),
                           confidence=ConfidenceOptions(samples=20, seed=1, unit=unit))
    sample_notes = [n for n in report.notes if "resampl" in n or "segment(s)" in n]
    if expected is None:
        assert sample_notes == []
    else:
        assert len(sample_notes) == 1 and expected in sample_notes[0]
