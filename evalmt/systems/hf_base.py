"""What every model system shares: one config vocabulary and one ``translate()``.

``ModelSystemConfig`` holds the options every model back end takes, each
under one name (``num_beams``, ``max_new_tokens``, ``max_length_ratio`` …);
the back ends' configs add only what is theirs. ``ModelSystem.translate``
owns what does not depend on the back end: blank inputs give ``""`` without a
model call, the per-input output limit (``max_new_tokens`` or the
length-relative one), counting inputs cut to the input limit, and letting
out-of-memory errors through unchanged (``evalmt.translate`` halves the batch)
while any other failure becomes a ``TranslationError`` naming the system. A
back end implements three steps: ``encode`` (texts → its inputs and each
input's length), ``generate`` and ``decode``.

``HFModelSystem`` adds the ``transformers`` loading (auto class, device,
dtype); ``hf-seq2seq`` and ``hf-causal`` build on it, ``ctranslate2`` on
``ModelSystem`` directly. torch and transformers are imported only when a
model is loaded.
"""

from __future__ import annotations

import logging
import math
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt

from evalmt.errors import TranslationError
from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig, Translator, is_out_of_memory

LOG = logging.getLogger("evalmt.systems.model")

#: Batch sizes a bucketed batch is padded up to: powers of two and the midpoints between
#: them, so at most a third of a batch is padding rows and few shapes ever occur.
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
#: Input lengths of a bucketed batch are padded up to a multiple of this many tokens.
LENGTH_MULTIPLE = 16


def bucket_size(rows: int) -> int:
    """Return the smallest bucket batch size holding ``rows`` (``rows`` itself past the table)."""
    return next((b for b in BATCH_BUCKETS if b >= rows), rows)


