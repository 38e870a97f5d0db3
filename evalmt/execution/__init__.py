"""Executors: where the translate phase runs (this process, or replicas on a Ray cluster).

An executor opens one :class:`SystemRun` per system × language direction; the
runner asks it for each data set's outputs. ``local`` (the default) builds the
system in this process; ``ray`` (``pip install "evalmt[ray]"``) starts one Ray
actor per replica, each loading the model once, and hands them batches while
this process keeps the batching, the cache and the output order. Nothing here
imports Ray until a ``ray`` executor is built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalmt.cache import TranslationCache
    from evalmt.config import ExecutionConfig
    from evalmt.data.model import TestSet
    from evalmt.systems.base import SystemConfig


class SystemRun(ABC):
    """One system built for one language direction, ready to produce outputs."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Return what the manifest records about the system (class, config, fingerprint)."""

    @abstractmethod
    def fingerprint(self) -> str:
        """Return the system's fingerprint (the translation cache key)."""

    @abstractmethod
    def outputs(self, testset: TestSet, *, full: TestSet, cache: TranslationCache | None,
                progress: bool) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Return one output per segment of ``testset`` (in order) and the timings.

        ``full`` is the data set before ``--limit`` (precomputed outputs cover all of it).
        """

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the model(s)."""


class Executor(ABC):
    """Builds system runs; ``close`` releases whatever the executor started."""

    #: Short name, as in ``execution.engine``.
    engine: str = ""

    @abstractmethod
    def open_system(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                    base_dir: Path, plugins: tuple[str, ...] = ()) -> SystemRun:
        """Build ``config`` for one direction; ``plugins`` are the config's plugin modules."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the executor's resources (a Ray connection it opened)."""


def build_executor(config: ExecutionConfig) -> Executor:
    """Return the executor ``config`` asks for (Ray is imported only for ``engine: ray``)."""
    if config.engine == "ray":
        from evalmt.execution.ray_executor import RayExecutor

        return RayExecutor(config)
    from evalmt.execution.local import LocalExecutor

    return LocalExecutor()
