"""``evalmt data inspect``: text and JSON output on the sample, other readers, configs, errors."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalmt.cli import main

FIXTURES = Path(__file__).parent / "bilingual"
ZH = [line for line in (FIXTURES / "library_zh.txt").read_text("utf-8").splitlines() if line]
EN = [line for line in (FIXTURES / "library_en.txt").read_text("utf-8").splitlines() if line]

DOC_KEYS = {"doc_id", "source_file", "layout", "paragraphs", "segments", "flagged_pairs",
            "no_trustworthy_pair", "alignment_margin", "alignment_ratio", "pairs",
            "alignment_decisions", "unassigned_lines", "cleaning", "warnings"}
SET_KEYS = {"name", "reader", "src_lang", "tgt_lang", "num_documents", "num_segments",
            "warnings", "documents"}


def run(capsys, *argv):
    code = main(["data", "inspect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_sample_text(capsys):
    code, out, _ = run(capsys, "--sample")
    assert code == 0
    for expected in ("document 000_1fbc44d11a2c24ea", "layout: zh-first",
                     "paragraphs: zh 3, en 3", "pairs: 3", "src lines 1 → ref lines 4",
                     "alignment decisions (non 1-1, title or flagged): none",
                     "unassigned lines: none",
                     "cleaning: strip-pinyin 76, normalize-space 0", "warnings: none"):
        assert expected in out


def test_sample_json_has_stable_keys(capsys):
    data = run_json(capsys, "--sample")
    (testset,) = data["test_sets"]
    assert set(testset) == SET_KEYS
    (doc,) = testset["documents"]
    assert set(doc) == DOC_KEYS
    assert (doc["layout"], doc["paragraphs"], doc["segments"]) == ("zh-first",
                                                                    {"zh": 3, "en": 3}, 3)
    assert [(p["src_lines"], p["ref_lines"]) for p in doc["pairs"]] == [([1], [4]), ([2], [5]),
                                                                       ([3], [6])]
    assert doc["cleaning"]["strip-pinyin"] == 76
    assert all(p["confidence"] >= 0.9 for p in doc["pairs"])


def test_json_gives_full_texts(capsys):
    # The sample's lines 1 and 4, read off the file: the JSON has them whole (pinyin
    # artifacts removed from the Chinese source), not 40-column previews.
    lines = (FIXTURES.parents[2] / "evalmt" / "resources" / "samples"
             / "000_1fbc44d11a2c24ea.txt").read_text("utf-8").splitlines()
    data = run_json(capsys, "--sample")
    pair = data["test_sets"][0]["documents"][0]["pairs"][0]
    assert pair["ref"] == lines[3] and pair["refs"] == [lines[3]]
    # The source is line 1 without its "字(pinyin)" artifacts: remove them independently.
    assert pair["src"] == re.sub(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", "", lines[0])


def test_sample_options(capsys):
    data = run_json(capsys, "--sample", "--clean", "t2s", "--src-lang", "en", "--tgt-lang", "zh")
    (doc,) = data["test_sets"][0]["documents"]
    assert doc["pairs"][0]["src"].startswith("On May 14")
    assert doc["cleaning"] == {"t2s": 0}  # t2s touches only a Chinese source


def test_page_with_decisions_and_unassigned_lines(tmp_path, capsys):
    path = tmp_path / "page.txt"
    lines = ["图书馆新馆下月开放", *ZH[:3], ZH[3] + ZH[4], *ZH[5:], "(Editor: Wang)", *EN]
    path.write_text("\n".join(lines), encoding="utf-8")
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert "1-0   src lines 1, ref lines -: 图书馆新馆下月开放" in out
    assert "1-2   src lines 5, ref lines 13,14 (confidence 1.00):" in out
    assert "line 9: (Editor: Wang)" in out
    assert "paragraphs: zh 8, en 8" in out


@pytest.mark.parametrize(
    ("name", "content", "reader"),
    [
        ("set.jsonl", '{"src": "你好", "ref": "Hello"}\n{"src": "谢谢", "ref": "Thanks"}\n',
         "jsonl"),
        ("set.tsv", "src\tref\n你好\tHello\n谢谢\tThanks\n", "tsv"),
        ("set.xml", '<dataset id="t"><collection id="c"><doc id="d1" origlang="zh">'
         '<src lang="zh"><p><seg id="1">你好</seg><seg id="2">谢谢</seg></p></src>'
         '<ref lang="en" translator="A"><p><seg id="1">Hello</seg><seg id="2">Thanks</seg>'
         "</p></ref></doc></collection></dataset>\n", "wmt-xml"),
    ],
)
def test_other_readers_by_extension(tmp_path, capsys, name, content, reader):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    data = run_json(capsys, str(path))
    (testset,) = data["test_sets"]
    assert testset["num_segments"] == 2
    (doc,) = testset["documents"]
    assert set(doc) == DOC_KEYS
    assert [p["ref"] for p in doc["pairs"]] == ["Hello", "Thanks"]
    code, out, _ = run(capsys, str(path), "--reader", reader)
    assert code == 0 and "pairs: 2" in out


def test_config_file(tmp_path, capsys):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "p.txt").write_text("\n".join(EN + ZH), encoding="utf-8")
    config = tmp_path / "run.yaml"
    config.write_text("name: t\ndata:\n  - {name: pages, reader: bilingual-txt, path: pages}\n"
                      "systems:\n  - {name: c, type: copy}\n", encoding="utf-8")
    data = run_json(capsys, str(config))
    (doc,) = data["test_sets"][0]["documents"]
    assert (data["test_sets"][0]["name"], doc["layout"], doc["segments"]) == ("pages",
                                                                              "en-first", 8)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "exactly one of PATH_OR_CONFIG or --sample"),
        (["--sample", "x.txt"], "exactly one of PATH_OR_CONFIG or --sample"),
        (["--sample", "--clean", "strip-pinyn"], "did you mean 'strip-pinyin'"),
        (["notes.docx"], "cannot tell the reader"),
        (["missing.txt"], "missing.txt: no such file"),
        (["x.txt", "--reader", "text"], "needs several files"),
    ],
)
def test_errors_are_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_only_one_language_names_the_file(tmp_path, capsys):
    path = tmp_path / "zh-only.txt"
    path.write_text("\n".join(ZH), encoding="utf-8")
    code, _, err = run(capsys, str(path))
    assert code == 2 and "zh-only.txt: bilingual page has only Chinese" in err


def test_console_entry_point():
    result = subprocess.run([sys.executable, "-m", "evalmt", "data", "inspect", "--sample"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "layout: zh-first" in result.stdout


def export(capsys, *argv):
    code = main(["data", "export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_jsonl_and_tsv(tmp_path, capsys):
    import csv

    page = tmp_path / "page.txt"
    lines = [*ZH[:3], ZH[3] + ZH[4], *ZH[5:], *EN]  # 7 Chinese paragraphs, 8 English
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = export(capsys, str(page), "-o", str(tmp_path / "set.jsonl"))
    assert code == 0 and "wrote 7 line(s)" in err
    rows = [json.loads(line) for line in
            (tmp_path / "set.jsonl").read_text("utf-8").splitlines()]
    assert [r["src"] for r in rows] == [*ZH[:3], ZH[3] + ZH[4], *ZH[5:]]
    assert rows[3]["refs"] == [EN[3] + "\n" + EN[4]]  # the 1-2 pair, joined by a newline
    assert rows[3]["meta"]["ref_lines"] == [11, 12] and rows[3]["meta"]["alignment"] == "1-2"
    assert {r["doc_id"] for r in rows} == {"page"} and rows[0]["seg_id"] == "1"
    assert 0.9 <= rows[0]["meta"]["confidence"] <= 1.0
    code, _, _ = export(capsys, str(page), "-o", str(tmp_path / "set.tsv"))
    with (tmp_path / "set.tsv").open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh, dialect="excel-tab"))
    assert table[0] == ["dataset", "doc_id", "seg_id", "src", "ref"]
    assert [row[3:] for row in table[1:]] == [[r["src"], r["refs"][0]] for r in rows]


def test_export_leaves_flagged_pairs_out(capsys):
    gold = FIXTURES / "gold" / "p18_two_articles.txt"  # the English is another article
    code, out, _ = export(capsys, str(gold), "-o", "-", "--format", "jsonl")
    assert code == 0 and out == ""


def test_export_needs_a_known_format(tmp_path, capsys):
    code, _, err = export(capsys, "--sample", "-o", str(tmp_path / "set.csv"))
    assert code == 2 and "cannot tell the format" in err and "--format" in err
