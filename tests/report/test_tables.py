"""Score table writers: files parse back, Markdown and LaTeX have the right shape."""

import csv
import json
import os

import pytest

from evalmt.errors import EvalMTError
from evalmt.metrics import ConfidenceOptions, SignificanceOptions, build_metrics, score_systems
from evalmt.report.run_dir import atomic_write_text
from evalmt.report.tables import (
    latex_escape,
    render_latex,
    render_markdown,
    write_score_tables,
)

HYPS = {
    "base_line": ["the cat sat on the mat", "a dog ran", "hello world", "red tree"],
    "better&co": ["the cat sat on a mat", "the dog ran", "hello world !", "a red tree"],
    "worse": ["cat", "dog", "world", "tree"],
}
REFS = [["the cat sat on the mat", "the dog ran away", "hello world !", "a red tree"]]
DOCS = ["d1", "d1", "d2", "d2"]
SEGS = ["1", "2", "1", "2"]


@pytest.fixture(scope="module")
def report():
    return score_systems(hypotheses=HYPS, references=REFS, doc_ids=DOCS, seg_ids=SEGS,
                         metrics=build_metrics(["bleu", "chrf", "ter"], tgt_lang="en"),
                         confidence=ConfidenceOptions(samples=50),
                         significance=SignificanceOptions(samples=50))


def test_write_all_tables_and_parse_back(tmp_path, report):
    written = write_score_tables(report, tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted(["scores.json", "scores.csv", "scores.md", "scores.tex",
                            "documents.csv", "segments.csv", "significance.csv"])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    scores = list(csv.DictReader((tmp_path / "scores.csv").open(encoding="utf-8")))
    assert len(scores) == 3 * 3  # systems × metrics
    for row in scores:
        want = report.corpus_score(row["system"], row["metric"])
        assert float(row["score"]) == want.score  # full precision round trip
        assert row["signature"] == want.signature and row["signature"].startswith("nrefs:1")
        assert float(row["ci_low"]) <= float(row["ci_high"])
        assert int(row["cluster"]) >= 1

    docs = list(csv.DictReader((tmp_path / "documents.csv").open(encoding="utf-8")))
    assert len(docs) == 3 * 3 * 2 and all(r["signature"] for r in docs)
    assert {r["num_segments"] for r in docs} == {"2"}
    segs = list(csv.DictReader((tmp_path / "segments.csv").open(encoding="utf-8")))
    assert len(segs) == 3 * 3 * 4 and all(r["signature"] for r in segs)
    # sentence BLEU uses effective order, as sacrebleu.sentence_bleu does
    assert all("eff:yes" in r["signature"] for r in segs if r["metric"] == "BLEU")
    sig = list(csv.DictReader((tmp_path / "significance.csv").open(encoding="utf-8")))
    assert len(sig) == 3 * 3  # 3 pairs × 3 metrics
    for row in sig:
        assert float(row["delta_b_minus_a"]) == pytest.approx(
            float(row["score_b"]) - float(row["score_a"]))
        assert 0 < float(row["p_value"]) <= 1 and "ar:50" in row["signature"]
        assert row["method"] == "approximate-randomization" and row["unit"] == "segment"
        assert float(row["delta_ci_low"]) <= float(row["delta_ci_high"])
        assert float(row["p_value"]) <= float(row["p_adjusted"]) <= 1
        assert row["correction"] == "holm" and row["significant"] in ("True", "False")
        assert float(row["p_mc_error"]) >= 0

    assert not (tmp_path / "groups.csv").exists()  # no groupings in this report

    doc = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    assert doc["systems"] == list(HYPS) and doc["metrics"] == ["BLEU", "chrF2", "TER"]
    assert len(doc["scores"]) == 9 and len(doc["significance"]) == 9
    assert doc["cluster_rule"] == report.cluster_rule and doc["cluster_rule"].startswith("WMT")
    docs_md = (tmp_path / "scores.md").read_text(encoding="utf-8")
    assert f"Rank clusters: {report.cluster_rule}." in docs_md
    assert f"% rank clusters: {report.cluster_rule}" in (tmp_path / "scores.tex").read_text(
        encoding="utf-8")


def test_markdown_table_shape(report):
    md = render_markdown(report)
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(HYPS)  # header, separator, one row per system
    assert all(line.count("|") == 2 + len(report.metrics) for line in table)
    assert table[0] == "| system | BLEU | chrF2 | TER |"
    assert "`nrefs:1|" in md  # signatures listed


def test_latex_is_booktabs_with_balanced_braces(report):
    tex = render_latex(report)
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1
    depth = 0
    for ch in tex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert r"better\&co" in tex and r"base\_line" in tex


@pytest.mark.parametrize(("text", "expected"), [
    ("a_b", r"a\_b"), ("50%", r"50\%"), ("{x}", r"\{x\}"), ("a&b#c$", r"a\&b\#c\$"),
    ("~^", r"\textasciitilde{}\textasciicircum{}"), ("\\", r"\textbackslash{}"),
])
def test_latex_escape(text, expected):
    assert latex_escape(text) == expected


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "scores.csv"
    atomic_write_text(target, "old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(EvalMTError, match="scores.csv: cannot write: disk full"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_unknown_format_is_an_error(tmp_path, report):
    with pytest.raises(EvalMTError, match="format"):
        write_score_tables(report, tmp_path, formats=("xlsx",))


def test_groups_csv_written_when_report_has_groups(tmp_path):
    report = score_systems(hypotheses=HYPS, references=REFS, doc_ids=DOCS, seg_ids=SEGS,
                           metrics=build_metrics(["chrf"], tgt_lang="en"),
                           groups={"parity": ["odd", "even", "odd", "even"]})
    write_score_tables(report, tmp_path, formats=("json",))
    rows = list(csv.DictReader((tmp_path / "groups.csv").open(encoding="utf-8")))
    assert len(rows) == 3 * 2
    assert {(r["grouping"], r["group"], r["num_segments"]) for r in rows} == {
        ("parity", "odd", "2"), ("parity", "even", "2")}


def test_other_stages_tables_ride_along_in_json_and_markdown(tmp_path, report):
    write_score_tables(report, tmp_path, json_extra={"hygiene": [{"system": "worse"}]},
                       markdown_appendix="### Output hygiene\n\n| x |\n")
    doc = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    assert doc["hygiene"] == [{"system": "worse"}]
    assert doc["higher_is_better"] == {"BLEU": True, "chrF2": True, "TER": False}
    md = (tmp_path / "scores.md").read_text(encoding="utf-8")
    assert md.index("| worse |") < md.index("### Output hygiene") and md.endswith("| x |\n")


def test_segments_csv_carries_alignment_confidence_when_given(tmp_path, report):
    confidence = {("d1", "1"): 0.97, ("d1", "2"): 0.5, ("d2", "1"): 1.0}  # d2/2: none
    write_score_tables(report, tmp_path, formats=("csv",), alignment_confidence=confidence)
    segs = list(csv.DictReader((tmp_path / "segments.csv").open(encoding="utf-8")))
    assert len(segs) == 3 * 3 * 4
    for row in segs:
        want = confidence.get((row["doc_id"], row["seg_id"]))
        assert row["alignment_confidence"] == ("" if want is None else str(want))
    write_score_tables(report, tmp_path, formats=("csv",))  # no confidences: no column
    header = (tmp_path / "segments.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "alignment_confidence" not in header
