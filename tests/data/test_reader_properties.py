"""Property tests: whatever bytes or text the input files hold, a reader returns a TestSet or
raises DataError/ConfigError, never another exception; well-formed inputs round-trip exactly."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalmt.data import TestSet, read_testset
from evalmt.errors import ConfigError, DataError

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Any text, with the separators and markup characters the formats care about made likely.
TEXT = st.text(st.one_of(st.characters(), st.sampled_from("\n\t\r\"'<>&{}[]:,;\\ 一en\ufeff")),
               max_size=60)
CONTENT = st.one_of(TEXT, st.binary(max_size=60))
# Lines a line-based format can carry unchanged (no line breaks, NUL, tab, BOM or surrogates).
LINE = st.text(st.characters(blacklist_categories=("Cs",),
                             blacklist_characters="\n\r\x00\t\ufeff"), max_size=20)


def read_or_error(config: dict, files: dict[str, str | bytes]) -> TestSet | None:
    """Write ``files`` into a fresh folder and read; None when a documented error is raised."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) \
                else content
            (Path(tmp) / name).write_bytes(data)
        try:
            return read_testset(config, base_dir=tmp)
        except (DataError, ConfigError):
            return None


@SETTINGS
@given(src=CONTENT, ref=CONTENT, ids=CONTENT)
def test_text_reader_never_crashes(src, ref, ids):
    read_or_error({"reader": "text", "source": "s", "references": ["r"], "doc_ids": "i"},
                  {"s": src, "r": ref, "i": ids})


@SETTINGS
@given(data=CONTENT, header=st.booleans())
def test_tsv_reader_never_crashes(data, header):
    columns = {"source_column": "src", "reference_columns": ["ref"], "doc_id_column": "doc"} \
        if header else {"source_column": 1, "reference_columns": [0, 2], "seg_id_column": 3}
    read_or_error({"reader": "tsv", "path": "d.tsv", "header": header, **columns},
                  {"d.tsv": data})


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["src", "ref", "doc", "t", "zh"]), inner, max_size=4),
    max_leaves=8,
)
JSON_OBJECT = st.dictionaries(st.sampled_from(["src", "ref", "doc", "t"]), JSON_VALUE,
                              max_size=4)
JSONL_TEXT = st.one_of(
    CONTENT,
    st.lists(st.one_of(JSON_OBJECT, JSON_OBJECT, JSON_VALUE)
             .map(lambda v: json.dumps(v, ensure_ascii=False)), min_size=1, max_size=4)
    .map("\n".join),
)


@SETTINGS
@given(data=JSONL_TEXT)
def test_jsonl_reader_never_crashes(data):
    read_or_error({"reader": "jsonl", "path": "d.jsonl", "source_field": "t.zh",
                   "reference_fields": ["ref"], "doc_id_field": "doc"}, {"d.jsonl": data})


VALID_XML = ('<dataset><doc id="d"><src lang="zh"><p><seg id="1">一</seg><seg id="2">二</seg>'
             '</p></src><ref lang="en" translator="A"><p><seg id="1">one</seg>'
             '<seg id="2">two</seg></p></ref></doc></dataset>')


VALID_SRCSET = ('<srcset srclang="zh">\n<doc docid="d">\n<seg id="1">一</seg>\n'
                '<seg id="2">二 &amp;</seg>\n</doc>\n</srcset>\n')
VALID_REFSET = VALID_SRCSET.replace("srcset", "refset").replace("srclang", "trglang")


@st.composite
def mutated_xml(draw, text: str = VALID_XML) -> str:
    """A valid document with a few random cuts and insertions."""
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        text = text[:i] + draw(TEXT) + text[j:]
    return text


@SETTINGS
@given(data=st.one_of(CONTENT, mutated_xml()))
def test_wmt_reader_never_crashes(data):
    read_or_error({"reader": "wmt-xml", "path": "t.xml"}, {"t.xml": data})


@SETTINGS
@given(data=CONTENT)
def test_bilingual_reader_never_crashes(data):
    read_or_error({"reader": "bilingual-txt", "path": "page.txt"}, {"page.txt": data})


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=JSONL_TEXT)
def test_hf_reader_never_crashes(data):
    # Found a segfault in pyarrow's JSON reader on "null" lines; hf.py now checks JSON first.
    with tempfile.TemporaryDirectory() as cache:
        read_or_error({"reader": "hf-datasets", "dataset": "d.jsonl", "cache_dir": cache,
                       "source_column": "t.zh", "reference_columns": ["ref"]},
                      {"d.jsonl": data})


@SETTINGS
@given(src=st.one_of(CONTENT, mutated_xml(VALID_SRCSET)),
       ref=st.one_of(CONTENT, mutated_xml(VALID_REFSET)))
def test_wmt_sgml_reader_never_crashes(src, ref):
    read_or_error({"reader": "wmt-xml", "path": "s.sgm", "references": ["r.sgm"]},
                  {"s.sgm": src, "r.sgm": ref})


# -- round trips: well-formed input comes back exactly -------------------------------------

ROWS = st.lists(st.tuples(LINE, LINE, LINE), min_size=1, max_size=8).filter(
    lambda rows: any(r[0].strip() for r in rows[:1]) and all(r[1].strip() for r in rows)
)


@SETTINGS
@given(rows=ROWS)
def test_text_round_trip(rows):
    # The first source line and every first-reference line hold a non-space character, so no
    # file is blank. The second reference has no final newline when its last line is
    # non-empty (a final newline never starts a line of its own).
    second = [r[2] for r in rows] if any(r[2].strip() for r in rows) else [r[1] for r in rows]
    ts = read_or_error({"reader": "text", "source": "s", "references": ["r1", "r2"]},
                       {"s": "".join(r[0] + "\n" for r in rows),
                        "r1": "".join(r[1] + "\n" for r in rows),
                        "r2": "\n".join(second) + ("\n" if second[-1] == "" else "")})
    assert ts is not None
    assert ts.sources() == [r[0] for r in rows]
    assert ts.reference_streams() == [[r[1] for r in rows], second]
    assert [s.seg_id for s in ts.segments()] == [str(i) for i in range(1, len(rows) + 1)]


@SETTINGS
@given(rows=ROWS)
def test_tsv_round_trip(rows):
    body = "".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
    ts = read_or_error({"reader": "tsv", "path": "d.tsv", "reference_columns": ["r1", "r2"]},
                       {"d.tsv": "src\tr1\tr2\n" + body})
    assert ts is not None
    assert [(s.src, s.refs) for s in ts.segments()] == [(a, (b, c)) for a, b, c in rows]


@SETTINGS
@given(records=st.lists(st.tuples(st.text(st.characters(blacklist_categories=("Cs",)),
                                          max_size=20),
                                  st.lists(st.text(st.characters(blacklist_categories=("Cs",)),
                                                   max_size=20), min_size=1, max_size=3)),
                        min_size=1, max_size=6))
def test_jsonl_round_trip(records):
    data = "".join(json.dumps({"d": {"src": s}, "ref": r}) + "\n" for s, r in records)
    ts = read_or_error({"reader": "jsonl", "path": "d.jsonl", "source_field": "d.src"},
                       {"d.jsonl": data})
    assert ts is not None
    assert [(s.src, s.refs) for s in ts.segments()] == [(s, tuple(r)) for s, r in records]
