"""Property tests: whatever bytes or text the input files hold, a reader returns a TestSet or
raises a DataError naming the file, never another exception. Where the format's rules are
simple enough to state (text, tsv, jsonl), an independent oracle below says which inputs are
valid: exactly those are accepted, with their documents and segments in order; for the others,
structural invariants hold and the untouched valid document reads back exactly."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalmt.data import TestSet, read_testset
from evalmt.errors import ConfigError, DataError, EvalMTError

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# Any text, with the separators and markup characters the formats care about made likely.
TEXT = st.text(st.one_of(st.characters(), st.sampled_from("\n\t\r\"'<>&{}[]:,;\\ 一en\ufeff")),
               max_size=60)
CONTENT = st.one_of(TEXT, st.binary(max_size=60))
# Lines a line-based format can carry unchanged (no line breaks, NUL, tab, BOM or surrogates).
LINE = st.text(st.characters(blacklist_categories=("Cs",),
                             blacklist_characters="\n\r\x00\t\ufeff"), max_size=20)


def read_or_error(config: dict, files: dict[str, str | bytes],
                  config_error: str | None = None) -> TestSet | EvalMTError:
    """Write ``files`` into a fresh folder and read them.

    Returns the ``TestSet``, or the ``DataError`` the reader raised (which must name one
    of the files, by path or by the name the config gave), or a ``ConfigError``
    starting with ``config_error``; any other exception fails the test.
    """
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            (Path(tmp) / name).write_bytes(raw(content))
        try:
            return read_testset(config, base_dir=tmp)
        except DataError as exc:
            assert any(str(Path(tmp) / name) in str(exc) or f"'{name}'" in str(exc)
                       or str(exc).startswith(f"{name}[") for name in files), str(exc)
            return exc
        except ConfigError as exc:
            if config_error is None or not str(exc).startswith(config_error):
                raise
            return exc


def raw(content: str | bytes) -> bytes:
    return content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content


def text_of(content: str | bytes) -> str | None:
    """The file's text under the documented rules (strict UTF-8, optional BOM, no NUL,
    not blank, CRLF/CR → LF), or None when the file is not such a text file."""
    data = raw(content)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or not text.strip():
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def lines_of(content: str | bytes) -> list[str] | None:
    text = text_of(content)
    if text is None:
        return None
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def consecutive(ids: list[str]) -> bool:
    """Each id's rows form one run, and no id is empty."""
    runs = [i for k, i in enumerate(ids) if k == 0 or ids[k - 1] != i]
    return all(ids) and len(runs) == len(set(runs))


def grouped(ids: list[str], values: list) -> list[tuple[str, list]]:
    docs: list[tuple[str, list]] = []
    for doc_id, value in zip(ids, values, strict=True):
        if not docs or docs[-1][0] != doc_id:
            docs.append((doc_id, []))
        docs[-1][1].append(value)
    return docs


def check_structure(ts: TestSet, n_refs: int | None = None) -> None:
    """Invariants of any TestSet: distinct doc ids, distinct seg ids per document."""
    assert ts.documents and all(doc.segments for doc in ts.documents)
    assert len({d.doc_id for d in ts.documents}) == len(ts.documents)
    for doc in ts.documents:
        assert len({s.seg_id for s in doc.segments}) == len(doc.segments)
        assert all(s.doc_id == doc.doc_id and s.refs for s in doc.segments)
        if n_refs is not None:
            assert all(len(s.refs) == n_refs for s in doc.segments)


def documents(ts: TestSet) -> list[tuple[str, list]]:
    return [(d.doc_id, [(s.src, s.refs) for s in d.segments]) for d in ts.documents]


@SETTINGS
@given(src=CONTENT, ref=CONTENT, ids=CONTENT)
def test_text_reader_reads_exactly_the_valid_inputs(src, ref, ids):
    got = read_or_error({"reader": "text", "source": "s", "references": ["r"], "doc_ids": "i"},
                        {"s": src, "r": ref, "i": ids})
    src_l, ref_l, id_l = lines_of(src), lines_of(ref), lines_of(ids)
    valid = (None not in (src_l, ref_l, id_l) and len(src_l) == len(ref_l) == len(id_l)
             and consecutive([i.strip() for i in id_l]))
    assert isinstance(got, TestSet) == valid, got
    if valid:
        check_structure(got, 1)
        assert documents(got) == grouped([i.strip() for i in id_l],
                                         [(s, (r,)) for s, r in zip(src_l, ref_l, strict=True)])


