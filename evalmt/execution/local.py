"""The ``local`` executor: every system runs in this process (the default)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import DataError
from evalmt.execution import Executor, SystemRun
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator

if TYPE_CHECKING:
    from evalmt.cache import TranslationCache
    from evalmt.data.model import TestSet

#: Defaults of translate_segments' batching for systems whose config has no such key.
DEFAULT_BATCH_TOKENS, DEFAULT_MAX_BATCH_SIZE = 4096, 64


def build_system(config: SystemConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path) -> Translator:
    """Build the system ``config`` names; relative paths in it resolve against ``base_dir``."""
    return SYSTEMS.get(config.type)(config, src_lang=src_lang, tgt_lang=tgt_lang,
                                    base_dir=base_dir)


def batching(system: Translator) -> tuple[int, int]:
    """Return the ``(batch_tokens, max_batch_size)`` ``system`` is packed with."""
    return (getattr(system.config, "batch_tokens", None) or DEFAULT_BATCH_TOKENS,
            getattr(system.config, "max_batch_size", None) or DEFAULT_MAX_BATCH_SIZE)


def precomputed(system: Translator, testset: TestSet,
                full: TestSet) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """Return ``system``'s precomputed outputs for ``testset`` and timings, or ``None``.

    Precomputed outputs cover the whole data set (a hypotheses file is checked
    against all of it), then the segments kept by ``--limit`` are picked by id.
    """
    started = time.perf_counter()
    every = list(full.segments())
    given = system.precomputed_outputs(every)
    if given is None:
        return None
    if len(given) != len(every):
        raise DataError(f"system {system.name!r}: {len(given)} precomputed outputs for "
                        f"{len(every)} segments of {testset.name!r}")
    by_key = dict(zip((s.key for s in every), given, strict=True))
    segments = list(testset.segments())
    return tuple(by_key[s.key] for s in segments), {
        "precomputed": True, "segments": len(segments),
        "seconds": round(time.perf_counter() - started, 4)}


def segment_ids(testset: TestSet) -> list[str]:
    """Return ``doc_id:seg_id`` of every segment (named in translation errors)."""
    return [f"{s.doc_id}:{s.seg_id}" for s in testset.segments()]


class LocalRun(SystemRun):
    """A system built in this process."""

    def __init__(self, system: Translator) -> None:
        self.system = system

    def describe(self) -> dict[str, Any]:
        """Return the system's own description."""
        return self.system.describe()

    def fingerprint(self) -> str:
        """Return the system's fingerprint."""
        return self.system.fingerprint()

    def outputs(self, testset: TestSet, *, full: TestSet, cache: TranslationCache | None,
                progress: bool) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Precomputed outputs, or translations through ``evalmt.translate``; plus timings."""
        from evalmt.translate import translate_segments

        given = precomputed(self.system, testset, full)
        if given is not None:
            return given
        batch_tokens, max_batch_size = batching(self.system)
        outcome = translate_segments(
            self.system, testset.sources(), cache=cache, batch_tokens=batch_tokens,
            max_batch_size=max_batch_size, progress=progress, label=self.system.name,
            segment_ids=segment_ids(testset))
        return outcome.hypotheses, {"precomputed": False, **outcome.as_dict()}

    def close(self) -> None:
        """Release the system."""
        self.system.close()


class LocalExecutor(Executor):
    """Run every system in this process, one after another."""

    engine = "local"

    def open_system(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                    base_dir: Path, plugins: tuple[str, ...] = ()) -> LocalRun:
        """Build the system here (plugins are imported already by ``load_config``)."""
        return LocalRun(build_system(config, src_lang=src_lang, tgt_lang=tgt_lang,
                                     base_dir=base_dir))
