"""Shared names (evalmt.core) and the import boundaries between stages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evalmt.core import DEFAULT_METRICS, is_chinese, primary_subtag, safe_name


def loaded_after(statement: str) -> list[str]:
    """Modules in sys.modules after running ``statement`` in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize(("statement", "absent"), [
    # the metrics stage needs neither pydantic (config models) nor any model back end
    ("import evalmt.metrics", ("pydantic", "torch", "transformers", "datasets", "evalmt.data")),
    # config validation never imports the report stage
    ("import evalmt.config", ("evalmt.report", "torch", "transformers", "numpy")),
])
def test_stage_imports_stay_light(statement, absent):
    loaded = loaded_after(statement)
    assert [m for m in loaded if m.split(".")[0] in absent or m.startswith(absent)] == []


def test_score_and_run_use_the_same_default_metrics():
    from evalmt.cli import build_parser
    from evalmt.config import RunConfig

    args = build_parser().parse_args(["score", "--hyp", "h.txt", "--ref", "r.txt"])
    run_default = [m.name for m in RunConfig.model_fields["metrics"].default]
    assert args.metrics == run_default == list(DEFAULT_METRICS)


@pytest.mark.parametrize(("name", "expected"), [
    ("my run", "my_run"), ("../x", "x"), (".hidden", "hidden"), ("a/b\\c", "a_b_c"), ("..", "_"),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize(("tag", "base", "chinese"), [
    ("zh", "zh", True), ("zh-Hant", "zh", True), ("zh_TW", "zh", True), ("cmn", "cmn", True),
    ("en-GB", "en", False), ("", "", False),
])
def test_language_tags(tag, base, chinese):
    assert (primary_subtag(tag), is_chinese(tag)) == (base, chinese)
