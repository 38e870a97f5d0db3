"""Tests for the ``hypotheses`` system: line-aligned and JSONL files, and their errors."""

from __future__ import annotations

import json
import re

import pytest

from evalmt.data.model import Segment
from evalmt.errors import DataError, TranslationError
from evalmt.systems.base import SYSTEMS

SEGMENTS = [Segment("d1", "1", "甲", ("A",)), Segment("d1", "2", "乙", ("B",)),
            Segment("d2", "1", "丙", ("C",))]


def build(path, base_dir=None, **options):
    cls = SYSTEMS.get("hypotheses")
    config = cls.config_model(name="hyps", type="hypotheses", path=str(path), **options)
    return cls(config, src_lang="zh", tgt_lang="en", base_dir=base_dir)


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


@pytest.mark.parametrize(("name", "content", "outputs"), [
    ("h.txt", "one\ntwo\nthree\n", ["one", "two", "three"]),
    ("h.txt", "one\r\n\r\nthree", ["one", "", "three"]),  # CRLF, empty hypothesis, no final LF
    ("h.jsonl", jsonl([{"doc_id": "d2", "seg_id": 1, "hyp": "three"},
                       {"doc_id": "d1", "seg_id": "2", "hyp": "two"},
                       {"doc_id": "d1", "seg_id": "1", "hyp": "one", "extra": 1}]),
     ["one", "two", "three"]),
])
def test_outputs_follow_the_test_set(tmp_path, name, content, outputs):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8"))
    assert build(path).precomputed_outputs(SEGMENTS) == outputs


def test_custom_fields_and_forced_format(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text(jsonl([{"doc": d, "seg": s, "mt": f"{d}-{s}"}
                           for d, s in [("d1", "1"), ("d1", "2"), ("d2", "1")]]))
    system = build(path, format="jsonl", field="mt", doc_id_field="doc", seg_id_field="seg")
    assert system.precomputed_outputs(SEGMENTS) == ["d1-1", "d1-2", "d2-1"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("h.txt", "one\ntwo\n", r"h.txt: 2 lines but the test set has 3 segments; "
                            r"first segment without a line: \('d2', '1'\)"),
    ("h.txt", "1\n2\n3\n4\n", r"h.txt: 4 lines but the test set has 3 segments; "
                              r"first extra line: 4"),
    ("h.jsonl", jsonl([{"doc_id": "d1", "seg_id": "1", "hyp": "x"},
                       {"doc_id": "d2", "seg_id": "1", "hyp": "z"}]),
     r"h.jsonl: 1 segment\(s\) .* first missing \(doc_id, seg_id\): \('d1', '2'\)"),
    ("h.jsonl", jsonl([{"doc_id": d, "seg_id": s, "hyp": "x"}
                       for d, s in [("d1", "1"), ("d1", "2"), ("d2", "1"), ("d9", "7")]]),
     r"first extra \(doc_id, seg_id\): \('d9', '7'\)"),
    ("h.jsonl", jsonl([{"doc_id": "d1", "seg_id": "1", "hyp": "x"}] * 2),
     r"h.jsonl:2: duplicate segment \('d1', '1'\)"),
    ("h.jsonl", '{"doc_id": "d1", "seg_id": "1", "hyp": "x"}\n{not json\n',
     r"h.jsonl:2: invalid JSON"),
    ("h.jsonl", jsonl([{"doc_id": "d1", "seg_id": "1", "output": "x"}]),
     r"h.jsonl:1: missing field 'hyp'"),
    ("h.jsonl", jsonl([{"doc_id": "d1", "seg_id": "1", "hyp": 3}]),
     r"h.jsonl:1: field 'hyp' must be a string, got int"),
    ("h.jsonl", "[1, 2]\n", r"h.jsonl:1: expected a JSON object, got list"),
    ("h.jsonl", '{"doc_id": "d1", "seg_id": "1", "hyp": "bad \\ud800 text"}\n',
     r"h.jsonl:1: field 'hyp' holds a lone surrogate"),
])
def test_mismatches_are_data_errors_naming_file_and_key(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        build(path).precomputed_outputs(SEGMENTS)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "h.txt"
    path.write_bytes(b"one\ntw\xffo\nthree\n")
    with pytest.raises(DataError, match=r"h.txt:2: invalid UTF-8"):
        build(path).precomputed_outputs(SEGMENTS)


def test_missing_file(tmp_path):
    system = build(tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r"nope.txt: hypotheses file not found"):
        system.precomputed_outputs(SEGMENTS)
    with pytest.raises(DataError, match="nope.txt"):
        system.fingerprint()


def test_relative_path_resolves_against_base_dir(tmp_path):
    (tmp_path / "outs").mkdir()
    (tmp_path / "outs" / "h.txt").write_text("a\nb\nc\n")
    system = build("outs/h.txt", base_dir=tmp_path)
    assert system.precomputed_outputs(SEGMENTS) == ["a", "b", "c"]
    assert system.describe()["path"] == str(tmp_path / "outs" / "h.txt")


def test_fingerprint_follows_file_content(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text("a\nb\nc\n")
    before = build(path).fingerprint()
    assert build(path).fingerprint() == before
    path.write_text("a\nb\nC\n")
    assert build(path).fingerprint() != before


def test_translate_is_refused(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text("a\n")
    with pytest.raises(TranslationError, match="'hyps'.*cannot translate"):
        build(path).translate(["x"])


def test_unknown_option_is_rejected():
    from pydantic import ValidationError

    cls = SYSTEMS.get("hypotheses")
    with pytest.raises(ValidationError, match="colum"):
        cls.config_model(name="h", type="hypotheses", path="x", colum="hyp")


# -- many systems in one entry ---------------------------------------------------------


def _wmt_folder(tmp_path):
    out = tmp_path / "sub"
    out.mkdir()
    for system in ("GPT4-5shot", "IOL_Research", "ONLINE-A"):
        (out / f"generaltest2023.zh-en.hyp.{system}.en").write_text(f"{system}\n")
    (out / "generaltest2023.zh-en.src.zh").write_text("源\n")
    return out


def _config(tmp_path, systems):
    import yaml

    from evalmt.config import load_config

    (tmp_path / "src.txt").write_text("源\n")
    (tmp_path / "ref.txt").write_text("ref\n")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "name": "t", "data": [{"reader": "text", "source": "src.txt",
                               "references": ["ref.txt"]}],
        "systems": systems}))
    return load_config(path)


