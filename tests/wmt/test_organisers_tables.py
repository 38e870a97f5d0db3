"""``evalmt run`` on the real WMT22/WMT23 zh→en data reproduces the organisers' tables.

Expected values are read from the organisers' ``automatic-scores.zh-en.tsv``
(made with sacrebleu by the WMT organisers), never from evalmt.
"""

import pytest

from tests.wmt.conftest import corpus_scores, organisers_table, shared_dir

#: (organisers' metric column, evalmt data set folder or None for one data set, metric)
WMT23_COLUMNS = [("bleu-refA", "BLEU"), ("chrf-refA", "chrF2"),
                 ("bleu-all", "BLEU"), ("chrf-all", "chrF2")]
WMT22_COLUMNS = [("bleu-A", "refA", "BLEU"), ("chrf-A", "refA", "chrF2"),
                 ("bleu-B", "refB", "BLEU"), ("chrf-B", "refB", "chrF2"),
                 ("bleu-all", "refAB", "BLEU")]


@pytest.mark.slow
@pytest.mark.parametrize(("column", "metric"), WMT23_COLUMNS)
def test_wmt23_table_reproduced(wmt23_run, column, metric):
    table = organisers_table(shared_dir("wmt23-zh-en"))
    ours = corpus_scores(wmt23_run)
    expected = {s: v for (s, c), v in table.items() if c == column}
    assert len(expected) == 15
    for system, value in expected.items():
        assert abs(ours[(system, metric)] - value) < 1e-9, (system, column)


@pytest.mark.slow
@pytest.mark.parametrize(("column", "dataset", "metric"), WMT22_COLUMNS)
def test_wmt22_table_reproduced(wmt22_run, column, dataset, metric):
    table = organisers_table(shared_dir("wmt22-zh-en"))
    ours = corpus_scores(wmt22_run / dataset)
    expected = {s: v for (s, c), v in table.items() if c == column}
    assert len(expected) == 12
    for system, value in expected.items():
        assert abs(ours[(system, metric)] - value) < 1e-9, (system, column)


@pytest.mark.slow
def test_wmt22_two_reference_chrf_differs_in_the_fourth_decimal(wmt22_run):
    """The table's ``chrf-all`` came from an older sacrebleu; ours is today's sacrebleu's.

    Documented, not matched: every system is within 0.01 of the table (6 of 12
    equal it; NiuTrans is 57.2103 today vs the table's 57.2099, Online-W
    55.6264 vs 55.6352, the largest gap).
    """
    import sacrebleu

    folder = shared_dir("wmt22-zh-en")
    table = {s: v for (s, c), v in organisers_table(folder).items() if c == "chrf-all"}
    ours = corpus_scores(wmt22_run / "refAB")
    assert len(table) == 12
    for system, value in table.items():
        assert abs(ours[(system, "chrF2")] - value) < 1e-2, system
    refs = [(folder / f"generaltest2022.zh-en.ref.{r}.en").read_text(encoding="utf-8")
            .splitlines() for r in ("A", "B")]
    hyps = (folder / "generaltest2022.zh-en.hyp.NiuTrans.en").read_text(
        encoding="utf-8").splitlines()
    today = sacrebleu.corpus_chrf(hyps, refs).score
    assert abs(ours[("NiuTrans", "chrF2")] - today) < 1e-9
    assert round(today, 4) == 57.2103 and round(table["NiuTrans"], 4) == 57.2099
