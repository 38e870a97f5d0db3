"""Shared test setup: no network, ever; fixtures built once per session.

Helpers live in the ``testkit`` package (tests/testkit, on sys.path through
pytest's ``pythonpath`` option in pyproject.toml).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import tiny_models
from testkit.runner_doubles import DOUBLES_SOURCE

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory) -> Path:
    """A folder holding configs/demo.yaml and its finished run, made once by ``evalmt run``.

    The run folder is ``results/demo-zh-en`` inside it. Tests read it; a test
    that changes files copies the folder first.
    """
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO / "configs" / "demo.yaml", folder / "demo.yaml")
    done = subprocess.run([sys.executable, "-m", "evalmt", "run", "demo.yaml", "--no-progress"],
                          cwd=folder, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="session")
def demo_run_dir(demo_folder) -> Path:
    """The demo's run folder (read-only by convention)."""
    return demo_folder / "results" / "demo-zh-en"


@pytest.fixture(scope="session")
def doubles_dir(tmp_path_factory) -> Path:
    """A folder holding the runner test-double plugin ``evalmt_run_doubles.py``."""
    folder = tmp_path_factory.mktemp("doubles")
    (folder / "evalmt_run_doubles.py").write_text(DOUBLES_SOURCE, encoding="utf-8")
    return folder


# ---------- tiny models (see testkit/tiny_models.py), each built at most once ----------

@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory) -> Path:
    return tiny_models.build_marian(tmp_path_factory.mktemp("tiny") / "marian")


@pytest.fixture(scope="session")
def tiny_marian_multi(tmp_path_factory) -> Path:
    """A Marian model whose vocabulary has >>eng<< and >>cmn_Hans<< target tokens."""
    return tiny_models.build_marian(tmp_path_factory.mktemp("tiny") / "marian-multi",
                                    target_codes=("eng", "cmn_Hans"))


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory) -> Path:
    return tiny_models.build_t5(tmp_path_factory.mktemp("tiny") / "t5")


@pytest.fixture(scope="session")
def tiny_nllb(tmp_path_factory) -> Path:
    return tiny_models.build_nllb(tmp_path_factory.mktemp("tiny") / "nllb")


@pytest.fixture(scope="session")
def tiny_m2m100(tmp_path_factory) -> Path:
    return tiny_models.build_m2m100(tmp_path_factory.mktemp("tiny") / "m2m100")


@pytest.fixture(scope="session")
def tiny_mbart50(tmp_path_factory) -> Path:
    return tiny_models.build_mbart50(tmp_path_factory.mktemp("tiny") / "mbart50")


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    return tiny_models.build_qwen2(tmp_path_factory.mktemp("tiny") / "qwen2")


@pytest.fixture(scope="session")
def tiny_qwen2_plain(tmp_path_factory) -> Path:
    """The same causal LM without a chat template (plain-prompt path)."""
    return tiny_models.build_qwen2(tmp_path_factory.mktemp("tiny") / "qwen2-plain",
                                   chat_template=False)


@pytest.fixture
def tiny_seq2seq(request) -> Path:
    """Indirect fixture: ``request.param`` names one of the seq2seq fixtures above."""
    return request.getfixturevalue(f"tiny_{request.param}")
