"""Encoder-decoder model families: what decides what reaches the model for one direction.

Shared by ``hf-seq2seq`` and ``ctranslate2`` (both mix in :class:`Seq2SeqFamily`):

* ``marian`` — plain input; multilingual-target models get a ``>>code<<`` prefix.
* ``nllb`` — ``tokenizer.src_lang`` (e.g. ``zho_Hans``) and a forced first
  target token = the target code (``eng_Latn``).
* ``m2m100`` — ``tokenizer.src_lang`` (``zh``) and forced ``__en__``.
* ``mbart50`` — ``src_lang`` (``zh_CN``) and forced ``en_XX``.
* ``t5`` — a task prefix prepended to the source (MADLAD-400: ``<2en> ``).

The family is detected from the model config (``model_type``) and tokenizer,
or set with ``family:``. Language codes come from the data set's language tags
(see :func:`evalmt.systems.hf_common.language_code`) unless ``src_code`` /
``tgt_code`` override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any, Literal

from pydantic import Field, field_validator

from evalmt.errors import ConfigError
from evalmt.systems import hf_common
from evalmt.systems.hf_base import ModelSystemConfig

Family = Literal["marian", "nllb", "m2m100", "mbart50", "t5"]

#: Default input cap: NLLB and M2M100 accept 1024 positions but were trained on ≤512 tokens.
DEFAULT_INPUT_CAP = 512


class Seq2SeqOptions(ModelSystemConfig):
    """Options of the encoder-decoder back ends (on top of the shared model options)."""

    family: Family | None = None
    src_code: str | None = None
    tgt_code: str | None = None
    prefix: str | None = Field(
        default=None, description="text prepended to every source; {src_code}/{tgt_code} expand"
    )
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = Field(default=0, ge=0)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str | None) -> str | None:
        if value is not None:
            hf_common.check_template(value, what="prefix",
                                     allowed=frozenset({"src_code", "tgt_code"}))
        return value


def detect_family(model_type: str, tokenizer_class: str) -> str | None:
    """Family from ``config.model_type`` and the tokenizer class name (NLLB reuses m2m_100)."""
    if model_type == "marian":
        return "marian"
    if model_type in ("m2m_100", "nllb-moe", "nllb_moe"):
        return "nllb" if tokenizer_class.startswith("Nllb") else "m2m100"
    if model_type == "mbart":
        return "mbart50"
    if model_type in ("t5", "mt5", "umt5", "longt5"):
        return "t5"
    return None


@dataclass(frozen=True)
class Seq2SeqSetup:
    """The resolved, per-direction facts that decide what reaches the model."""

    family: str
    src_code: str | None
    tgt_code: str | None
    prefix: str
    forced_bos_token_id: int | None


class Seq2SeqFamily:
    """Mixin for a ``ModelSystem`` running an encoder-decoder model with a HF tokenizer.

    The host provides ``config`` (``Seq2SeqOptions``), ``src_lang``/``tgt_lang``,
    ``_key``, ``source`` and the ``_tokenizer``/``_hf_config`` slots; it may
    override :meth:`tokenizer_source` and :meth:`checkpoint_config`.
    """

    config: Seq2SeqOptions
    _setup: Seq2SeqSetup | None = None

    def tokenizer_source(self) -> hf_common.ModelSource:
        """Where the tokenizer comes from (the model's own checkpoint by default)."""
        return self.source

    def checkpoint_config(self, tokenizer: Any) -> Any:
        """Return the model's HF config (``model_type``, position limits)."""
        return hf_common.load_config(self.source,
                                     trust_remote_code=self.config.trust_remote_code)

    @property
    def tokenizer(self) -> Any:
        """The tokenizer, configured for the source language."""
        if self._tokenizer is None:
            tokenizer = hf_common.load_tokenizer(self.tokenizer_source(),
                                                 trust_remote_code=self.config.trust_remote_code)
            self._hf_config = self.checkpoint_config(tokenizer)
            self._setup = self._resolve_setup(tokenizer)
            if self._setup.src_code is not None and hasattr(tokenizer, "src_lang"):
                tokenizer.src_lang = self._setup.src_code
            self._tokenizer = tokenizer
            if self.max_new_tokens < self.config.max_new_tokens:
                self.warnings.append(
                    f"system {self.name!r}: max_new_tokens {self.config.max_new_tokens} capped "
                    f"to {self.max_new_tokens}: the decoder of {self.config.model!r} has "
                    f"{hf_common.decoder_positions(self._hf_config)} positions"
                )
        return self._tokenizer

    @property
    def max_new_tokens(self) -> int:
        """``max_new_tokens``, capped at what the decoder's position table holds.

        The decoder start token, a forced language token and the new tokens must fit:
        beyond the table, position embeddings fail with ``IndexError: index out of range``.
        """
        cfg = self.config
        if self._tokenizer is None:
            _ = self.tokenizer  # loads the model config with it
        positions = hf_common.decoder_positions(self._hf_config)
        if positions is None:
            return cfg.max_new_tokens
        room = positions - 1 - int(self.setup.forced_bos_token_id is not None)
        return max(1, min(cfg.max_new_tokens, room))

    @property
    def setup(self) -> Seq2SeqSetup:
        """Family, language codes, prefix and forced BOS for this direction."""
        if self._setup is None:
            _ = self.tokenizer  # resolves the setup together with the tokenizer
        return self._setup

    def _resolve_setup(self, tokenizer: Any) -> Seq2SeqSetup:
        cfg, key = self.config, self._key
        family = cfg.family or detect_family(
            getattr(self._hf_config, "model_type", ""), type(tokenizer).__name__
        )
        if family is None:
            raise ConfigError(
                f"{key('family')}: cannot detect the family of model_type "
                f"{getattr(self._hf_config, 'model_type', None)!r}; set family: to one of "
                + ", ".join(hf_common.FAMILIES)
            )
        src_code, tgt_code = cfg.src_code, cfg.tgt_code
        if family in ("nllb", "m2m100", "mbart50"):
            src_code = src_code or hf_common.language_code(
                family, self.src_lang, key=key("src_code")
            )
        if family in ("nllb", "m2m100", "mbart50", "t5"):
            tgt_code = tgt_code or hf_common.language_code(
                family, self.tgt_lang, key=key("tgt_code")
            )
        elif family == "marian" and tgt_code is None:
            tgt_code = self._marian_target(tokenizer)
        forced_bos = self._forced_bos(family, tokenizer, src_code, tgt_code)
        if cfg.prefix is not None:
            prefix = cfg.prefix.format(src_code=src_code, tgt_code=tgt_code)
        elif family == "t5":
            prefix = f"<2{tgt_code}> "  # MADLAD-400 convention
        elif family == "marian" and tgt_code:
            prefix = f">>{tgt_code}<< "
        else:
            prefix = ""
        return Seq2SeqSetup(family, src_code, tgt_code, prefix, forced_bos)

    def _marian_target(self, tokenizer: Any) -> str | None:
        """``>>id<<`` target for multilingual-target Marian models; ``None`` for bilingual ones."""
        supported = list(getattr(tokenizer, "supported_language_codes", []) or [])
        if not supported:
            return None
        key = self._key("tgt_code")
        code = hf_common.language_code("marian", self.tgt_lang, key=key)
        base = code.split("_")[0]
        for candidate in (code, base):
            if f">>{candidate}<<" in supported:
                return candidate
        raise ConfigError(
            f"{key}: model needs a >>code<< target token and none matches "
            f"{self.tgt_lang!r}; available: {', '.join(supported[:20])}"
        )

    def _forced_bos(
        self, family: str, tokenizer: Any, src_code: str | None, tgt_code: str | None
    ) -> int | None:
        if family not in ("nllb", "m2m100", "mbart50"):
            return None
        for role, code in (("src_code", src_code), ("tgt_code", tgt_code)):
            if family == "m2m100":
                known = code in getattr(tokenizer, "lang_code_to_id", {})
            else:
                token_id = tokenizer.convert_tokens_to_ids(code)
                known = token_id is not None and token_id != tokenizer.unk_token_id
            if not known:
                raise ConfigError(
                    f"{self._key(role)}: language code {code!r} is not in the "
                    f"{family} tokenizer of {self.config.model!r}"
                )
        if family == "m2m100":
            return int(tokenizer.get_lang_id(tgt_code))
        return int(tokenizer.convert_tokens_to_ids(tgt_code))

    @property
    def max_input_tokens(self) -> int:
        """Configured limit, else the tokenizer/model limit capped at 512."""
        if self.config.max_input_tokens is not None:
            return self.config.max_input_tokens
        return hf_common.input_limit(self.tokenizer, self._hf_config, cap=DEFAULT_INPUT_CAP)

    def num_tokens(self, text: str) -> int:
        """Tokens the encoder sees for ``text`` (prefix and special tokens included)."""
        # verbose=False: measuring an over-long segment before chunking is expected here
        return len(self.tokenizer(self.setup.prefix + text, verbose=False)["input_ids"])

    def language_token_ids(self) -> frozenset[int]:
        """Language-code ids to drop from outputs (M2M100's are not marked special on reload)."""
        if self.setup.family != "m2m100":
            return frozenset()
        return frozenset(int(i) for i in getattr(self.tokenizer, "lang_code_to_id", {}).values())

    def setup_fingerprint(self) -> dict[str, Any]:
        """Fingerprint material of the direction: checkpoint, family, codes, prefix, BOS."""
        setup = self.setup
        return {
            "source": self.source.identity(),
            "family": setup.family,
            "src_code": setup.src_code,
            "tgt_code": setup.tgt_code,
            "prefix": setup.prefix,
            "forced_bos_token_id": setup.forced_bos_token_id,
            "dtype": self.dtype,
            # MarianTokenizer normalises punctuation only when sacremoses is installed.
            "sacremoses": setup.family == "marian" and find_spec("sacremoses") is not None,
        }

    def describe(self) -> dict[str, Any]:
        """Manifest entry: the shared model fields plus family and language codes."""
        info = super().describe()
        setup = self.setup
        info.update({"family": setup.family, "src_code": setup.src_code,
                     "tgt_code": setup.tgt_code, "prefix": setup.prefix,
                     "forced_bos_token_id": setup.forced_bos_token_id,
                     "max_new_tokens": self.max_new_tokens})  # after the position-table cap
        return info

    def close(self) -> None:
        """Drop the model, tokenizer and language setup."""
        super().close()
        self._setup = None
