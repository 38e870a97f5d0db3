"""Reader `wmt-xml`: WMT21+ test-set XML → expected TestSet; malformed or inconsistent → errors."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from evalmt.data import read_testset
from evalmt.errors import ConfigError, DataError

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<dataset id="wmt99">\n<collection id="general">\n'
TAIL = "</collection>\n</dataset>\n"


def doc(doc_id: str, src: dict[str, str], refs: dict[str, dict[str, str]],
        src_lang: str = "zh", ref_lang: str = "en") -> str:
    def segs(items: dict[str, str]) -> str:
        return "<p>" + "".join(f'<seg id="{k}">{v}</seg>' for k, v in items.items()) + "</p>"

    out = [f'<doc id="{doc_id}" origlang="zh">', f'<src lang="{src_lang}">{segs(src)}</src>']
    for name, items in refs.items():
        out.append(f'<ref lang="{ref_lang}" translator="{name}">{segs(items)}</ref>')
    out.append('<hyp system="sys1" lang="en"><p><seg id="1">ignored</seg></p></hyp>')
    out.append("</doc>")
    return "\n".join(out) + "\n"


def read(tmp_path: Path, xml: str, **options):
    (tmp_path / "test.xml").write_text(xml, encoding="utf-8")
    return read_testset({"reader": "wmt-xml", "path": "test.xml", **options}, base_dir=tmp_path)


TWO_DOCS = HEAD + doc("d1", {"1": "你好", "2": "世界 &amp; 人"},
                      {"A": {"1": "hello", "2": "world &amp; man"},
                       "B": {"2": "earth", "1": "hi"}}) \
    + doc("d2", {"1": "再见"}, {"B": {"1": "bye"}, "A": {"1": "goodbye"}}) + TAIL


@pytest.mark.parametrize(
    ("xml", "options", "expected"),
    [
        pytest.param(TWO_DOCS, {}, [
            ("d1", "1", "你好", ("hello", "hi")),
            ("d1", "2", "世界 & 人", ("world & man", "earth")),
            ("d2", "1", "再见", ("goodbye", "bye")),
        ], id="all-translators-in-first-appearance-order"),
        pytest.param(TWO_DOCS, {"translators": ["B"]}, [
            ("d1", "1", "你好", ("hi",)), ("d1", "2", "世界 & 人", ("earth",)),
            ("d2", "1", "再见", ("bye",)),
        ], id="select-one-translator"),
        pytest.param(TWO_DOCS, {"translators": ["B", "A"]}, [
            ("d1", "1", "你好", ("hi", "hello")),
            ("d1", "2", "世界 & 人", ("earth", "world & man")),
            ("d2", "1", "再见", ("bye", "goodbye")),
        ], id="translator-order-is-stream-order"),
        pytest.param(HEAD + '<doc id="x"><src lang="zh-Hant"><p><seg id="7">一<b>二</b>三'
                     '</seg></p></src><ref lang="en-US"><seg id="7">one &lt;2&gt; three</seg>'
                     "</ref></doc>" + TAIL, {}, [("x", "7", "一二三", ("one <2> three",))],
                     id="mixed-content-lang-subtags-no-translator-attr"),
        pytest.param(HEAD + doc("s", {"1": "只有原文"}, {}) + TAIL, {},
                     [("s", "1", "只有原文", ())], id="source-only"),
    ],
)
def test_good_xml(tmp_path, xml, options, expected):
    ts = read(tmp_path, xml, **options)
    assert [(s.doc_id, s.seg_id, s.src, s.refs) for s in ts.segments()] == expected


def test_agrees_with_sacrebleu_wmt_xml_unwrapping(tmp_path):
    # sacrebleu's own WMT21+ reader (lxml based) is the independent source of truth.
    from sacrebleu.dataset.wmt_xml import WMTXMLDataset

    suite = ('<doc id="ts1" origlang="zh" testsuite="x"><src lang="zh"><p><seg id="1">测</seg>'
             "</p></src></doc>\n")
    hyp = '<hyp system="sys1" lang="en"><p><seg id="1">ignored</seg></p></hyp>\n'
    # (sacrebleu needs every segment in a <hyp>, so the partial one is left out here)
    xml = TWO_DOCS.replace(hyp, "").replace("</collection>", suite + "</collection>")
    ts = read(tmp_path, xml)
    fields = WMTXMLDataset._unwrap_wmt21_or_later(str(tmp_path / "test.xml"))
    assert ts.sources() == fields["src"]
    assert ts.doc_ids() == fields["docid"]
    assert ts.reference_streams() == [fields["ref:A"], fields["ref:B"]]
    assert ts.meta["warnings"] == ("skipped 1 test-suite document(s)",)


def test_document_meta_and_provenance(tmp_path):
    ts = read(tmp_path, TWO_DOCS)
    assert ts.documents[0].meta["origlang"] == "zh"
    assert ts.meta["translators"] == ("A", "B")
    assert ts.meta["dataset"] == "wmt99"
    assert list(ts.provenance) == [str(tmp_path / "test.xml")]


# Columns are 1-based; expat points at the tag name of "</src>" (col 43 = "s") and at the
# character after a bare "&" (col 43); a truncated file fails at the start of line 9 (EOF).
BAD = [
    pytest.param(HEAD + '<doc id="d"><src lang="zh"><seg id="1">a</src></doc>' + TAIL,
                 {}, "test.xml:4:43: malformed XML: mismatched tag", id="mismatched-tag"),
    pytest.param(HEAD + '<doc id="d"><src lang="zh"><seg id="1">a & b</seg></src></doc>' + TAIL,
                 {}, "test.xml:4:43: malformed XML: not well-formed", id="bare-ampersand"),
    pytest.param(HEAD + doc("d", {"1": "a"}, {"A": {"1": "x"}}), {},
                 "test.xml:9:1: malformed XML: no element found", id="truncated"),
    pytest.param('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                 '<dataset><doc id="d"><src><seg id="1">&x;</seg></src></doc></dataset>', {},
                 "test.xml:2: <!DOCTYPE d> is not allowed", id="external-entity"),
    pytest.param(HEAD + doc("d", {"1": "a", "2": "b"}, {"A": {"1": "x"}}) + TAIL, {},
                 "test.xml:5: segment '2' of document 'd' has no reference by translator 'A'",
                 id="missing-ref-segment"),
    pytest.param(HEAD + doc("d", {"1": "a"}, {"A": {"1": "x", "9": "y"}}) + TAIL, {},
                 "test.xml:6: reference segment '9' of translator 'A' has no source",
                 id="extra-ref-segment"),
    pytest.param(HEAD + doc("d", {"1": "a"}, {"A": {"1": "x"}}) + doc("e", {"1": "b"}, {})
                 + TAIL, {}, "test.xml:9: document 'e' has no reference by translator 'A'",
                 id="doc-missing-translator"),
    pytest.param(TWO_DOCS, {"translators": ["C"]},
                 "test.xml:4: document 'd1' has no reference by translator 'C'",
                 id="unknown-translator"),
    pytest.param(HEAD + doc("d", {"1": "a"}, {}) + doc("d", {"1": "b"}, {}) + TAIL, {},
                 "test.xml:8: duplicate doc id 'd' (first at line 4)", id="duplicate-doc"),
    pytest.param(HEAD + '<doc id="d"><src lang="zh"><p><seg id="1">a</seg>\n<seg id="1">b</seg>'
                 "</p></src></doc>\n" + TAIL, {},
                 "test.xml:5: duplicate segment id '1' in <src> of document 'd'",
                 id="duplicate-seg"),
    pytest.param(HEAD + doc("d", {"1": "a"}, {"A": {"1": "x"}}, src_lang="en", ref_lang="zh")
                 + TAIL, {}, "test.xml:5: <src lang='en'> but the config says src_lang: 'zh'",
                 id="wrong-direction"),
    pytest.param('<tstset setid="x"><doc docid="d"><seg id="1">a</seg></doc></tstset>', {},
                 "test.xml:1: root element is <tstset>, expected <dataset>", id="wrong-root"),
    pytest.param(HEAD + TAIL, {}, "test.xml: no <doc> elements", id="no-docs"),
    pytest.param(HEAD + '<doc><src lang="zh"><seg id="1">a</seg></src></doc>' + TAIL, {},
                 "test.xml:4: <doc> without an id", id="doc-without-id"),
    pytest.param(HEAD + '<doc id="d"><src lang="zh"><seg>a</seg></src></doc>' + TAIL, {},
                 "test.xml:4: <seg> without an id in document 'd'", id="seg-without-id"),
    pytest.param(b"<dataset>\xff</dataset>", {}, "test.xml:1: invalid UTF-8", id="invalid-utf8"),
    pytest.param("  \n", {}, "test.xml: file is empty", id="empty-file"),
]


@pytest.mark.parametrize(("xml", "options", "message"), BAD)
def test_bad_xml(tmp_path, xml, options, message):
    if isinstance(xml, bytes):
        (tmp_path / "test.xml").write_bytes(xml)
        xml = None
    with pytest.raises(DataError) as info:
        if xml is None:
            read_testset({"reader": "wmt-xml", "path": "test.xml"}, base_dir=tmp_path)
        else:
            read(tmp_path, xml, **options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_billion_laughs_is_refused_quickly(tmp_path):
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 12))
    xml = f'<!DOCTYPE dataset [<!ENTITY e0 "lol">{entities}]>\n<dataset>&e11;</dataset>'
    with pytest.raises(DataError, match="test.xml:1: <!DOCTYPE dataset> is not allowed"):
        read(tmp_path, xml)


def test_unknown_config_key(tmp_path):
    with pytest.raises(pydantic.ValidationError, match="translator"):
        read(tmp_path, TWO_DOCS, translator=["A"])


# -- the older SGML format: <srcset> file + one <refset> file per reference ----------------

SRCSET = ('<srcset setid="newstest2019" srclang="any">\n'
          '<doc sysid="ref" docid="a" genre="news" origlang="zh">\n<p>\n'
          '<seg id="1">你好 & 再见</seg>\n<seg id=2>世界 &amp; 人</seg>\n</p>\n</doc>\n'
          '<doc sysid="ref" docid="b" genre="news" origlang="zh">\n'
          '<seg id="1">一</seg>\n</doc>\n</srcset>\n')


def refset(segs: dict[tuple[str, str], str], lang: str = "en") -> str:
    out = [f'<refset setid="newstest2019" srclang="any" trglang="{lang}">']
    for doc_id in dict.fromkeys(d for d, _ in segs):
        out.append(f'<doc sysid="ref" docid="{doc_id}">')
        out += [f'<seg id="{s}">{t}</seg>' for (d, s), t in segs.items() if d == doc_id]
        out.append("</doc>")
    return "\n".join(out + ["</refset>"]) + "\n"


REF_A = refset({("a", "2"): "world &amp; man", ("a", "1"): "hello &lt;b&gt;", ("b", "1"): "one"})
REF_B = refset({("a", "1"): "hi", ("a", "2"): "earth", ("b", "1"): "1"})


def read_sgml(tmp_path: Path, files: dict[str, str], references: list[str]):
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    return read_testset({"reader": "wmt-xml", "path": "src.sgm", "references": references},
                        base_dir=tmp_path)


def test_sgml_two_refsets(tmp_path):
    ts = read_sgml(tmp_path, {"src.sgm": SRCSET, "a.sgm": REF_A, "b.sgm": REF_B},
                   ["a.sgm", "b.sgm"])
    assert [(s.doc_id, s.seg_id, s.src, s.refs) for s in ts.segments()] == [
        ("a", "1", "你好 & 再见", ("hello <b>", "hi")),
        ("a", "2", "世界 & 人", ("world & man", "earth")),
        ("b", "1", "一", ("one", "1")),
    ]
    assert sorted(ts.provenance) == sorted(str(tmp_path / n) for n in ("src.sgm", "a.sgm",
                                                                     "b.sgm"))


@pytest.mark.parametrize(
    ("files", "references", "error", "message"),
    [
        ({"src.sgm": SRCSET, "a.sgm": refset({("a", "1"): "x", ("a", "2"): "y"})}, ["a.sgm"],
         DataError, "src.sgm:9: segment '1' of document 'b' has no reference in"),
        ({"src.sgm": SRCSET, "a.sgm": REF_A.replace('docid="b">', 'docid="c">')}, ["a.sgm"],
         DataError, "a.sgm:7: reference segment '1' of document 'c' has no source"),
        ({"src.sgm": SRCSET.replace('docid="b"', 'docid="a"'), "a.sgm": REF_A}, ["a.sgm"],
         DataError, "src.sgm:8: duplicate doc id 'a'"),
        ({"src.sgm": SRCSET.replace("<seg id=2>", "<seg id=2 >\n"), "a.sgm": REF_A}, ["a.sgm"],
         DataError, "src.sgm:5: expected <seg id=..>text</seg> inside a <doc> on one line"),
        ({"src.sgm": SRCSET, "a.sgm": REF_A.replace('trglang="en"', 'trglang="de"')},
         ["a.sgm"], DataError, "a.sgm:1: trglang='de' but the config says tgt_lang: 'en'"),
        ({"src.sgm": SRCSET, "a.sgm": SRCSET}, ["a.sgm"], DataError,
         "a.sgm:1: expected a <refset> line"),
        ({"src.sgm": SRCSET}, [], ConfigError, "references: .*src.sgm is an SGML <srcset>"),
        ({"src.sgm": TWO_DOCS, "a.sgm": REF_A}, ["a.sgm"], ConfigError,
         "references: only for SGML <srcset> files"),
    ],
    ids=["missing-ref-seg", "ref-without-source", "duplicate-doc", "seg-split-over-lines",
         "wrong-target-language", "refset-expected", "srcset-needs-references",
         "xml-takes-no-references"],
)
def test_sgml_errors(tmp_path, files, references, error, message):
    with pytest.raises(error, match=message):
        read_sgml(tmp_path, files, references)
