"""The bad-input corpus (tests/data/bad/cases.yaml): each case gives its exact outcome.

A case either fails with one line naming the file and line (or config key), of
the expected ``EvalMTError`` subclass, or succeeds with the listed properties.
No case may raise anything else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from evalmt import errors
from evalmt.config import load_config, validate_config
from evalmt.data import read_testset
from evalmt.errors import EvalMTError
from evalmt.runner import RunOptions, run
from evalmt.systems.hypotheses import HypothesesConfig, HypothesesSystem

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]
HYP_DATA = {"reader": "jsonl", "path": "hyp_data.jsonl", "doc_id_field": "doc"}


def prepare(case: dict, folder: Path) -> None:
    """Copy the case's files and write its generated ones into ``folder``."""
    for name in case.get("files", []):
        shutil.copyfile(BAD / name, folder / name)
    for name, recipe in case.get("generate", {}).items():
        (folder / name).write_text("".join(text * times for text, times in recipe),
                                   encoding="utf-8")


def outcome(case: dict, folder: Path):
    """Run the component the case names; return what it produced."""
    component = case["component"]
    if component == "reader":
        config = dict(case["config"])
        if config["reader"] == "hf-datasets":
            config["cache_dir"] = str(folder / "hf-cache")
        return read_testset(config, base_dir=folder)
    if component == "config":
        return load_config(folder / case["config"])
    if component == "hypotheses":
        testset = read_testset(HYP_DATA, base_dir=folder)
        system = HypothesesSystem(HypothesesConfig(name="h", type="hypotheses", **case["system"]),
                                  src_lang="zh", tgt_lang="en", base_dir=folder)
        return system.precomputed_outputs(list(testset.segments()))
    if component == "run":
        config = validate_config({"name": "bad", "data": [case["config"]],
                                  "systems": [{"name": "copy", "type": "copy"}],
                                  "metrics": ["bleu", "chrf"], "confidence": None,
                                  "significance": None, "output": str(folder / "results"),
                                  "cache": str(folder / case.get("cache", "cache.sqlite"))})
        object.__setattr__(config, "__pydantic_private__",
                           {"_base_dir": folder, "_source": "run.yaml"})
        return run(config, RunOptions(progress=False))
    raise AssertionError(f"unknown component {component!r}")


def test_corpus_size_and_files():
    """At least 30 cases, unique ids, every listed file exists and every file is used."""
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    used = {name for c in CASES for name in c.get("files", [])}
    present = {p.name for p in BAD.iterdir()} - {"cases.yaml", ".gitattributes"}
    assert used == present
    assert max(p.stat().st_size for p in BAD.iterdir()) < 50_000
    assert all(("error" in c) != ("result" in c) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, tmp_path):
    prepare(case, tmp_path)
    if "error" in case:
        expected = getattr(errors, case["error"]["type"])
        with pytest.raises(EvalMTError) as info:
            outcome(case, tmp_path)
        message = str(info.value)
        assert type(info.value) is expected, message
        assert "\n" not in message  # one line
        for fragment in [case["error"]["message"], *case.get("error_also", [])]:
            assert fragment in message
        run_dir = tmp_path / "results" / "bad"
        if case["component"] == "run" and run_dir.exists():  # never looks finished
            manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["status"] == "incomplete"
            assert not (run_dir / "scores.json").exists()
        return
    check_result(case, outcome(case, tmp_path), tmp_path)


def check_result(case: dict, result, folder: Path) -> None:
    want = case["result"]
    component = case["component"]
    if component == "config":
        output = Path(result.output).resolve()
        assert result.run_dir.resolve() == output / want["run_dir"]
        assert result.run_dir.resolve().parent == output  # one component below the output
        return
    if component == "hypotheses":
        assert result == want["outputs"]
        return
    if component == "run":
        manifest = json.loads(Path(result.manifest_path).read_text(encoding="utf-8"))
        assert manifest["status"] == "complete"
        assert manifest["datasets"]["s"]["segments"] == want["segments"]
        for fragment in want["manifest_warnings"]:
            assert any(fragment in w for w in manifest["warnings"]), manifest["warnings"]
        return
    testset = result
    if "segments" in want:
        assert testset.num_segments == want["segments"]
    if "segments_at_most" in want:
        assert 0 < testset.num_segments <= want["segments_at_most"]
    if "sources" in want:
        assert testset.sources() == want["sources"]
    if "references" in want:
        assert testset.reference_streams()[0] == want["references"]
    if "src_chars" in want:
        assert [len(s) for s in testset.sources()] == want["src_chars"]
    if "warnings" in want:
        assert list(testset.warnings) == want["warnings"]
    if "warning_count" in want:
        assert len(testset.warnings) == want["warning_count"]
        assert all(want["warning_fragment"] in w for w in testset.warnings)
    for key, value in want.get("meta", {}).items():
        assert all(dict(s.meta)[key] == value for s in testset.segments())
