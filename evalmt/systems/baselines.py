"""Trivial reference systems that need no model: the source-copy baseline (type ``copy``).

Copying the source is the floor every real system must beat; on zh→en it
scores near zero BLEU but shows how much a metric rewards shared digits,
names and Latin words.
"""

from __future__ import annotations

from typing import Literal

from evalmt.systems.base import SystemConfig, Translator


class CopyConfig(SystemConfig):
    """Options of the ``copy`` system: none beyond ``name``."""

    type: Literal["copy"] = "copy"


class CopySystem(Translator):
    """Return every source unchanged (source-copy baseline)."""

    config_model = CopyConfig

    def translate(self, batch: list[str]) -> list[str]:
        """Return ``batch`` itself, one output per input."""
        return list(batch)
