"""``evalmt score``: numbers equal sacrebleu's, formats, ids and clear errors."""

import csv
import io
import json

import pytest
import sacrebleu

from evalmt.cli import main
from evalmt.cli.score import system_names

REF = ["the cat sat on the mat", "a dog ran in the park", "hello world", "the red tree is old"]
REF2 = ["a cat sat on the mat", "the dog ran in a park", "hello , world", "the old tree is red"]
HYP1 = ["the cat sat on a mat", "the dog ran in the park", "hello world !", "a red tree is old"]
HYP2 = ["cat on mat", "dog park", "world", "tree"]


@pytest.fixture()
def files(tmp_path):
    paths = {}
    for name, lines in {"ref": REF, "ref2": REF2, "sysA": HYP1, "sysB": HYP2,
                        "ids": ["d1", "d1", "d2", "d2"]}.items():
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "other").mkdir()
    paths["dup"] = tmp_path / "other" / "sysA.txt"
    paths["dup"].write_text("\n".join(HYP2) + "\n", encoding="utf-8")
    return paths


def _run(capsys, argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("two_refs", [False, True])
def test_json_scores_equal_sacrebleu(capsys, files, two_refs):
    refs = ["--ref", files["ref"]] + (["--ref", files["ref2"]] if two_refs else [])
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--hyp", files["sysB"], *refs,
                               "-m", "bleu", "chrf", "chrf++", "ter"])
    assert rc == 0
    doc = json.loads(out)
    ref_streams = [REF, REF2] if two_refs else [REF]
    want = {
        "BLEU": sacrebleu.corpus_bleu, "chrF2": sacrebleu.corpus_chrf,
        "chrF2++": lambda h, r: sacrebleu.corpus_chrf(h, r, word_order=2),
        "TER": sacrebleu.corpus_ter,
    }
    for row in doc["scores"]:
        hyp = HYP1 if row["system"] == "sysA" else HYP2
        assert abs(row["score"] - want[row["metric"]](hyp, ref_streams).score) < 1e-9
        assert row["signature"].startswith(f"nrefs:{len(ref_streams)}|")


def test_markdown_with_significance_and_doc_ids(capsys, files, tmp_path):
    out_dir = tmp_path / "out"
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--hyp", files["sysB"],
                               "--ref", files["ref"], "--doc-ids", files["ids"], "-m", "chrf",
                               "--paired-bs", "--paired-ar", "--samples", "50",
                               "--confidence", "50", "-f", "md", "--output-dir", out_dir])
    assert rc == 0
    assert out.splitlines()[0] == "| system | chrF2 |"
    docs = list(csv.DictReader((out_dir / "documents.csv").open(encoding="utf-8")))
    assert sorted({r["doc_id"] for r in docs}) == ["d1", "d2"]
    d1 = [r for r in docs if r["system"] == "sysA" and r["doc_id"] == "d1"][0]
    assert float(d1["score"]) == pytest.approx(sacrebleu.corpus_chrf(HYP1[:2], [REF[:2]]).score,
                                               abs=1e-9)
    segs = list(csv.DictReader((out_dir / "segments.csv").open(encoding="utf-8")))
    assert [(r["doc_id"], r["seg_id"]) for r in segs[:4]] == [("d1", "1"), ("d1", "2"),
                                                              ("d2", "1"), ("d2", "2")]
    sig = list(csv.DictReader((out_dir / "significance.csv").open(encoding="utf-8")))
    # --paired-bs is sacrebleu's test, as sacrebleu's own flag; --paired-ar forms the clusters
    assert {r["method"] for r in sig} == {"sacrebleu-paired-bootstrap",
                                          "approximate-randomization"}
    assert "Rank clusters: WMT rule" in out and "approximate-randomization, segment unit" in out
    assert "sacrebleu-paired-bootstrap is sacrebleu's (Moses') paired bootstrap" in out


def test_paired_test_options(capsys, files, tmp_path):
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--hyp", files["sysB"],
                               "--ref", files["ref"], "-m", "chrf", "--paired-test",
                               "paired-bootstrap", "--samples", "40", "--correction", "bh",
                               "--alpha", "0.1", "--rank-ranges", "-f", "json"])
    assert rc == 0
    doc = json.loads(out)
    assert {t["method"] for t in doc["significance"]} == {"paired-bootstrap"}
    assert "Benjamini–Hochberg" in doc["cluster_rule"] and "α = 0.1" in doc["cluster_rule"]
    assert all(r["rank_low"] >= 1 for r in doc["scores"])


def test_csv_format(capsys, files):
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--ref", files["ref"],
                               "-m", "bleu", "-f", "csv", "-l", "en-de"])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and "tok:13a" in rows[0]["signature"]


@pytest.mark.parametrize(("paths", "expected"), [
    (["a/out.txt", "b/out.txt", "c/out.txt"], ["out", "out-2", "out-3"]),
    (["x.txt", "y.hyp"], ["x", "y"]),
])
def test_system_names_are_unique(paths, expected):
    from pathlib import Path
    assert system_names([Path(p) for p in paths]) == expected


