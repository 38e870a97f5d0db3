"""What the Hugging Face systems share: lazy checkpoint, model, device and dtype handling.

``HFModelSystem`` owns the parts of ``hf-seq2seq`` and ``hf-causal`` (and, through
``hf-seq2seq``, ``ctranslate2``) that do not depend on the architecture: resolving
``model:`` to a checkpoint identity, loading the model class the subclass names,
the device and dtype, warnings for the manifest, and freeing memory on ``close``.
torch and transformers are imported only when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig, Translator


class HFModelSystem(Translator):
    """Base of the systems that load a ``transformers`` checkpoint lazily."""

    #: The ``transformers`` auto class that loads the model, e.g. ``"AutoModelForCausalLM"``.
    auto_model_class: ClassVar[str]

    def __init__(
        self, config: SystemConfig, *, src_lang: str, tgt_lang: str, base_dir: Path | None = None
    ) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.warnings: list[str] = []
        if self.config.trust_remote_code:
            self.warnings.append(hf_common.remote_code_notice(self.name, self.config.model))
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

    def describe(self) -> dict[str, Any]:
        """Manifest entry: config, checkpoint identity, device, dtype, input limit, warnings."""
        info = super().describe()
        info.update(
            {
                "model_source": self.source.identity() | {"revision": self.source.revision},
                "device": self.device,
                "dtype": self.dtype,
                "max_input_tokens": self.max_input_tokens,
                "warnings": self.warnings,  # live: warnings raised while loading land too
            }
        )
        return info

    def close(self) -> None:
        """Drop the model and tokenizer (frees GPU memory when nothing else holds them)."""
        self._model = None
        self._tokenizer = None
        if self._device and self._device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
