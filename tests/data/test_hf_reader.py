"""Reader `hf-datasets` on local JSON/JSONL/CSV/Parquet files and folders (never the hub)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pydantic
import pytest

from evalmt.data import read_testset
from evalmt.errors import ConfigError, DataError

# Nested "translation" columns as in the WMT data sets on the hub.
RECORDS = [
    {"translation": {"zh": "你好", "en": "hello"}, "alt": "hi", "doc": "d1", "n": 1},
    {"translation": {"zh": "世界", "en": "world"}, "alt": "earth", "doc": "d1", "n": 2},
    {"translation": {"zh": "再见", "en": "goodbye"}, "alt": "bye", "doc": "d2", "n": 1},
]
EXPECTED = [
    ("d1", "1", "你好", ("hello", "hi")),
    ("d1", "2", "世界", ("world", "earth")),
    ("d2", "1", "再见", ("goodbye", "bye")),
]
NESTED = {"source_field": "translation.zh", "reference_fields": ["translation.en", "alt"],
          "doc_id_field": "doc", "seg_id_field": "n"}
FLAT = {"source_field": "zh", "reference_fields": ["en", "alt"], "doc_id_field": "doc",
        "seg_id_field": "n"}


def flat(record: dict) -> dict:
    return {"zh": record["translation"]["zh"], "en": record["translation"]["en"],
            "alt": record["alt"], "doc": record["doc"], "n": record["n"]}


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def write_csv(path: Path, records: list[dict]) -> None:
    rows = [flat(r) for r in records]
    lines = [",".join(rows[0])] + [",".join(str(v) for v in r.values()) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_parquet(path: Path, records: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)


def read(tmp_path: Path, dataset: str, **options):
    config = {"reader": "hf-datasets", "dataset": dataset,
              "cache_dir": str(tmp_path / "cache"), **options}
    return read_testset(config, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("filename", "writer", "mapping"),
    [
        ("data.jsonl", write_jsonl, NESTED),
        ("data.json", write_jsonl, NESTED),
        ("data.parquet", write_parquet, NESTED),
        ("data.csv", write_csv, FLAT),
    ],
)
def test_local_files(tmp_path, filename, writer, mapping):
    writer(tmp_path / filename, RECORDS)
    ts = read(tmp_path, filename, **mapping)
    assert [(s.doc_id, s.seg_id, s.src, s.refs) for s in ts.segments()] == EXPECTED
    digest = hashlib.sha256((tmp_path / filename).read_bytes()).hexdigest()
    assert dict(ts.provenance) == {str(tmp_path / filename): digest}
    assert ts.meta["split"] == "test"


def test_folder_with_split_files_and_default_doc(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", RECORDS[:2])
    write_jsonl(folder / "validation.jsonl", RECORDS[2:])
    ts = read(tmp_path, "corpus", split="validation", source_field="translation.zh",
              reference_fields=["translation.en"])
    assert [(s.doc_id, s.seg_id, s.src, s.refs) for s in ts.segments()] == [
        ("corpus", "1", "再见", ("goodbye",))]
    assert sorted(ts.provenance) == [str(folder / "test.jsonl"), str(folder / "validation.jsonl")]


def test_list_column_gives_several_references(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", [{"src": "一", "refs": ["one", "a single one"]}])
    ts = read(tmp_path, "d.jsonl", reference_fields=["refs"])
    assert [s.refs for s in ts.segments()] == [("one", "a single one")]


@pytest.mark.parametrize(
    ("records", "options", "message"),
    [
        (RECORDS, {"source_field": "translation.de"},
         "d.jsonl[test][0]: missing field 'translation.de'"),
        ([{"src": "一", "ref": "one"}, {"src": "二", "ref": 2}], {},
         "d.jsonl[test][1]: field 'ref' must be a string or a non-empty list of strings, got int"),
        ([{"src": "一", "ref": "one", "d": "a"}, {"src": "二", "ref": "two", "d": "b"},
          {"src": "三", "ref": "three", "d": "a"}], {"doc_id_field": "d"},
         "d.jsonl[test][2]: duplicate doc id 'a': it already occurred at d.jsonl[test][0]"),
    ],
    ids=["missing-column", "wrong-type", "duplicate-doc"],
)
def test_bad_rows(tmp_path, records, options, message):
    write_jsonl(tmp_path / "d.jsonl", records)
    with pytest.raises(DataError) as info:
        read(tmp_path, "d.jsonl", **options)
    assert message in str(info.value)


def test_csv_missing_value_is_a_type_error(tmp_path):
    (tmp_path / "d.csv").write_text("src,ref\n一,one\n二,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"d.csv\[test\]\[1\]: field 'ref' must be a string .*"
                                        r"got NoneType"):
        read(tmp_path, "d.csv")


@pytest.mark.parametrize(
    ("dataset", "options", "message"),
    [
        ("someone/not-a-dataset", {}, "dataset 'someone/not-a-dataset' (split 'test'): "
                                      "cannot load:"),
        ("folder", {"split": "dev"},
         "dataset 'folder' (split 'dev'): cannot load: ValueError: Unknown split \"dev\""),
        ("e.csv", {}, "dataset 'e.csv' (split 'test'): cannot load:"),
        ("d.txt", {}, "dataset 'd.txt': unsupported file type '.txt'"),
    ],
    ids=["hub-offline", "unknown-split", "header-only-csv", "unsupported-suffix"],
)
def test_unloadable(tmp_path, dataset, options, message):
    (tmp_path / "folder").mkdir()
    write_jsonl(tmp_path / "folder" / "test.jsonl", RECORDS)
    (tmp_path / "d.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("src,ref\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read(tmp_path, dataset, **options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_split_of_a_single_file_only_names_it(tmp_path):
    # A lone data file has no splits of its own: ``split`` is the name it is loaded under.
    write_jsonl(tmp_path / "d.jsonl", [{"src": "一", "ref": "one"}])
    ts = read(tmp_path, "d.jsonl", split="dev")
    assert (ts.meta["split"], ts.sources()) == ("dev", ["一"])


def test_config_errors(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", RECORDS)
    with pytest.raises(ConfigError, match="trust_remote_code"):
        read(tmp_path, "d.jsonl", trust_remote_code=True)
    with pytest.raises(ConfigError, match="config_name/revision: only for hub datasets"):
        read(tmp_path, "d.jsonl", config_name="zh-en")
    with pytest.raises(pydantic.ValidationError,
                       match="source_column was renamed source_field"):
        read(tmp_path, "d.jsonl", source_column="zh")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Both inputs segfault pyarrow's JSON reader (datasets 5.2 / pyarrow 26) if passed on.
        ("null", "d.jsonl:1: top-level JSON NoneType"),
        ('{"src": "一", "ref": "one"}\nnull\n', "d.jsonl:2: expected a JSON object, got NoneType"),
        ('{"src": "一", "ref": "one"}\n{"src": \n', "d.jsonl:2: bad JSON: Expecting value"),
        (b'{"src": "\xff"}\n', "d.jsonl:1: invalid UTF-8"),
        ("\n", "d.jsonl: file is empty"),
    ],
    ids=["top-level-null", "null-line", "bad-json", "invalid-utf8", "empty"],
)
def test_json_files_are_checked_before_datasets(tmp_path, content, message):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (tmp_path / "d.jsonl").write_bytes(data)
    with pytest.raises(DataError) as info:
        read(tmp_path, "d.jsonl")
    assert message in str(info.value)