def bucket_length(longest: int, *, limit: int, multiple: int = LENGTH_MULTIPLE) -> int:
    """Return ``longest`` rounded up to a multiple of ``multiple``, never past ``limit``."""
    return min(limit, -(-longest // multiple) * multiple)


class ModelSystemConfig(SystemConfig):
    """Options every model system takes (back ends change defaults, never names)."""

    model: str = Field(min_length=1, description="hub id or local directory")
    revision: str | None = None
    num_beams: PositiveInt = 4
    max_new_tokens: PositiveInt = 256
    max_length_ratio: float | None = Field(default=None, gt=0)
    max_length_offset: int = Field(default=10, ge=0)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")
    batch_tokens: PositiveInt = 4096
    max_input_tokens: PositiveInt | None = None
    trust_remote_code: bool = False


class HFModelConfig(ModelSystemConfig):
    """Options of the systems that run a ``transformers`` model."""

    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"


@dataclass
class Encoded:
    """What ``encode`` returns: the back end's inputs and each input's length in tokens.

    ``lengths`` are the source lengths the output limit is relative to (after
    truncation); ``truncated`` counts the inputs cut to the input limit.
    """

    inputs: Any
    lengths: list[int]
    truncated: int = 0
    limit: int | None = None


class ModelSystem(Translator):
    """Base of the systems that run a model: shared config, lazy source, one ``translate``."""

    config: ModelSystemConfig
    #: The back end's decoding call, as named in error messages.
    decoding_call: ClassVar[str] = "generate"

    def __init__(
        self, config: SystemConfig, *, src_lang: str, tgt_lang: str, base_dir: Path | None = None
    ) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.warnings: list[str] = []
        if self.config.trust_remote_code:
            self.warnings.append(hf_common.remote_code_notice(self.name, self.config.model))
        # Updated in place, so a manifest holding describe()'s dict shows final counts.
        self.stats: dict[str, int] = {"truncated_inputs": 0}
        self._source: hf_common.ModelSource | None = None
        self._tokenizer: Any = None
        self._hf_config: Any = None
        self._model: Any = None
        self._device: str | None = None

    def _key(self, field_name: str) -> str:
        return f"system {self.name!r}: {field_name}"

    @property
    def source(self) -> hf_common.ModelSource:
        """Identity of the checkpoint (resolved commit or local file hashes)."""
        if self._source is None:
            self._source = hf_common.resolve_source(
                self.config.model, self.config.revision, key=self._key("model"),
                base_dir=self.base_dir,
            )
        return self._source

    @property
    def device(self) -> str:
        """The device the model is (or will be) on."""
        return self._device or self.config.device

    @property
    def dtype(self) -> str:
        """The number format the model runs in (as the manifest shows it)."""
        return "default"

    @property
    def max_new_tokens(self) -> int:
        """The new-token cap of every input (back ends may lower ``max_new_tokens`` here)."""
        return self.config.max_new_tokens

    @property
    def truncated_inputs(self) -> int:
        """Inputs cut to the input limit so far (``evalmt.translate`` chunks before that)."""
        return self.stats["truncated_inputs"]

    def output_limit(self, n_input: int) -> int:
        """New-token budget of one input: ``max_new_tokens`` or the length-relative limit."""
        cfg = self.config
        if cfg.max_length_ratio is None:
            return self.max_new_tokens
        relative = math.ceil(cfg.max_length_ratio * n_input) + cfg.max_length_offset
        return max(1, min(self.max_new_tokens, relative))

    # --- the three steps a back end implements ----------------------------------------------

    @abstractmethod
    def encode(self, texts: list[str]) -> Encoded:
        """Turn non-blank source texts into the back end's inputs (truncated to its limit)."""

    @abstractmethod
    def generate(self, encoded: Encoded, max_new_tokens: int) -> Any:
        """Run the model on ``encoded`` with at most ``max_new_tokens`` new tokens per row."""

    @abstractmethod
    def decode(self, generated: Any, encoded: Encoded, limits: list[int],
               sources: list[str]) -> list[str]:
        """Turn ``generate``'s result into one text per input, row ``r`` cut at ``limits[r]``."""

    def translate(self, batch: list[str]) -> list[str]:
        """Translate ``batch``; blank inputs give blank outputs without running the model."""
        outputs = [""] * len(batch)
        todo = [i for i, text in enumerate(batch) if text.strip()]
        if not todo:
            return outputs
        sources = [batch[i] for i in todo]
        encoded = self.encode(sources)
        if encoded.truncated:
            self.stats["truncated_inputs"] += encoded.truncated
            LOG.warning("system %r: %d input(s) longer than %s tokens truncated", self.name,
                        encoded.truncated, encoded.limit)
        limits = [self.output_limit(n) for n in encoded.lengths]
        try:
            generated = self.generate(encoded, max(limits))
        except (RuntimeError, ValueError) as exc:
            if is_out_of_memory(exc):
                raise  # evalmt.translate backs off on OOM
            raise TranslationError(f"system {self.name!r}: {self.decoding_call} failed: "
                                   f"{exc}") from exc
        for i, text in zip(todo, self.decode(generated, encoded, limits, sources), strict=True):
            outputs[i] = text
        return outputs

    def describe(self) -> dict[str, Any]:
        """Manifest entry: config, checkpoint identity, device, dtype, input limit, counts."""
        info = super().describe()
        info.update(
            {
                "model_source": self.source.identity() | {"revision": self.source.revision},
                "device": self.device,
                "dtype": self.dtype,
                "max_input_tokens": self.max_input_tokens,
                "warnings": self.warnings,  # live: warnings raised while loading land too
                "stats": self.stats,
            }
        )
        return info

    def close(self) -> None:
        """Drop the model and tokenizer."""
        self._model = None
        self._tokenizer = None


class HFModelSystem(ModelSystem):
    """Base of the systems that load a ``transformers`` checkpoint lazily."""

    config: HFModelConfig
    #: The ``transformers`` auto class that loads the model, e.g. ``"AutoModelForCausalLM"``.
    auto_model_class: ClassVar[str]

    @property
    def model(self) -> Any:
        """The model, loaded on first use with ``auto_model_class``."""
        if self._model is None:
            import transformers

            self._device = hf_common.resolve_device(self.config.device)
            self._model = hf_common.load_model(
                getattr(transformers, self.auto_model_class),
                self.source,
                dtype=self.dtype,
                device=self._device,
                trust_remote_code=self.config.trust_remote_code,
                warnings=self.warnings,
            )
        return self._model

    @property
    def device(self) -> str:
        """The device the model is (or will be) on."""
        return self._device or hf_common.resolve_device(self.config.device)

    @property
    def dtype(self) -> str:
        """The resolved dtype name (``auto`` → per device)."""
        return hf_common.resolve_dtype(self.config.dtype, self.device)

    def close(self) -> None:
        """Drop the model and tokenizer (frees GPU memory when nothing else holds them)."""
        super().close()
        if self._device and self._device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
