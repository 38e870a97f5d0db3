"""External programs some tests drive (Chromium and chromedriver, pdflatex).

A missing tool skips its test with a one-line reason, so the README's test
command passes on a fresh machine. ``.ci/run`` installs the tools and sets
``EVALMT_REQUIRE_TOOLS=1``: there a missing tool fails the test instead, so
these tests can never silently stop running in CI.
"""

from __future__ import annotations

import os
import shutil

import pytest

#: Set by .ci/run: a missing tool is a failure, not a skip.
REQUIRE_ENV = "EVALMT_REQUIRE_TOOLS"


def missing(reason: str) -> None:
    """Skip (or, under ``EVALMT_REQUIRE_TOOLS=1``, fail) with ``reason``."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


def require_tool(*names: str, install: str) -> str:
    """Path of the first of ``names`` found on PATH; otherwise skip/fail naming ``install``."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    missing(f"{' or '.join(names)} not found (install: {install})")
    raise AssertionError("unreachable")  # pytest.skip/fail raise
