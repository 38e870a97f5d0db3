"""Session-scoped tiny models (built once per test session, see ``tiny_models``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tiny_models  # noqa: E402


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