@pytest.mark.parametrize(("extra", "message"), [
    (["--hyp", "short"], "1 lines, but the references have 4"),
    (["--hyp", "missing"], "cannot read"),
    (["-m", "bleuu"], "did you mean 'bleu'"),
    (["-l", "english"], "expected SRC-TGT"),
    (["--doc-ids", "short"], "1 doc ids"),
    # the text reader's rule: a document's lines are consecutive, ids are not empty
    (["--doc-ids", "split"], "split.txt:3: duplicate doc id 'd1': it already occurred at"),
    (["--doc-ids", "blank"], "blank.txt:2: empty document id"),
    (["--confidence", "10", "--confidence-unit", "document"],
     "--confidence-unit document: give the documents with --doc-ids FILE or --docs PATH"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, files, tmp_path, extra, message):
    for name, text in {"short": "one line\n", "split": "d1\nd2\nd1\nd1\n",
                       "blank": "d1\n \nd2\nd2\n"}.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    extra = [str(tmp_path / f"{e}.txt") if e in ("short", "split", "blank")
             else str(tmp_path / "nope.txt") if e == "missing" else e for e in extra]
    argv = ["score", "--ref", files["ref"]]
    argv += extra if "--hyp" in extra else ["--hyp", files["sysA"], *extra]
    rc, _, err = _run(capsys, argv)
    assert rc == 2
    assert err.startswith("evalmt: error:") and message in err and err.count("\n") == 1


def test_duplicate_stems_score_separately(capsys, files):
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--hyp", files["dup"],
                               "--ref", files["ref"], "-m", "bleu"])
    assert rc == 0
    assert json.loads(out)["systems"] == ["sysA", "sysA-2"]


def test_docs_testset_gives_doc_ids_and_references(capsys, tmp_path):
    from evalmt.data import read_testset
    from evalmt.resources import samples_dir

    sample = sorted(samples_dir().glob("*.txt"))[0]
    testset = read_testset({"reader": "bilingual-txt", "path": str(sample)})
    refs = testset.reference_streams()
    hyp = [" ".join(r.split()[::-1]) if i % 2 else r for i, r in enumerate(refs[0])]
    hyp_path = tmp_path / "mt.txt"
    hyp_path.write_text("\n".join(hyp) + "\n", encoding="utf-8")
    rc, out, _ = _run(capsys, ["score", "--hyp", hyp_path, "--docs", sample, "-m", "bleu"])
    assert rc == 0
    row = json.loads(out)["scores"][0]
    assert abs(row["score"] - sacrebleu.corpus_bleu(hyp, refs).score) < 1e-9


def test_lines_split_at_newline_only_like_sacrebleu(capsys, tmp_path):
    # U+2028, form feed and \x1c are inside a line for sacrebleu; splitting at
    # them would shift segments against their references without an error.
    hyp = ["a b c\u2028d e", "foo bar\x0cbaz", "x y\x1cz w"]
    ref = ["a b c\u2028d f", "foo bar\x0cbaz", "x y\x1cz w"]
    (tmp_path / "h.txt").write_text("\n".join(hyp) + "\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("\n".join(ref) + "\n", encoding="utf-8")
    rc, out, _ = _run(capsys, ["score", "--hyp", tmp_path / "h.txt", "--ref", tmp_path / "r.txt",
                               "-m", "bleu", "chrf"])
    assert rc == 0
    want = {"BLEU": sacrebleu.corpus_bleu(hyp, [ref]).score,
            "chrF2": sacrebleu.corpus_chrf(hyp, [ref]).score}
    for row in json.loads(out)["scores"]:
        assert abs(row["score"] - want[row["metric"]]) < 1e-9


def test_every_option_of_every_command_has_help_text_without_escapes():
    import argparse

    from evalmt.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        text = command.format_help()
        assert "%%" not in text, name
        for action in command._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.option_strings[0]} has no help text"


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_per_document_scores_on_stdout_equal_sacrebleu(capsys, files, fmt):
    rc, out, _ = _run(capsys, ["score", "--hyp", files["sysA"], "--ref", files["ref"],
                               "--doc-ids", files["ids"], "--per-document", "-f", fmt,
                               "-m", "bleu", "chrf"])
    assert rc == 0
    expected = {}
    for doc, rows in (("d1", slice(0, 2)), ("d2", slice(2, 4))):
        expected[(doc, "BLEU")] = sacrebleu.corpus_bleu(HYP1[rows], [REF[rows]]).score
        expected[(doc, "chrF2")] = sacrebleu.corpus_chrf(HYP1[rows], [REF[rows]]).score
    if fmt == "json":
        got = {(d["doc_id"], d["metric"]): d["score"] for d in json.loads(out)["documents"]}
    elif fmt == "csv":
        got = {(r["doc_id"], r["metric"]): float(r["score"])
               for r in csv.DictReader(io.StringIO(out))}
    else:
        lines = out.splitlines()
        assert lines[0] == "| document | segments | sysA BLEU | sysA chrF2 |"
        got = {}
        for line in lines[2:4]:
            doc, n, bleu, chrf = (c.strip() for c in line.strip("|").split("|"))
            assert n == "2"
            got[(doc, "BLEU")], got[(doc, "chrF2")] = float(bleu), float(chrf)
        expected = {k: round(v, 2) for k, v in expected.items()}
    assert got == pytest.approx(expected)


def test_per_document_refuses_latex(capsys, files):
    rc, _, err = _run(capsys, ["score", "--hyp", files["sysA"], "--ref", files["ref"],
                               "--per-document", "-f", "tex"])
    assert rc == 2 and "--per-document: formats json, md and csv" in err
