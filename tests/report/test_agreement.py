"""Metric–human agreement: human file formats, and tau / r / accuracy against scipy."""

import random
from itertools import combinations

import pytest
import scipy.stats

from evalmt.data.human import HumanRanking, HumanScore, read_human_scores
from evalmt.errors import DataError
from evalmt.report.agreement import agreement, agreements, render_csv, render_markdown


def _ranking(scores, ranks=None):
    ranks = ranks or {}
    return HumanRanking("h", "h.csv", "csv", tuple(
        HumanScore(s, v, *ranks.get(s, (None, None))) for s, v in scores.items()))


def _accuracy(x, y):
    """Share of human-ordered pairs the metric orders the same way (ties in x: wrong)."""
    pairs = [(i, j) for i, j in combinations(range(len(x)), 2) if y[i] != y[j]]
    agree = sum((x[i] - x[j]) * (y[i] - y[j]) > 0 for i, j in pairs)
    return agree / len(pairs)


@pytest.mark.parametrize("seed", range(6))
def test_matches_scipy_on_random_scores_with_ties(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 15)
    systems = [f"s{i}" for i in range(n)]
    # rounded to one decimal, so ties happen on both sides
    metric = {s: round(rng.uniform(10, 12), 1) for s in systems}
    human = {s: round(rng.uniform(70, 72), 1) for s in systems}
    a = agreement(metric="BLEU", scores=metric, higher_is_better=True, clusters={},
                  human=_ranking(human))
    x, y = [metric[s] for s in systems], [human[s] for s in systems]
    tau = scipy.stats.kendalltau(x, y).statistic
    r = scipy.stats.pearsonr(x, y).statistic
    assert a.kendall_tau == pytest.approx(tau, abs=1e-12)
    assert a.pearson == pytest.approx(r, abs=1e-12)
    assert a.pairwise_accuracy == pytest.approx(_accuracy(x, y), abs=1e-12)


def test_lower_is_better_metrics_are_negated():
    human = {"a": 3.0, "b": 2.0, "c": 1.0}
    ter = {"a": 40.0, "b": 50.0, "c": 60.0}  # the best system has the lowest TER
    a = agreement(metric="TER", scores=ter, higher_is_better=False, clusters={},
                  human=_ranking(human))
    assert (a.kendall_tau, a.pairwise_accuracy) == (1.0, 1.0)
    assert a.pearson == pytest.approx(1.0)


def test_cluster_contradictions_need_disjoint_human_ranges():
    human = {"a": 80.0, "b": 79.0, "c": 70.0}
    ranks = {"a": (1, 1), "b": (2, 3), "c": (2, 3)}  # a above both; b, c overlap
    scores = {"a": 20.0, "b": 30.0, "c": 25.0}
    clusters = {"b": 1, "c": 2, "a": 3}
    a = agreement(metric="BLEU", scores=scores, higher_is_better=True, clusters=clusters,
                  human=_ranking(human, ranks))
    # b above c is no contradiction (humans overlap); b and c above a are
    assert sorted(a.contradictions) == [("b", "a"), ("c", "a")]
    assert a.clusters_compared
    no_clusters = agreement(metric="BLEU", scores=scores, higher_is_better=True, clusters={},
                            human=_ranking(human, ranks))
    assert not no_clusters.clusters_compared
    assert "n/a" in render_markdown([no_clusters])


def test_rows_of_any_metric_and_left_out_systems():
    rows = [{"system": s, "metric": m, "score": v, "cluster": None}
            for m, vals in {"COMET": [0.8, 0.7, 0.6], "BLEU": [30, 20, None]}.items()
            for s, v in zip(["a", "b", "x"], vals, strict=True)]
    result = agreements(rows, {"COMET": True, "BLEU": True},
                        _ranking({"a": 2.0, "b": 1.0, "h": 0.0}))
    assert [r.metric for r in result] == ["COMET", "BLEU"]
    assert result[0].systems == ("a", "b") and result[0].not_in_human == ("x",)
    assert result[0].not_scored == ("h",)
    assert result[1].systems == ("a", "b")  # BLEU n/a for x: left out
    assert render_csv(result).splitlines()[0].startswith("metric,systems,kendall_tau")


