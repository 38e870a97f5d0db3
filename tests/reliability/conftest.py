"""Fixtures of the reliability suite: the tiny Marian model and the runner test doubles.

Both are reused from the modules that own them (tests/systems/tiny_models.py and
tests/test_runner.py) rather than copied.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS, TESTS / "systems"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory) -> Path:
    import tiny_models

    return tiny_models.build_marian(tmp_path_factory.mktemp("tiny") / "marian")


@pytest.fixture(scope="session")
def doubles_dir(tmp_path_factory) -> Path:
    from test_runner import DOUBLES_SOURCE

    folder = tmp_path_factory.mktemp("doubles")
    (folder / "evalmt_run_doubles.py").write_text(DOUBLES_SOURCE, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    import tiny_models

    return tiny_models.build_qwen2(tmp_path_factory.mktemp("tiny") / "qwen2")