@SETTINGS
@given(data=CONTENT, header=st.booleans())
def test_tsv_reader_reads_exactly_the_valid_inputs(data, header):
    columns = {"source_field": "src", "reference_fields": ["ref"], "doc_id_field": "doc"} \
        if header else {"source_field": 1, "reference_fields": [0, 2], "seg_id_field": 3}
    got = read_or_error({"reader": "tsv", "path": "d.tsv", "header": header, **columns},
                        {"d.tsv": data})
    table = [line.split("\t") for line in lines_of(data) or []]
    if header and table and {"src", "ref", "doc"} <= set(table[0]):
        names, body = table[0], table[1:]
        idx = [names.index(c) for c in ("src", "ref", "doc")]
        ids = [row[idx[2]].strip() for row in body if len(row) == len(names)]
        valid = (body and all(len(row) == len(names) for row in body) and consecutive(ids))
        expected = grouped(ids, [(r[idx[0]], (r[idx[1]],)) for r in body]) if valid else None
    elif not header and table and len(table[0]) >= 4:
        seg = [row[3].strip() for row in table if len(row) == len(table[0])]
        valid = (all(len(row) == len(table[0]) for row in table)
                 and all(seg) and len(set(seg)) == len(seg))
        expected = [("d", [(r[1], (r[0], r[2])) for r in table])] if valid else None
    else:
        valid = False
    assert isinstance(got, TestSet) == bool(valid), got
    if valid:
        check_structure(got, 1 if header else 2)
        assert documents(got) == expected


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["src", "ref", "doc", "t", "zh"]), inner, max_size=4),
    max_leaves=8,
)
JSON_OBJECT = st.dictionaries(st.sampled_from(["src", "ref", "doc", "t"]), JSON_VALUE,
                              max_size=4)
# Objects that carry every field the reader is configured for (t.zh, ref, doc), with values
# of any type, so that accepted files occur too.
FULL_OBJECT = st.fixed_dictionaries({
    "t": st.one_of(st.fixed_dictionaries({"zh": st.one_of(TEXT, JSON_VALUE)}), JSON_VALUE),
    "ref": st.one_of(TEXT, st.lists(TEXT, max_size=2), JSON_VALUE),
    "doc": st.one_of(st.sampled_from(["a", "b", 1]), JSON_VALUE),
})
JSONL_TEXT = st.one_of(
    CONTENT,
    st.lists(st.one_of(JSON_OBJECT, FULL_OBJECT, FULL_OBJECT, JSON_VALUE)
             .map(lambda v: json.dumps(v, ensure_ascii=False)), min_size=1, max_size=4)
    .map("\n".join),
)


def jsonl_expected(data: str | bytes) -> list[tuple[str, list]] | None:
    """Documents the jsonl reader must return for ``data`` (fields t.zh, ref, doc)."""
    ids, values = [], []
    for line in lines_of(data) or []:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        src = record.get("t.zh", (record.get("t") or {}).get("zh")
                         if isinstance(record.get("t"), dict) else None)
        ref, doc = record.get("ref"), record.get("doc")
        refs = [ref] if isinstance(ref, str) else ref
        if (not isinstance(src, str) or not isinstance(refs, list) or not refs
                or not all(isinstance(r, str) for r in refs)
                or isinstance(doc, bool) or not isinstance(doc, (str, int))):
            return None
        if any(not encodable(t) for t in (src, str(doc), *refs)):
            return None
        ids.append(str(doc))
        values.append((src, tuple(refs)))
    return grouped(ids, values) if ids and consecutive(ids) else None


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@SETTINGS
@given(data=JSONL_TEXT)
def test_jsonl_reader_reads_exactly_the_valid_inputs(data):
    got = read_or_error({"reader": "jsonl", "path": "d.jsonl", "source_field": "t.zh",
                         "reference_fields": ["ref"], "doc_id_field": "doc"}, {"d.jsonl": data})
    expected = jsonl_expected(data)
    assert isinstance(got, TestSet) == (expected is not None), got
    if expected is not None:
        check_structure(got)
        assert documents(got) == expected