@pytest.mark.parametrize(("name", "text", "fmt", "expected"), [
    ("h.tsv", "zh-en\tA\\_B\t1-2\t80.5\nzh-en\tC\t3\t70\n", "auto",
     [HumanScore("A_B", 80.5, 1, 2), HumanScore("C", 70.0, 3, 3)]),
    ("h.txt", "73.4 0.134 1586 2098 HUMAN-B.12 HUMAN-B\n69.8 -0.026 1570 2134 J.6 J\n", "auto",
     [HumanScore("HUMAN-B", 0.134), HumanScore("J", -0.026)]),
    ("h.csv", "system,score,ranks\nA,1.5,1-1\nB,0.5,\n", "auto",
     [HumanScore("A", 1.5, 1, 1), HumanScore("B", 0.5)]),
    ("h.dat", "A,1\nB,2\n", "csv", [HumanScore("A", 1.0), HumanScore("B", 2.0)]),
])
def test_human_formats(tmp_path, name, text, fmt, expected):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert list(read_human_scores(tmp_path / name, format=fmt).scores) == expected


@pytest.mark.parametrize(("name", "text", "message"), [
    ("h.tsv", "zh-en\tA\t1-2\n", r"h.tsv:1: expected 4 tab-separated columns"),
    ("h.tsv", "zh-en\tA\t2-1\t3\nzh-en\tB\t1\t2\n", r"h.tsv:1: rank range '2-1' ends before"),
    ("h.csv", "A,1\nA,2\n", r"h.csv:2: system 'A' listed twice \(first on line 1\)"),
    ("h.csv", "A,1\nB,zero\n", r"h.csv:2: score 'zero' is not a number"),
    ("h.csv", "A,1\n", r"1 system\(s\); agreement needs at least 2"),
    ("h.txt", "1 2 3\n", r"h.txt:1: expected 6 columns"),
    ("h.json", "{}", r"cannot tell the human score format"),
])
def test_bad_human_files(tmp_path, name, text, message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_human_scores(tmp_path / name)


def test_organisers_order_breaks_ties_of_rounded_scores(tmp_path):
    """WMT22 prints z rounded to 3 decimals; the file order is the ranking."""
    (tmp_path / "h.txt").write_text("1 0.5 1 1 a.0 a\n1 -0.083 1 1 b.1 b\n1 -0.083 1 1 c.2 c\n",
                                    encoding="utf-8")
    ranking = read_human_scores(tmp_path / "h.txt")
    assert ranking.ordered
    a = agreement(metric="BLEU", scores={"a": 3.0, "b": 2.0, "c": 1.0}, higher_is_better=True,
                  clusters={}, human=ranking)
    assert a.kendall_tau == pytest.approx(scipy.stats.kendalltau([3, 2, 1], [3, 2, 1]).statistic)
    assert a.pairwise_accuracy == 1.0
    (tmp_path / "h.csv").write_text("a,0.5\nb,-0.083\nc,-0.083\n", encoding="utf-8")
    plain = read_human_scores(tmp_path / "h.csv")
    assert not plain.ordered  # a CSV's scores are taken as they are: b and c tie
    b = agreement(metric="BLEU", scores={"a": 3.0, "b": 2.0, "c": 1.0}, higher_is_better=True,
                  clusters={}, human=plain)
    assert b.kendall_tau == pytest.approx(
        scipy.stats.kendalltau([3, 2, 1], [0.5, -0.083, -0.083]).statistic)
    assert b.pairs == 2


def test_one_markdown_table_per_human_ranking():
    scores = {"a": 2.0, "b": 1.0}
    one = agreement(metric="BLEU", scores=scores, higher_is_better=True, clusters={},
                    human=HumanRanking("DA", "x", "csv", (HumanScore("a", 1), HumanScore("b", 0))))
    two = agreement(metric="BLEU", scores=scores, higher_is_better=True, clusters={},
                    human=HumanRanking("MQM", "y", "csv", (HumanScore("a", 0), HumanScore("b", 1))))
    text = render_markdown([one, two])
    assert "judgements (DA)" in text and "judgements (MQM)" in text
    assert text.count("| BLEU | 2 |") == 2
