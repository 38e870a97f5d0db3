"""report.html: escaping of the embedded data, self-containment, payload contents, CLI, runner.

The payload is checked against the files a hand-built run folder holds, so
expected values are the ones written here, not computed by the code under test.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from evalmt.cli import main
from evalmt.errors import DataError
from evalmt.report.html import embed_json, render_html, report_payload, write_html_report

HOSTILE = [
    "</script><script>window.pwned = 1</script>",
    "<script>alert(1)</script>",
    "</SCRIPT >",
    "<!-- <script>",
    "a & b &amp; <b>bold</b>",
    "line\u2028separator\u2029paragraph",
    "quote \" and backslash \\ and ' apostrophe",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_embedded_json_cannot_close_the_script_block(text):
    out = embed_json({"seg": [text], "k": text})
    assert not set("<>&\u2028\u2029") & set(out)
    assert json.loads(out) == {"seg": [text], "k": text}


SEGMENTS = [  # doc_id, seg_id, src, ref, hyp of system "a", hyp of system "b"
    ("d1", "1", "你好", "hello world", "hello there world", "hi world"),
    ("d1", "2", "再见", HOSTILE[0], HOSTILE[1], "bye"),
    ("d2", "1", "谢谢", "thank you", "thanks you", "thank you"),
]
DOC_BLEU = {"a": {"d1": 12.5, "d2": 40.0}, "b": {"d1": 5.4149786088289655, "d2": 100.0}}


def make_run(root: Path) -> Path:
    """A finished run folder with two systems, two documents and three segments."""
    path = root / "run"
    (path / "hypotheses").mkdir(parents=True)
    manifest = {"status": "complete", "run": "tiny", "started": "t0", "finished": "t1",
                "warnings": ["sample: a warning"],
                "datasets": {"sample": {"folder": ".", "src_lang": "zh", "tgt_lang": "en",
                                        "content_sha256": "abc", "alignment_counts": {"1-1": 3},
                                        "metrics": [{"name": "BLEU", "signature": "sig"}]}},
                "results": {"sample": {s: {"hypotheses": f"hypotheses/{s}.jsonl"}
                                       for s in "ab"}}}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    scores = {"systems": ["a", "b"], "metrics": ["BLEU"],
              "scores": [{"system": s, "metric": "BLEU", "score": v, "signature": "sig",
                          "ci_low": v - 1, "ci_high": v + 1, "cluster": c}
                         for s, v, c in (("a", 20.0, 2), ("b", 30.0, 1))],
              "hygiene": [{"system": "a", "segments": 3, "empty": 0}]}
    (path / "scores.json").write_text(json.dumps(scores), encoding="utf-8")
    for k, system in enumerate("ab"):
        rows = [{"doc_id": d, "seg_id": i, "src": src, "ref": ref, "refs": [ref],
                 "hyp": hyps[k]} for d, i, src, ref, *hyps in SEGMENTS]
        (path / "hypotheses" / f"{system}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with (path / "documents.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["system", "metric", "doc_id", "score", "num_segments", "signature"])
        for system, docs in DOC_BLEU.items():
            for doc_id, score in docs.items():
                w.writerow([system, "BLEU", doc_id, score, 2 if doc_id == "d1" else 1, "sig"])
    with (path / "segments.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["system", "metric", "doc_id", "seg_id", "score", "signature"])
        for n, (d, i, *_rest) in enumerate(SEGMENTS):
            w.writerow(["a", "BLEU", d, i, 10.0 * n, "sig"])
            w.writerow(["b", "BLEU", d, i, 1.0 / 3, "sig"])
    return path


def data_block(page: str) -> str:
    head = '<script type="application/json" id="report-data">'
    start = page.index(head) + len(head)
    return page[start:page.index("</script>", start)]


def test_payload_holds_what_the_run_wrote(tmp_path):
    payload = report_payload(make_run(tmp_path))
    (ds,) = payload["datasets"]
    assert ds["systems"] == ["a", "b"] and ds["metrics"] == ["BLEU"] and ds["higher"] == [True]
    assert ds["docs"]["ids"] == ["d1", "d2"] and ds["docs"]["segments"] == [2, 1]
    # full precision: a pre-rounded 5.4150 would display as 5.42 next to a table's 5.41
    assert ds["docs"]["scores"]["BLEU"] == {"a": [12.5, 40.0], "b": [5.4149786088289655, 100.0]}
    seg = ds["segments"]
    assert seg["doc"] == [0, 0, 1] and seg["id"] == ["1", "2", "1"]
    assert seg["ref"] == [s[3] for s in SEGMENTS]
    assert seg["hyp"] == {"a": [s[4] for s in SEGMENTS], "b": [s[5] for s in SEGMENTS]}
    assert seg["scores"]["BLEU"] == {"a": [0.0, 10.0, 20.0], "b": [1.0 / 3] * 3}
    assert payload["manifest"]["warnings"] == ["sample: a warning"]


def test_page_is_self_contained_and_segments_cannot_break_out(tmp_path):
    page = render_html(report_payload(make_run(tmp_path)))
    # exactly two script elements: the JSON data and the inlined code
    assert len(re.findall(r"<script\b", page, flags=re.I)) == 2
    assert len(re.findall(r"</script", page, flags=re.I)) == 2
    assert "window.pwned" in page  # present, but only inside the escaped JSON
    assert json.loads(data_block(page)) == report_payload(tmp_path / "run")
    # nothing is fetched: no src/href to another resource, no <link>, no @import, no url()
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:|//)", page, flags=re.I)
    assert not re.search(r"<link\b|@import|url\(|<iframe\b|fetch\(|XMLHttpRequest", page)
    assert "{{" not in page.replace(data_block(page), "")  # every template marker filled


@pytest.mark.parametrize(("broken", "message"), [
    ("manifest.json", "no manifest.json"),
    ("hypotheses/a.jsonl", "a.jsonl: unreadable hypotheses"),
    ("scores.json", "scores.json: unreadable score table"),
])
def test_missing_files_are_one_line_errors(tmp_path, broken, message):
    path = make_run(tmp_path)
    (path / broken).unlink()
    with pytest.raises(DataError, match=re.escape(message)) as err:
        write_html_report(path)
    assert "\n" not in str(err.value)


def test_cli_report_writes_the_file(tmp_path, capsys):
    path = make_run(tmp_path)
    assert main(["report", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {path / 'report.html'}"
    text = (path / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="segment-viewer"' in text
    out = tmp_path / "elsewhere.html"
    assert main(["report", str(path), "-o", str(out)]) == 0 and out.is_file()
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_every_run_writes_report_html(demo_run_dir):
    page = (demo_run_dir / "report.html").read_text(encoding="utf-8")
    payload = json.loads(data_block(page))
    assert payload["run"] == "demo-zh-en"
    assert payload["datasets"][0]["systems"] == ["dictionary-gloss", "copy-source"]
    assert payload["manifest"]["status"] == "complete"


@pytest.mark.parametrize(("value", "expected"), [
    (float("nan"), None), (float("inf"), None), (-float("inf"), None), (1.5, 1.5), (0, 0),
])
def test_non_finite_numbers_become_null(value, expected):
    assert json.loads(embed_json({"x": [value], "y": {"z": value}})) == \
        {"x": [expected], "y": {"z": expected}}


def test_nan_score_in_a_run_still_renders(tmp_path):
    path = make_run(tmp_path)
    scores = json.loads((path / "scores.json").read_text(encoding="utf-8"))
    scores["scores"][0]["score"] = float("nan")
    (path / "scores.json").write_text(json.dumps(scores), encoding="utf-8")  # writes NaN
    with (path / "segments.csv").open("a", encoding="utf-8") as fh:
        fh.write("a,BLEU,d2,1,nan,sig\n")
    page = write_html_report(path).read_text(encoding="utf-8")
    ds = json.loads(data_block(page))["datasets"][0]
    assert ds["scores"][0]["score"] is None
    assert ds["segments"]["scores"]["BLEU"]["a"][2] is None
