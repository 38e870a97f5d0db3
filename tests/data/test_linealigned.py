"""Readers `text`, `tsv` and `jsonl`: good inputs → expected TestSet, bad inputs → exact errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydantic
import pytest

from evalmt.data import read_testset
from evalmt.errors import ConfigError, DataError


def write(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)


def contents(ts) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(s.doc_id, s.seg_id, s.src, s.refs) for s in ts.segments()]


TEXT = {"reader": "text", "source": "src.zh", "references": ["a.en", "b.en"]}

GOOD = [
    pytest.param(
        TEXT,
        {"src.zh": "你好\n世界\n", "a.en": "hello\nworld\n", "b.en": "hi\nearth\n"},
        [("src", "1", "你好", ("hello", "hi")), ("src", "2", "世界", ("world", "earth"))],
        id="text-two-refs",
    ),
    pytest.param(
        {"reader": "text", "source": "src.zh", "references": ["ref.*.en"]},
        {"src.zh": "你好\n", "ref.B.en": "hi\n", "ref.A.en": "hello\n"},
        [("src", "1", "你好", ("hello", "hi"))],
        id="text-references-glob-one-stream-per-file-sorted",
    ),
    pytest.param(
        {**TEXT, "doc_ids": "ids.txt"},
        {"src.zh": "一\n二\n三", "a.en": "one\ntwo\nthree", "b.en": "1\n2\n3",
         "ids.txt": "d1\nd1\nd2\n"},
        [("d1", "1", "一", ("one", "1")), ("d1", "2", "二", ("two", "2")),
         ("d2", "1", "三", ("three", "3"))],
        id="text-doc-ids-no-final-newline",
    ),
    pytest.param(
        {"reader": "text", "source": "src.zh", "references": ["a.en"]},
        {"src.zh": b"\xef\xbb\xbf\xe4\xb8\x80\r\n\xe4\xba\x8c\r\n", "a.en": "one\r\ntwo\r\n"},
        [("src", "1", "一", ("one",)), ("src", "2", "二", ("two",))],
        id="text-bom-crlf",
    ),
    pytest.param(
        {"reader": "tsv", "path": "data.tsv", "reference_fields": ["en1", "en2"],
         "doc_id_field": "doc"},
        {"data.tsv": 'doc\tsrc\ten1\ten2\nd\t他说"好"\tHe said "fine"\tHe said, "OK"\n'
                     "d\t走\tgo\tleave\ne\t来\tcome\tarrive\n"},
        [("d", "1", '他说"好"', ('He said "fine"', 'He said, "OK"')),
         ("d", "2", "走", ("go", "leave")), ("e", "1", "来", ("come", "arrive"))],
        id="tsv-header-quotes",
    ),
    pytest.param(
        {"reader": "tsv", "path": "data.tsv", "header": False, "source_field": 2,
         "reference_fields": [0, 1], "seg_id_field": 3},
        {"data.tsv": "one\tuno\t一\t7\ntwo\tdos\t二\t9\n"},
        [("data", "7", "一", ("one", "uno")), ("data", "9", "二", ("two", "dos"))],
        id="tsv-by-index",
    ),
    pytest.param(
        {"reader": "jsonl", "path": "data.jsonl", "source_field": "translation.zh",
         "reference_fields": ["translation.en", "alt"], "doc_id_field": "meta.doc",
         "seg_id_field": "n"},
        {"data.jsonl": '{"translation": {"zh": "一", "en": "one"}, "alt": "1", '
                       '"meta": {"doc": "x"}, "n": 1}\n\n'
                       '{"translation": {"zh": "二", "en": "two"}, "alt": "2", '
                       '"meta": {"doc": "x"}, "n": 2}\n'},
        [("x", "1", "一", ("one", "1")), ("x", "2", "二", ("two", "2"))],
        id="jsonl-dotted-blank-line",
    ),
    pytest.param(
        {"reader": "jsonl", "path": "data.jsonl", "reference_fields": ["refs"]},
        {"data.jsonl": '{"src": "一", "refs": ["one", "a single"]}\n'
                       '{"src": "二", "refs": ["two", "a pair"]}\n'},
        [("data", "1", "一", ("one", "a single")), ("data", "2", "二", ("two", "a pair"))],
        id="jsonl-list-of-refs",
    ),
    pytest.param(
        {"reader": "jsonl", "path": "data.jsonl", "source_field": "a.b"},
        {"data.jsonl": '{"a.b": "literal", "a": {"b": "nested"}, "ref": "r"}\n'},
        [("data", "1", "literal", ("r",))],
        id="jsonl-literal-dotted-key-wins",
    ),
]


@pytest.mark.parametrize(("config", "files", "expected"), GOOD)
def test_good_inputs(tmp_path, config, files, expected):
    write(tmp_path, files)
    ts = read_testset(config, base_dir=tmp_path)
    assert contents(ts) == expected
    assert ts.num_refs == len(expected[0][3])
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        assert ts.provenance[str(tmp_path / name)] == hashlib.sha256(data).hexdigest()


def test_document_meta_and_warnings_for_empty_segments(tmp_path):
    write(tmp_path, {"src.zh": "一\n\n三\n", "a.en": "one\ntwo\n \n"})
    ts = read_testset({"reader": "text", "source": "src.zh", "references": ["a.en"]},
                      base_dir=tmp_path)
    doc = ts.documents[0]
    assert doc.meta["source_file"] == str(tmp_path / "src.zh")
    assert doc.warnings == (f"{tmp_path / 'src.zh'}:2: empty source in segment 2",
                            f"{tmp_path / 'src.zh'}:3: empty reference 1 in segment 3")
    assert ts.meta["reader"] == "text"


def test_cleaning_counts_on_segments_and_documents(tmp_path):
    # strip-pinyin removes one "(yīng)"; normalize-space collapses one run in the reference.
    write(tmp_path, {"src.zh": "應(yīng)該\n好\n", "a.en": "should  be\ngood\n"})
    ts = read_testset({"reader": "text", "source": "src.zh", "references": ["a.en"],
                       "clean": ["strip-pinyin", "normalize-space"]}, base_dir=tmp_path)
    first, second = ts.documents[0].segments
    assert (first.src, first.refs) == ("應該", ("should be",))
    assert dict(first.meta["cleaning"]) == {"strip-pinyin": 1, "normalize-space": 1}
    assert "cleaning" not in second.meta
    assert dict(ts.documents[0].meta["cleaning"]) == {"strip-pinyin": 1, "normalize-space": 1}


def test_unknown_cleaning_step_is_a_config_error(tmp_path):
    write(tmp_path, {"src.zh": "一\n", "a.en": "one\n"})
    # rejected when the config is validated, as every other bad option is
    with pytest.raises(pydantic.ValidationError, match="unknown cleaning step 'strip-pinyn'"):
        read_testset({"reader": "text", "source": "src.zh", "references": ["a.en"],
                      "clean": ["strip-pinyn"]}, base_dir=tmp_path)


ONE_REF = {"reader": "text", "source": "src.zh", "references": ["a.en"]}
TSV = {"reader": "tsv", "path": "data.tsv"}
JSONL = {"reader": "jsonl", "path": "data.jsonl"}

BAD = [
    pytest.param(ONE_REF, {"src.zh": "一\n二\n三\n", "a.en": "one\ntwo\n"},
                 "a.en has 2 lines but {tmp}/src.zh has 3; line 3 of {tmp}/src.zh has no "
                 "counterpart", id="text-ref-shorter"),
    pytest.param(ONE_REF, {"src.zh": "一\n", "a.en": "one\ntwo\n"},
                 "a.en has 2 lines but {tmp}/src.zh has 1; line 2 of {tmp}/a.en",
                 id="text-ref-longer"),
    pytest.param({**ONE_REF, "doc_ids": "ids"}, {"src.zh": "一\n二\n", "a.en": "1\n2\n",
                                                 "ids": "d\n"},
                 "ids has 1 lines but {tmp}/src.zh has 2", id="text-doc-ids-shorter"),
    pytest.param(ONE_REF, {"src.zh": b"ok\n\xff\n", "a.en": "1\n2\n"},
                 "src.zh:2: invalid UTF-8", id="text-invalid-utf8"),
    pytest.param(ONE_REF, {"src.zh": "一\n", "a.en": ""}, "a.en: file is empty",
                 id="text-empty-file"),
    pytest.param(ONE_REF, {"src.zh": "一\n"}, "a.en: no such file", id="text-missing-file"),
    pytest.param({**ONE_REF, "doc_ids": "ids"},
                 {"src.zh": "一\n二\n三\n", "a.en": "1\n2\n3\n", "ids": "a\nb\na\n"},
                 "{tmp}/ids:3: duplicate doc id 'a': it already occurred at {tmp}/ids:1",
                 id="text-doc-id-repeated"),
    pytest.param({**ONE_REF, "doc_ids": "ids"},
                 {"src.zh": "一\n二\n", "a.en": "1\n2\n", "ids": "a\n\n"},
                 "{tmp}/ids:2: empty document id", id="text-empty-doc-id"),
    pytest.param({**TSV, "reference_fields": ["ref", "ref2"]},
                 {"data.tsv": "src\tref\tref2\n一\tone\t1\n二\ttwo\n"},
                 "data.tsv:3: expected 3 tab-separated columns, got 2", id="tsv-column-count"),
    pytest.param(TSV, {"data.tsv": "src\tre\n一\tone\n"}, "data.tsv:1: no column 'ref'",
                 id="tsv-missing-column"),
    pytest.param(TSV, {"data.tsv": "src\tref\n"}, "data.tsv: no segments found",
                 id="tsv-header-only"),
    pytest.param({**TSV, "doc_id_field": "doc"},
                 {"data.tsv": "doc\tsrc\tref\na\t一\t1\nb\t二\t2\na\t三\t3\n"},
                 "data.tsv:4: duplicate doc id 'a'", id="tsv-duplicate-doc"),
    pytest.param({**TSV, "seg_id_field": "id"},
                 {"data.tsv": "id\tsrc\tref\n1\t一\t1\n1\t二\t2\n"},
                 "data.tsv:3: duplicate segment id '1' in document 'data' "
                 "(first at {tmp}/data.tsv:2)",
                 id="tsv-duplicate-seg"),
    pytest.param({**TSV, "header": False, "source_field": 0, "reference_fields": [3]},
                 {"data.tsv": "一\tone\n"}, "data.tsv:1: 2 columns, but the config uses column 3",
                 id="tsv-index-past-width"),
    pytest.param(JSONL, {"data.jsonl": '{"src": "一", "ref": "one"}\n{"src": "二", "ref": }\n'},
                 "data.jsonl:2: bad JSON: Expecting value", id="jsonl-bad-json"),
    pytest.param(JSONL, {"data.jsonl": '{"src": "一"}\n'}, "data.jsonl:1: missing field 'ref'",
                 id="jsonl-missing-field"),
    pytest.param({**JSONL, "source_field": "t.zh"},
                 {"data.jsonl": '{"t": {"en": "x"}, "ref": "r"}'},
                 "data.jsonl:1: missing field 't.zh'", id="jsonl-missing-dotted"),
    pytest.param(JSONL, {"data.jsonl": '{"src": 3, "ref": "one"}\n'},
                 "data.jsonl:1: field 'src' must be a string, got int", id="jsonl-wrong-type"),
    pytest.param(JSONL, {"data.jsonl": '{"src": "一", "ref": []}\n'},
                 "data.jsonl:1: field 'ref' must be a string or a non-empty list of strings, "
                 "got list",
                 id="jsonl-empty-ref-list"),
    pytest.param({**JSONL, "doc_id_field": "d"},
                 {"data.jsonl": '{"src": "一", "ref": "1", "d": true}'},
                 "data.jsonl:1: field 'd' must be a string or integer id, got bool",
                 id="jsonl-bool-id"),
    pytest.param(JSONL, {"data.jsonl": '["src", "ref"]\n'},
                 "data.jsonl:1: expected a JSON object, got list", id="jsonl-not-object"),
    pytest.param(JSONL, {"data.jsonl": '{"src": "\\ud800", "ref": "r"}\n'},
                 "data.jsonl:1: field 'src' holds a lone surrogate", id="jsonl-surrogate"),
    pytest.param(JSONL, {"data.jsonl": "\n\n"}, "data.jsonl: file is empty", id="jsonl-blank"),
]


@pytest.mark.parametrize(("config", "files", "message"), BAD)
def test_bad_inputs(tmp_path, config, files, message):
    write(tmp_path, files)
    with pytest.raises(DataError) as info:
        read_testset(config, base_dir=tmp_path)
    assert message.format(tmp=tmp_path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        ({**ONE_REF, "refs": ["a.en"]}, pydantic.ValidationError, "refs"),
        ({**ONE_REF, "references": []}, pydantic.ValidationError, "references"),
        ({**TSV, "colum": 1}, pydantic.ValidationError, "colum"),
        ({**JSONL, "source": "x"}, pydantic.ValidationError, "source"),
        ({**TSV, "header": False}, ConfigError,
         "source_field: column 'src' is a name but header is false"),
        ({**TSV, "header": False, "source_field": -1}, ConfigError,
         "source_field: column index must be >= 0"),
    ],
)
def test_config_errors(tmp_path, config, error, message):
    write(tmp_path, {"src.zh": "一\n", "a.en": "one\n", "data.tsv": "一\tone\n",
                     "data.jsonl": '{"src": "一", "ref": "one"}\n'})
    with pytest.raises(error, match=message):
        read_testset(config, base_dir=tmp_path)


def test_glob_matching_several_files_is_an_error(tmp_path):
    write(tmp_path, {"a.zh": "一\n", "b.zh": "二\n", "a.en": "one\n"})
    with pytest.raises(DataError, match=r"source: '\*\.zh' matches 2 files"):
        read_testset({"reader": "text", "source": "*.zh", "references": ["a.en"]},
                     base_dir=tmp_path)
