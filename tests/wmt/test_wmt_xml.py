"""The organisers' XML form of WMT23 zh-en (built here from the txt files) through wmt-xml.

The XML carries document ids (and domains), so the per-document tables work on
WMT too; corpus scores must still equal the organisers' table.
"""

import csv
import json
from xml.sax.saxutils import escape

import pytest
import yaml

from evalmt.cli import main
from tests.wmt.conftest import organisers_table, shared_dir

DOC_SIZE = 25
SYSTEMS = ["GPT4-5shot", "ONLINE-B"]


def _build_xml(folder, path):
    """wmttest2023.zh-en.all.xml-style: docs of 25 segments, src, refA and <hyp> per system."""
    src = (folder / "generaltest2023.zh-en.src.zh").read_text("utf-8").splitlines()
    ref = (folder / "generaltest2023.zh-en.ref.refA.en").read_text("utf-8").splitlines()
    hyps = {s: (folder / f"generaltest2023.zh-en.hyp.{s}.en").read_text("utf-8").splitlines()
            for s in SYSTEMS}

    def block(tag, attrs, lines):
        segs = "".join(f'<seg id="{i + 1}">{escape(t)}</seg>' for i, t in enumerate(lines))
        return f"<{tag} {attrs}><p>{segs}</p></{tag}>"

    docs = []
    for k, start in enumerate(range(0, len(src), DOC_SIZE)):
        part = slice(start, start + DOC_SIZE)
        domain = ("news", "manuals", "user_review", "speech")[k % 4]
        docs.append(f'<doc id="{domain}_{k}" origlang="zh" domain="{domain}">'
                    + block("src", 'lang="zh"', src[part])
                    + block("ref", 'lang="en" translator="refA"', ref[part])
                    + "".join(block("hyp", f'system="{s}" lang="en"', h[part])
                              for s, h in hyps.items()) + "</doc>")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<dataset id="generaltest2023">'
                    '<collection id="general">' + "\n".join(docs) + "</collection></dataset>\n",
                    encoding="utf-8")
    return len(docs)


@pytest.mark.slow
def test_wmt23_xml_reproduces_the_table_with_documents(tmp_path):
    folder = shared_dir("wmt23-zh-en")
    xml = tmp_path / "wmttest2023.zh-en.all.xml"
    n_docs = _build_xml(folder, xml)
    from sacrebleu.dataset.wmt_xml import WMTXMLDataset  # the independent reader

    fields = WMTXMLDataset._unwrap_wmt21_or_later(str(xml))
    assert fields["src"] == (folder / "generaltest2023.zh-en.src.zh").read_text(
        "utf-8").splitlines()
    config = {"name": "wmt23-xml", "output": str(tmp_path / "out"),
              "data": [{"name": "wmt23", "reader": "wmt-xml", "path": str(xml)}],
              "systems": [{"name": "{system}", "type": "hypotheses",
                           "path": str(folder / "generaltest2023.zh-en.hyp.*.en")}],
              "metrics": ["bleu"], "confidence": None, "significance": None}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    args = ["run", str(tmp_path / "c.yaml"), "--no-progress"]
    for system in SYSTEMS:
        args += ["--only-system", system]
    assert main(args) == 0
    run = tmp_path / "out" / "wmt23-xml"
    scores = json.loads((run / "scores.json").read_text("utf-8"))["scores"]
    table = organisers_table(folder)
    for row in scores:
        assert abs(row["score"] - table[(row["system"], "bleu-refA")]) < 1e-9
    with open(run / "documents.csv", encoding="utf-8", newline="") as fh:
        docs = {(r["system"], r["doc_id"]) for r in csv.DictReader(fh)}
    assert len(docs) == n_docs * len(SYSTEMS)
    assert ("GPT4-5shot", "news_0") in docs
