"""The bilingual-txt reader: the user's sample exactly, synthetic layouts, bad input."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalmt.data.base import READERS, read_testset
from evalmt.data.bilingual import BilingualTxtConfig, BilingualTxtReader
from evalmt.errors import ConfigError, DataError
from evalmt.resources import sample_paths

FIXTURES = Path(__file__).parent / "bilingual"
ZH = [line for line in (FIXTURES / "library_zh.txt").read_text("utf-8").splitlines() if line]
EN = [line for line in (FIXTURES / "library_en.txt").read_text("utf-8").splitlines() if line]
LATIN_IN_PARENS = re.compile(r"[(（]\s*[A-Za-z\u00c0-\u024f]")


def read(path, **options):
    return read_testset({"reader": "bilingual-txt", "path": str(path), **options},
                        base_dir=Path("/"))


def page(tmp_path, lines, name="page.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def only_doc(path, **options):
    testset = read(path, **options)
    assert len(testset.documents) == 1
    return testset.documents[0]


def pairs(doc):
    return [(s.meta["alignment"], s.meta["src_lines"], s.meta["ref_lines"]) for s in doc.segments]


# --- the user's sample, exactly -------------------------------------------------------------

# (first words of src, last words of src, first words of ref, last words of ref), read
# off the file by eye.
SAMPLE_PAIRS = [
    ("5月14日,應市委外辦邀請", "引起了強烈反響。", "On May 14, at the invitation",
     "aroused positive response from the audience."),
    ("與會人員一致表示", "貢獻重慶力量。", "The participants unanimously expressed",
     'the "two centenary" goals.'),
    ("此次會議由市委外辦主任", "負責人參加。", "The meeting was presided over by Zhang Yongwu",
     "attended the event."),
]


def test_sample_exactly():
    (path,) = sample_paths()
    doc = only_doc(path)
    assert doc.doc_id == "000_1fbc44d11a2c24ea"
    assert doc.meta["layout"] == "zh-first"
    assert dict(doc.meta["paragraphs"]) == {"zh": 3, "en": 3}
    assert pairs(doc) == [("1-1", (1,), (4,)), ("1-1", (2,), (5,)), ("1-1", (3,), (6,))]
    assert [s.seg_id for s in doc.segments] == ["1", "2", "3"]
    for seg, (src_first, src_last, ref_first, ref_last) in zip(doc.segments, SAMPLE_PAIRS,
                                                               strict=True):
        assert seg.src.startswith(src_first) and seg.src.endswith(src_last)
        assert seg.refs[0].startswith(ref_first) and seg.refs[0].endswith(ref_last)
        assert not LATIN_IN_PARENS.search(seg.src)
    # `grep -o '(' ` on lines 1-3 of the file counts 76 artifacts; none is a genuine parenthetical.
    assert doc.meta["cleaning"]["strip-pinyin"] == 76
    assert sum(s.meta["cleaning"]["strip-pinyin"] for s in doc.segments) == 76
    assert doc.meta["flagged_pairs"] == 0 and doc.meta["no_trustworthy_pair"] is False
    assert doc.warnings == ()
    assert doc.meta["unassigned_lines"] == ()


def test_sample_references_are_as_written():
    (path,) = sample_paths()
    lines = path.read_text("utf-8").splitlines()
    doc = only_doc(path)
    assert [s.refs[0] for s in doc.segments] == lines[3:6]


def test_sample_t2s():
    (path,) = sample_paths()
    doc = only_doc(path, clean=["strip-pinyin", "t2s", "normalize-space"])
    assert doc.segments[0].src.startswith("5月14日,应市委外办邀请,外交部政策规划司司长刘劲松在重庆")


def test_sample_english_to_chinese():
    (path,) = sample_paths()
    doc = only_doc(path, src_lang="en", tgt_lang="zh")
    assert pairs(doc) == [("1-1", (4,), (1,)), ("1-1", (5,), (2,)), ("1-1", (6,), (3,))]
    assert doc.segments[0].src.startswith("On May 14")
    # The Chinese side is now the reference: only whitespace may change, so the artifacts stay.
    assert doc.segments[0].refs[0].startswith("5月14日,應(yīng)市委外辦邀請(qǐng)")
    assert doc.meta["cleaning"]["strip-pinyin"] == 0


def test_registered_reader():
    assert READERS.get("bilingual-txt") is BilingualTxtReader
    assert BilingualTxtReader.config_model is BilingualTxtConfig


# --- synthetic layouts ----------------------------------------------------------------------

SEVEN_ZH = [*ZH[:3], ZH[3] + ZH[4], *ZH[5:]]  # paragraphs 4 and 5 as one Chinese paragraph
INTERLEAVED_ZH_EN = [x for pair in zip(ZH, EN, strict=True) for x in pair]
INTERLEAVED_EN_ZH = [x for pair in zip(EN, ZH, strict=True) for x in pair]
ONE_TO_ONE = [("1-1", (i,), (j,)) for i, j in zip(range(1, 9), range(9, 17), strict=True)]


@pytest.mark.parametrize(
    ("lines", "options", "layout", "expected_pairs"),
    [
        (ZH + EN, {}, "zh-first", ONE_TO_ONE),
        (EN + ZH, {}, "en-first", [("1-1", (i,), (j,)) for i, j in
                                   zip(range(9, 17), range(1, 9), strict=True)]),
        (INTERLEAVED_ZH_EN, {}, "interleaved",
         [("1-1", (i,), (i + 1,)) for i in range(1, 17, 2)]),
        (INTERLEAVED_EN_ZH, {}, "interleaved",
         [("1-1", (i + 1,), (i,)) for i in range(1, 17, 2)]),
        # 7 Chinese vs 8 English paragraphs: the merged one pairs 1-2 with lines 12 and 13.
        (SEVEN_ZH + EN, {}, "zh-first",
         [("1-1", (1,), (8,)), ("1-1", (2,), (9,)), ("1-1", (3,), (10,)),
          ("1-2", (4,), (11, 12)), ("1-1", (5,), (13,)), ("1-1", (6,), (14,)),
          ("1-1", (7,), (15,))]),
        # the same page read English → Chinese: the decision is 2-1 from the source side.
        (SEVEN_ZH + EN, {"src_lang": "en", "tgt_lang": "zh"}, "zh-first",
         [("1-1", (8,), (1,)), ("1-1", (9,), (2,)), ("1-1", (10,), (3,)),
          ("2-1", (11, 12), (4,)), ("1-1", (13,), (5,)), ("1-1", (14,), (6,)),
          ("1-1", (15,), (7,))]),
    ],
)
def test_layouts(tmp_path, lines, options, layout, expected_pairs):
    doc = only_doc(page(tmp_path, lines), **options)
    assert doc.meta["layout"] == layout
    assert pairs(doc) == expected_pairs
    assert doc.meta["flagged_pairs"] == 0 and doc.meta["no_trustworthy_pair"] is False


def test_one_to_two_recorded_and_joined(tmp_path):
    doc = only_doc(page(tmp_path, SEVEN_ZH + EN))
    (split,) = [d for d in doc.meta["alignment"] if d["kind"] != "1-1"]
    assert (split["kind"], split["src_lines"], split["ref_lines"]) == ("1-2", [4], [11, 12])
    assert doc.segments[3].refs[0] == EN[3] + "\n" + EN[4]
    assert dict(doc.meta["paragraphs"]) == {"zh": 7, "en": 8}


@pytest.mark.parametrize(
    ("lines", "kind", "line"),
    [
        (["图书馆新馆下月开放", *ZH, *EN], "1-0", 1),  # Chinese title only
        ([*ZH, "New City Library to Open Next Month", *EN], "0-1", 9),  # English title only
    ],
)
def test_title_in_one_language(tmp_path, lines, kind, line):
    doc = only_doc(page(tmp_path, lines))
    unpaired = [d for d in doc.meta["alignment"] if d["kind"] == kind]
    assert [d["src_lines"] or d["ref_lines"] for d in unpaired] == [[line]]
    assert len(doc.segments) == 8
    assert any(f"line {line}:" in w and kind in w for w in doc.warnings)
    assert line not in {n for s in doc.segments for n in s.meta["src_lines"] + s.meta["ref_lines"]}


def test_simplified_without_artifact(tmp_path):
    doc = only_doc(page(tmp_path, ZH + EN))
    assert doc.meta["cleaning"]["strip-pinyin"] == 0
    assert [s.src for s in doc.segments] == ZH


def test_genuine_parentheticals_kept(tmp_path):
    zh = ["世界卫生组织(WHO)于2021年发布报告(2021),称全国(含港澳台)疫苗接种率持续上升,"
          "路透社(Reuters)随后转载。應(yīng)邀专家表示欢迎。", *ZH[1:]]
    en = ["The World Health Organization (WHO) published a report in 2021 saying that "
          "vaccination rates across the country, including Hong Kong, Macao and Taiwan, kept "
          "rising, and Reuters reprinted it. Invited experts welcomed it.", *EN[1:]]
    doc = only_doc(page(tmp_path, zh + en))
    src = doc.segments[0].src
    for kept in ("(WHO)", "(2021)", "(含港澳台)", "(Reuters)"):
        assert kept in src
    assert "應邀" in src and doc.meta["cleaning"]["strip-pinyin"] == 1


def test_run_together_english_warned_not_rewritten(tmp_path):
    en = [EN[0].replace("The city library", "The Ministryof Foreign Affairs,China's library"),
          *EN[1:]]
    doc = only_doc(page(tmp_path, ZH + en))
    assert doc.segments[0].refs[0] == en[0]
    (warning,) = [w for w in doc.warnings if "run together" in w]
    assert "line 9" in warning and "Affairs,China" in warning and "Ministryof" in warning


def test_unassigned_lines_reported(tmp_path):
    lines = [*ZH, "*", "(Editor: Wang)", *EN, "—"]
    doc = only_doc(page(tmp_path, lines))
    assert [(u["line"], u["text"]) for u in doc.meta["unassigned_lines"]] == [
        (9, "*"), (10, "(Editor: Wang)"), (19, "—")]
    assert len(doc.segments) == 8 and doc.meta["layout"] == "zh-first"
    assert sum("neither Chinese nor English" in w for w in doc.warnings) == 2
    assert any("line 10: an editorial note, not paired" in w for w in doc.warnings)


@pytest.mark.parametrize(
    ("line", "kind"),
    [("By Li Ming", "byline"), ("By Li Ming, staff reporter", "byline"),
     ("记者 李明", "byline"), ("文/王芳", "byline"), ("Source: Xinhua", "note"),
     ("（责任编辑:赵静）", "note")],
)
def test_bylines_and_notes_are_not_paragraphs(tmp_path, line, kind):
    doc = only_doc(page(tmp_path, [*ZH, line, *EN]))
    assert [(u["line"], u["kind"]) for u in doc.meta["unassigned_lines"]] == [(9, kind)]
    assert len(doc.segments) == 8


def test_unrelated_english_has_no_trustworthy_pair(tmp_path):
    # The English of a different article: lengths alone would pair them 1-1.
    en = ["The home side scored twice in the second half to win the derby on Saturday "
          "night in front of a crowd of forty thousand fans and a loud band.",
          "The visitors had taken the lead through a header just before the break, but "
          "their defence collapsed after the coach made two substitutions at once.",
          "With the win, the club moves up to third place in the league, four points "
          "behind the leaders with six games left to play this season."]
    doc = only_doc(page(tmp_path, ZH[:3] + en))
    assert doc.segments == ()
    assert doc.meta["no_trustworthy_pair"] is True
    assert any("no trustworthy pair" in w for w in doc.warnings)


def test_min_confidence_is_the_threshold():
    # gold/p07: "WEEKEND" (line 1) and "Weekend Night Market Reopens" (line 6) both fit
    # the Chinese title (line 2), so the title pair is flagged; a lower threshold lets it
    # be scored: the verdict is the threshold's.
    path = FIXTURES / "gold" / "p07_market.txt"
    strict, loose = only_doc(path), only_doc(path, min_confidence=0.5)
    (flagged,) = [d for d in strict.meta["alignment"] if d["flagged"]]
    assert flagged["src_lines"] == [2] and 6 in flagged["ref_lines"]
    assert 0.5 <= flagged["confidence"] < 0.9
    assert strict.meta["flagged_pairs"] == 1
    assert any(w.startswith("line 2: pair src lines 2 ↔ ref lines") and "flagged" in w
               for w in strict.warnings)
    pair = (tuple(flagged["src_lines"]), tuple(flagged["ref_lines"]))
    assert pair not in {(s.meta["src_lines"], s.meta["ref_lines"]) for s in strict.segments}
    assert pair in {(s.meta["src_lines"], s.meta["ref_lines"]) for s in loose.segments}


def test_folder_reads_each_file_as_a_document(tmp_path):
    page(tmp_path, ZH + EN, "b.txt")
    page(tmp_path, EN[:3] + ZH[:3], "a.txt")
    testset = read(tmp_path, name="pages")
    assert [d.doc_id for d in testset.documents] == ["a", "b"]
    assert testset.num_segments == 11
    assert set(testset.provenance) == {str(tmp_path / "a.txt"), str(tmp_path / "b.txt")}
    assert testset.warnings == ()


def test_folder_reports_what_it_skips(tmp_path):
    page(tmp_path, ZH + EN, "b.txt")
    page(tmp_path, ZH + EN, "Upper.TXT")  # suffixes match in any case
    (tmp_path / "notes.md").write_text("not a page", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    page(tmp_path / "sub", ZH + EN, "c.txt")
    testset = read(tmp_path, name="pages")
    assert [d.doc_id for d in testset.documents] == ["Upper", "b"]
    assert testset.warnings == (
        f"{tmp_path / 'notes.md'}: skipped (not a .txt file)",
        f"{tmp_path / 'sub'}: skipped (a subfolder; folders are not read recursively)",
    )


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("\n".join(ZH) + "\n", r"page\.txt: bilingual page has only Chinese"),
        ("\n".join(EN) + "\n", r"page\.txt: bilingual page has only English"),
        ("", r"page\.txt: file is empty"),
        ("\n  \n", r"page\.txt: file is empty"),
        ("*\n—\n", r"page\.txt: bilingual page has no paragraphs"),
    ],
)
def test_bad_pages(tmp_path, content, message):
    path = tmp_path / "page.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read(path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(("\n".join(ZH + EN[:2])).encode("utf-8") + b"\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"page\.txt:11: invalid UTF-8"):
        read(path)


def test_duplicate_doc_ids(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        page(tmp_path / folder, ZH + EN, "same.txt")
    with pytest.raises(DataError, match="duplicate doc id 'same'"):
        read(tmp_path / "*" / "same.txt")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"clean": ["strip-pinyn"]}, "did you mean 'strip-pinyin'"),
     ({"colour": "red"}, "colour"),
     ({"min_confidence": 1.5}, "min_confidence"),
     ({"max_delta": 4.0}, "max_delta")],
)
def test_bad_config(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        BilingualTxtConfig(path="x.txt", **options)


def test_two_latin_languages_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="one Chinese and one Latin-script"):
        read(page(tmp_path, ZH + EN), src_lang="de", tgt_lang="en")


# --- property: every paragraph lands in exactly one place -----------------------------------

@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(8)).map(lambda p: sorted(p[: 3 + p[0] % 5])),
       st.permutations(range(8)).map(lambda p: sorted(p[: 3 + p[1] % 5])),
       st.booleans())
def test_every_line_is_paired_unpaired_or_unassigned(tmp_path, zh_pick, en_pick, zh_first):
    zh, en = [ZH[i] for i in zh_pick], [EN[i] for i in en_pick]
    lines = zh + ["*"] + en if zh_first else en + ["*"] + zh
    doc = only_doc(page(tmp_path, lines))
    used = [n for d in doc.meta["alignment"] for n in d["src_lines"] + d["ref_lines"]]
    unassigned = [u["line"] for u in doc.meta["unassigned_lines"]]
    assert sorted(used + unassigned) == list(range(1, len(lines) + 1))
    assert len(used) == len(set(used))
    if doc.segments:
        in_segments = [n for s in doc.segments for n in s.meta["src_lines"] + s.meta["ref_lines"]]
        paired = [n for d in doc.meta["alignment"] if d["src_lines"] and d["ref_lines"]
                  and not d["flagged"] for n in d["src_lines"] + d["ref_lines"]]
        assert in_segments == paired
    # Line i of library_zh.txt translates line i of library_en.txt: any other pair is wrong.
    for seg in doc.segments:
        zh_lines, en_lines = seg.meta["src_lines"], seg.meta["ref_lines"]
        zh_text = [lines[n - 1] for n in zh_lines]
        en_text = [lines[n - 1] for n in en_lines]
        assert len(zh_text) == len(en_text) == 1, (zh_text, en_text)
        assert ZH.index(zh_text[0]) == EN.index(en_text[0])