VALID_XML = ('<dataset><doc id="d"><src lang="zh"><p><seg id="1">一</seg><seg id="2">二</seg>'
             '</p></src><ref lang="en" translator="A"><p><seg id="1">one</seg>'
             '<seg id="2">two</seg></p></ref></doc></dataset>')


VALID_SRCSET = ('<srcset srclang="zh">\n<doc docid="d">\n<seg id="1">一</seg>\n'
                '<seg id="2">二 &amp;</seg>\n</doc>\n</srcset>\n')
VALID_REFSET = VALID_SRCSET.replace("srcset", "refset").replace('srclang="zh"', 'trglang="en"')


@st.composite
def mutated_xml(draw, text: str = VALID_XML) -> str:
    """A valid document with a few random cuts and insertions (possibly none at all)."""
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        text = text[:i] + draw(TEXT) + text[j:]
    return text


@SETTINGS
@given(data=st.one_of(CONTENT, mutated_xml()))
def test_wmt_reader_keeps_documents_and_segments(data):
    got = read_or_error({"reader": "wmt-xml", "path": "t.xml"}, {"t.xml": data})
    if data == VALID_XML:
        assert documents(got) == [("d", [("一", ("one",)), ("二", ("two",))])]
    if isinstance(got, TestSet):
        check_structure(got)
        assert len(list(got.segments())) <= 2 * raw(data).count(b"<seg")  # one per source <seg>
    else:
        assert text_of(data) is None or data != VALID_XML


@SETTINGS
@given(data=CONTENT)
def test_bilingual_reader_keeps_every_source_from_the_page(data):
    got = read_or_error({"reader": "bilingual-txt", "path": "page.txt"}, {"page.txt": data})
    if isinstance(got, TestSet):
        check_structure(got, 1)
        text = text_of(data)
        assert text is not None  # undecodable pages are refused
        # no cleaning configured: every source and reference is taken from the page
        squeezed = "".join(text.split())
        assert all("".join(s.src.split()) in squeezed for s in got.segments())


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=JSONL_TEXT)
def test_hf_reader_reads_exactly_the_valid_inputs(data):
    # Found a segfault in pyarrow's JSON reader on "null" lines; hf.py now checks JSON first.
    with tempfile.TemporaryDirectory() as cache:
        got = read_or_error({"reader": "hf-datasets", "dataset": "d.jsonl", "cache_dir": cache,
                             "source_field": "src", "reference_fields": ["ref"]},
                            {"d.jsonl": data})
    if isinstance(got, TestSet):
        check_structure(got)
        records = [json.loads(line) for line in lines_of(data) if line.strip()]
        assert got.sources() == [r["src"] for r in records]
        assert all(isinstance(r["ref"], str) for r in records)


@SETTINGS
@given(src=st.one_of(CONTENT, mutated_xml(VALID_SRCSET)),
       ref=st.one_of(CONTENT, mutated_xml(VALID_REFSET)))
def test_wmt_sgml_reader_pairs_by_document_and_segment(src, ref):
    # references: belongs to SGML files only; a source that is no <srcset> is a config mistake
    got = read_or_error({"reader": "wmt-xml", "path": "s.sgm", "references": ["r.sgm"]},
                        {"s.sgm": src, "r.sgm": ref}, config_error="references: only for SGML")
    if (src, ref) == (VALID_SRCSET, VALID_REFSET):
        assert documents(got) == [("d", [("一", ("一",)), ("二 &", ("二 &",))])]
    if isinstance(got, TestSet):
        check_structure(got, 1)
        # every segment comes from a <seg> element of the source file
        assert len(list(got.segments())) <= raw(src).count(b"<seg")


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
    assert isinstance(ts, TestSet), ts
    assert ts.sources() == [r[0] for r in rows]
    assert ts.reference_streams() == [[r[1] for r in rows], second]
    assert [s.seg_id for s in ts.segments()] == [str(i) for i in range(1, len(rows) + 1)]


@SETTINGS
@given(rows=ROWS)
def test_tsv_round_trip(rows):
    body = "".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows)
    ts = read_or_error({"reader": "tsv", "path": "d.tsv", "reference_fields": ["r1", "r2"]},
                       {"d.tsv": "src\tr1\tr2\n" + body})
    assert isinstance(ts, TestSet), ts
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
    assert isinstance(ts, TestSet), ts
    assert [(s.src, s.refs) for s in ts.segments()] == [(s, tuple(r)) for s, r in records]
