"""The typed manifest: old run folders read back, malformed ones are named, JSON layout kept."""

from __future__ import annotations

import copy
import json

import pytest

from evalmt.errors import DataError
from evalmt.report.manifest import Manifest, load_manifest

#: A manifest as evalmt wrote it before job cells existed (manifest_version 1).
OLD = {
    "manifest_version": 1, "status": "complete", "run": "demo",
    "started": "2026-11-01T10:00:00+00:00", "finished": "2026-11-01T10:01:00+00:00",
    "config_file": "demo.yaml", "config": {"name": "demo", "metrics": [{"name": "bleu"}]},
    "options": {"limit": None, "overwrite": False, "command": ["evalmt", "run", "demo.yaml"],
                "cache": "results/.cache/translations.sqlite", "layout": "single"},
    "environment": {"python": "3.11.7", "implementation": "CPython", "platform": "Linux",
                    "packages": {"evalmt": "0.1.0", "torch": None}},
    "git": {"commit": "abc", "dirty": False, "path": "/x"},
    "datasets": {"sample": {
        "folder": ".", "reader": {"reader": "bilingual-txt"}, "src_lang": "zh",
        "tgt_lang": "en", "documents": 1, "segments": 3, "reference_streams": 1,
        "limit_documents": None, "content_sha256": "f" * 64, "files_sha256": {"a.txt": "e" * 64},
        "meta": {}, "alignment_counts": {"1-1": 3}, "document_meta": {"d": {"layout": "x"}},
        "warnings": [], "metrics": [{"name": "BLEU", "signature": "nrefs:1|case:mixed"}],
        "seeds": {"confidence": 1, "significance": 2}, "notes": []}},
    "systems": {"copy": {"directions": {"zh-en": {"class": "C", "fingerprint": "x"}}}},
    "results": {"sample": {"copy": {"fingerprint": "x", "timing": {"seconds": 0.1},
                                    "hygiene": {"system": "copy"},
                                    "hypotheses": "hypotheses/copy.jsonl"}}},
    "warnings": ["w"],
}


def test_old_manifest_reads_back_and_writes_the_same_layout(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(OLD), encoding="utf-8")
    manifest = load_manifest(tmp_path)
    assert manifest.datasets["sample"].content_sha256 == "f" * 64
    assert manifest.result("sample", "copy").hypotheses == "hypotheses/copy.jsonl"
    assert manifest.result("sample", "other") is None
    assert manifest.git.commit == "abc"
    written = manifest.as_json()
    assert written.pop("cells") == {}  # the only key older manifests lack
    for entry in written["results"]["sample"].values():
        assert entry.pop("cell") is None
    assert written == OLD


@pytest.mark.parametrize(("edit", "where"), [
    (lambda m: m["datasets"]["sample"].update(segments="three"), "datasets.sample.segments"),
    (lambda m: m.update(status="done"), "status"),
    (lambda m: m["results"]["sample"]["copy"].update(hypothesis="x"),
     "results.sample.copy.hypothesis"),
])
def test_malformed_manifest_names_the_key(tmp_path, edit, where):
    bad = copy.deepcopy(OLD)
    edit(bad)
    (tmp_path / "manifest.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(DataError, match=rf"manifest.json: malformed manifest at {where}:"):
        load_manifest(tmp_path / "manifest.json")


def test_not_a_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match="not an evalmt manifest"):
        load_manifest(tmp_path)
    with pytest.raises(DataError, match="missing"):
        load_manifest(tmp_path / "nothing")


def test_error_key_only_when_set():
    manifest = Manifest(run="r")
    assert "error" not in manifest.as_json()
    manifest.error = "KeyboardInterrupt: "
    assert manifest.as_json()["error"] == "KeyboardInterrupt: "
