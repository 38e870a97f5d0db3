"""The translation-system extension point: the Translator protocol and SYSTEMS registry.

A system is built once per language direction from its validated config. It
exposes exactly two things the rest of evalmt relies on:

* ``fingerprint()`` — a stable hash of everything that changes outputs
  (model id, resolved weight revision or file hashes, decoding parameters,
  prompt). The translation cache is keyed by (fingerprint, source text).
* ``translate(batch)`` — a list of source strings in, one output string per
  input out, same order, same length.

Chunking long inputs, batching, caching and progress are *not* a system's
job; ``evalmt.translate`` does them around every system. A system that
schedules its own requests (``schedules_own_batches``, e.g. an HTTP API with
a concurrency cap) gets every pending piece at once through
``translate_pieces`` and reports each piece as it finishes — or fails.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from evalmt.registry import Registry

if TYPE_CHECKING:
    from evalmt.data.model import Segment


class SystemConfig(BaseModel):
    """Options every system takes; each system type subclasses it with ``type: Literal[...]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    name: str
    type: str

    def expand(self, *, base_dir: Path) -> list[SystemConfig]:
        """Return the systems this entry stands for; one entry is one system by default.

        An entry may stand for several systems (a ``hypotheses`` glob: one per
        file). Raises ``ConfigError`` naming the key when it cannot expand.
        """
        return [self]


@dataclass(frozen=True)
class PieceResult:
    """One piece finished by a system that schedules its own batches.

    ``output`` is ``None`` when the piece failed (``error`` says why; it is
    not cached, so a rerun tries it again). ``details`` is JSON-ready and
    kept in the cache next to the output (e.g. finish reason, token usage);
    its ``flags`` list (``truncated``, ``refused``, ``empty``) reaches hygiene.
    """

    source: str
    output: str | None
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Translator(ABC):
    """A machine-translation system under evaluation."""

    config_model: ClassVar[type[SystemConfig]] = SystemConfig
    #: True: ``evalmt.translate`` hands every pending piece to ``translate_pieces`` at once
    #: (no token-budget batches, no out-of-memory halving) and caches each as it finishes.
    schedules_own_batches: ClassVar[bool] = False
    #: Config keys that do not change outputs (concurrency, limits): left out of the fingerprint.
    fingerprint_exclude: ClassVar[frozenset[str]] = frozenset()

    #: Largest input (in ``num_tokens`` units) the system accepts; ``None`` = unlimited.
    #: Longer segments are split into sentences by ``evalmt.translate`` and joined back.
    max_input_tokens: int | None = None

    #: Whether an executor may run this system in replicas on other processes or machines
    #: (the ``ray`` executor); systems reading local files stay in the driver.
    runs_in_replicas: ClassVar[bool] = True

    def __init__(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path | str | None = None) -> None:
        self.config = config
        self.src_lang = src_lang
        self.tgt_lang = tgt_lang
        #: Folder that relative paths in the config resolve against (the config's folder).
        self.base_dir = Path(base_dir) if base_dir is not None else None

    def resolve_path(self, path: str | Path) -> Path:
        """Return ``path`` with ``~`` expanded; a relative path is taken from ``base_dir``."""
        resolved = Path(path).expanduser()
        if not resolved.is_absolute() and self.base_dir is not None:
            resolved = self.base_dir / resolved
        return resolved

    @property
    def name(self) -> str:
        """The system's name from the config."""
        return self.config.name

    def fingerprint(self) -> str:
        """Stable sha256 of everything that changes outputs.

        The default hashes the config (minus ``fingerprint_exclude``), the
        system class and the language direction; subclasses add weight hashes
        or prompts via ``fingerprint_extra``.
        """
        payload = {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.config.model_dump(mode="json",
                                             exclude={"name", *self.fingerprint_exclude}),
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "extra": self.fingerprint_extra(),
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def fingerprint_extra(self) -> dict[str, Any]:
        """Extra fingerprint material (weight revision, file hashes, prompt text)."""
        return {}

    @abstractmethod
    def translate(self, batch: list[str]) -> list[str]:
        """Translate ``batch``; return exactly one string per input, in order."""

    def translate_pieces(self, pieces: Sequence[str], *,
                         cached: Mapping[str, Mapping[str, Any]],
                         on_result: Callable[[PieceResult], None]) -> Mapping[str, Any]:
        """Translate ``pieces`` (only when ``schedules_own_batches``); return a usage summary.

        Calls ``on_result`` once per piece, in completion order, as soon as it
        is done (the caller caches it at once). A piece that fails is reported
        with ``output=None`` and does not stop the others. ``cached`` holds the
        stored ``details`` of the pieces served from the cache this time (to
        count what the cache saved).
        """
        raise NotImplementedError(f"{type(self).__name__} does not schedule its own batches")

    def precomputed_outputs(self, segments: Sequence[Segment]) -> list[str] | None:
        """Return outputs for ``segments`` that already exist (hypothesis files), else ``None``.

        A system that returns a list here is not run through ``evalmt.translate``
        (no chunking, batching or cache); the list must match ``segments`` 1:1.
        """
        return None

    def num_tokens(self, text: str) -> int:
        """Size of ``text`` in the units of ``max_input_tokens`` and batch budgets.

        The default counts characters for CJK-heavy text and words otherwise;
        model systems override it with their tokenizer.
        """
        return max(1, len(text.split()) if text.isascii() else len(text))

    def describe(self) -> dict[str, Any]:
        """Return what the manifest records about this system (class, config, fingerprint)."""
        return {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.config.model_dump(mode="json"),
            "fingerprint": self.fingerprint(),
        }

    def close(self) -> None:  # noqa: B027  (optional hook, empty by default)
        """Release resources (models, GPU memory). Optional."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Tell whether ``exc`` is an accelerator out-of-memory error (torch is not imported).

    Systems let such errors through unchanged: ``evalmt.translate`` halves the batch.
    """
    if any(cls.__name__ == "OutOfMemoryError" for cls in type(exc).__mro__):
        return True
    return "out of memory" in str(exc).lower()


SYSTEMS: Registry[type[Translator]] = Registry("system", base=Translator)
# Built-in systems, imported on first use. Their modules import torch, transformers
# or ctranslate2 only inside methods, so validating a config stays fast.
for _name, _target in {
    "copy": "evalmt.systems.baselines:CopySystem",
    "hypotheses": "evalmt.systems.hypotheses:HypothesesSystem",
    "dictionary": "evalmt.systems.dictionary:DictionarySystem",
    "hf-seq2seq": "evalmt.systems.hf_seq2seq:HFSeq2SeqSystem",
    "hf-causal": "evalmt.systems.hf_causal:HFCausalSystem",
    "ctranslate2": "evalmt.systems.ct2:CTranslate2System",
    "openai": "evalmt.systems.openai_api:OpenAISystem",
}.items():
    SYSTEMS.add_lazy(_name, _target)