@pytest.mark.parametrize(("entry", "names"), [
    ({"name": "{system}", "path": "sub/generaltest2023.zh-en.hyp.*.en"},
     ["GPT4-5shot", "IOL_Research", "ONLINE-A"]),
    ({"name": "wmt23-{system}", "path": "sub/*.hyp.*.en",
      "system_pattern": r"\.hyp\.(.+)\.en$"},
     ["wmt23-GPT4-5shot", "wmt23-IOL_Research", "wmt23-ONLINE-A"]),
    ({"name": "{system}", "path": "sub", "system_pattern": r"hyp\.(?P<system>[^.]+)\.en"},
     ["GPT4-5shot", "IOL_Research", "ONLINE-A"]),
    ({"name": "{system}", "path": "sub/generaltest2023.zh-en.src.zh"},
     ["generaltest2023.zh-en.src"]),
])
def test_one_entry_becomes_one_system_per_file(tmp_path, entry, names):
    folder = _wmt_folder(tmp_path)
    config = _config(tmp_path, [{"type": "hypotheses", **entry}])
    assert [s.name for s in config.systems] == names
    for system in config.systems:
        assert system.path.endswith(f".hyp.{system.name.removeprefix('wmt23-')}.en") \
            or system.path == str(folder / "generaltest2023.zh-en.src.zh")


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "{system}", "path": "sub/nothing.*.en"}, "systems.0.path: 'sub/nothing.*.en' "
                                                       "matches no file"),
    ({"name": "{system}", "path": "sub/*.hyp.*.en"}, "one `*` only"),
    ({"name": "{system}", "path": "sub", "system_pattern": "(("}, "not a valid regex"),
    ({"name": "{system}", "path": "sub", "system_pattern": "nomatch"}, "matches system_pattern"),
    ({"name": "x", "path": "sub/a.txt", "system_pattern": "a"}, "has no {system}"),
    ({"name": "{system}", "path": "sub", "system_pattern": r"(\d*)\.en$"}, "empty system name"),
])
def test_bad_expansions_are_config_errors(tmp_path, entry, message):
    from evalmt.errors import ConfigError

    _wmt_folder(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(tmp_path, [{"type": "hypotheses", **entry}])


def test_expanded_names_clash_with_other_systems(tmp_path):
    from evalmt.errors import ConfigError

    _wmt_folder(tmp_path)
    with pytest.raises(ConfigError, match="duplicate name 'ONLINE-A'"):
        _config(tmp_path, [{"type": "hypotheses", "name": "{system}",
                            "path": "sub/generaltest2023.zh-en.hyp.*.en"},
                           {"type": "copy", "name": "ONLINE-A"}])
