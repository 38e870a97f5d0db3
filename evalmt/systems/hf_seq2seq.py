"""The ``hf-seq2seq`` system: encoder-decoder translation models from the Hugging Face hub.

Owns the per-family rules that decide what reaches ``generate``:

* ``marian`` — plain input; multilingual-target models get a ``>>code<<`` prefix.
* ``nllb`` — ``tokenizer.src_lang`` (e.g. ``zho_Hans``) and ``forced_bos_token_id``
  = the id of the target code (``eng_Latn``).
* ``m2m100`` — ``tokenizer.src_lang`` (``zh``) and ``forced_bos_token_id`` =
  ``tokenizer.get_lang_id(tgt)``.
* ``mbart50`` — ``src_lang`` (``zh_CN``) and forced BOS of ``en_XX``.
* ``t5`` — a task prefix prepended to the source (MADLAD-400: ``<2en> ``).

The family is detected from the model config (``model_type``) and tokenizer,
or set with ``family:``. Language codes come from the data set's language tags
(see :func:`evalmt.systems.hf_common.language_code`) unless ``src_code`` /
``tgt_code`` override them. Chunking and batching happen in ``evalmt.translate``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt, field_validator

from evalmt.errors import ConfigError, TranslationError
from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig, is_out_of_memory
from evalmt.systems.hf_base import HFModelSystem

LOG = logging.getLogger("evalmt.systems.hf_seq2seq")

Family = Literal["marian", "nllb", "m2m100", "mbart50", "t5"]


class HFSeq2SeqConfig(SystemConfig):
    """Options of an ``hf-seq2seq`` system."""

    type: Literal["hf-seq2seq"] = "hf-seq2seq"
    model: str = Field(min_length=1, description="hub id or local directory")
    revision: str | None = None
    family: Family | None = None
    src_code: str | None = None
    tgt_code: str | None = None
    prefix: str | None = Field(
        default=None, description="text prepended to every source; {src_code}/{tgt_code} expand"
    )
    num_beams: PositiveInt = 4
    max_new_tokens: PositiveInt = 256
    max_length_ratio: float | None = Field(default=None, gt=0)
    max_length_offset: int = Field(default=10, ge=0)
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = Field(default=0, ge=0)
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")
    batch_tokens: PositiveInt = 4096
    max_input_tokens: PositiveInt | None = None
    trust_remote_code: bool = False

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str | None) -> str | None:
        if value is not None:
            hf_common.check_template(value, what="prefix",
                                     allowed=frozenset({"src_code", "tgt_code"}))
        return value


#: Default input cap: NLLB and M2M100 accept 1024 positions but were trained on ≤512 tokens.
DEFAULT_INPUT_CAP = 512


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
    """The resolved, per-direction facts that decide what reaches ``generate``."""

    family: str
    src_code: str | None
    tgt_code: str | None
    prefix: str
    forced_bos_token_id: int | None


class HFSeq2SeqSystem(HFModelSystem):
    """Encoder-decoder translator (Marian, NLLB, M2M100, mBART-50, T5/MADLAD)."""

    config_model: ClassVar[type[SystemConfig]] = HFSeq2SeqConfig
    config: HFSeq2SeqConfig
    auto_model_class = "AutoModelForSeq2SeqLM"

    def __init__(
        self, config: SystemConfig, *, src_lang: str, tgt_lang: str, base_dir: Path | None = None
    ) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        # Updated in place, so a manifest holding describe()'s dict shows final counts.
        self.stats: dict[str, int] = {"truncated_inputs": 0}
        self._setup: Seq2SeqSetup | None = None

    # --- lazy loading ------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The tokenizer, configured for the source language."""
        if self._tokenizer is None:
            trust = self.config.trust_remote_code
            self._hf_config = hf_common.load_config(self.source, trust_remote_code=trust)
            tokenizer = hf_common.load_tokenizer(self.source, trust_remote_code=trust)
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
        return self._setup  # type: ignore[return-value]

    def _resolve_setup(self, tokenizer: Any) -> Seq2SeqSetup:
        cfg = self.config
        family = cfg.family or detect_family(
            getattr(self._hf_config, "model_type", ""), type(tokenizer).__name__
        )
        if family is None:
            raise ConfigError(
                f"{self._key('family')}: cannot detect the family of model_type "
                f"{getattr(self._hf_config, 'model_type', None)!r}; set family: to one of "
                + ", ".join(hf_common.FAMILIES)
            )
        src_code, tgt_code = cfg.src_code, cfg.tgt_code
        if family in ("nllb", "m2m100", "mbart50"):
            src_code = src_code or hf_common.language_code(
                family, self.src_lang, key=self._key("src_code")
            )
        if family in ("nllb", "m2m100", "mbart50", "t5"):
            tgt_code = tgt_code or hf_common.language_code(
                family, self.tgt_lang, key=self._key("tgt_code")
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
        code = hf_common.language_code("marian", self.tgt_lang, key=self._key("tgt_code"))
        base = code.split("_")[0]
        for candidate in (code, base):
            if f">>{candidate}<<" in supported:
                return candidate
        raise ConfigError(
            f"{self._key('tgt_code')}: model needs a >>code<< target token and none matches "
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
                    f"{self._key(role)}: language code {code!r} is not in the {family} "
                    f"tokenizer of {self.config.model!r}"
                )
        if family == "m2m100":
            return int(tokenizer.get_lang_id(tgt_code))
        return int(tokenizer.convert_tokens_to_ids(tgt_code))

    # --- Translator protocol ---------------------------------------------------------------

    @property
    def max_input_tokens(self) -> int:  # type: ignore[override]
        """Configured limit, else the tokenizer/model limit capped at 512."""
        if self.config.max_input_tokens is not None:
            return self.config.max_input_tokens
        _ = self.tokenizer
        return hf_common.input_limit(self.tokenizer, self._hf_config, cap=DEFAULT_INPUT_CAP)

    def num_tokens(self, text: str) -> int:
        """Tokens the encoder sees for ``text`` (prefix and special tokens included)."""
        # verbose=False: measuring an over-long segment before chunking is expected here
        return len(self.tokenizer(self.setup.prefix + text, verbose=False)["input_ids"])

    def fingerprint_extra(self) -> dict[str, Any]:
        """Checkpoint identity, family, language codes, prefix, forced BOS and dtype."""
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

    def _limit(self, n_input: int) -> int:
        """New-token budget of one input: ``max_new_tokens`` or the length-relative limit."""
        cfg = self.config
        if cfg.max_length_ratio is None:
            return self.max_new_tokens
        relative = math.ceil(cfg.max_length_ratio * n_input) + cfg.max_length_offset
        return max(1, min(self.max_new_tokens, relative))

    def generation_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        """Keyword arguments passed to ``model.generate`` besides the inputs."""
        cfg, setup = self.config, self.setup
        kwargs: dict[str, Any] = {
            "num_beams": cfg.num_beams,
            "do_sample": False,
            "max_new_tokens": max_new_tokens,
            "length_penalty": cfg.length_penalty,
            "no_repeat_ngram_size": cfg.no_repeat_ngram_size,
            # mBART/BART checkpoints force EOS as the last token at the length limit; that
            # token would replace real text only when the limit is hit, and only for the
            # longest segment of a batch, so outputs would depend on batch composition.
            "forced_eos_token_id": None,
        }
        if setup.forced_bos_token_id is not None:
            kwargs["forced_bos_token_id"] = setup.forced_bos_token_id
        return kwargs

    def translate(self, batch: list[str]) -> list[str]:
        """Translate ``batch``; blank inputs give blank outputs without running the model."""
        outputs = [""] * len(batch)
        todo = [i for i, text in enumerate(batch) if text.strip()]
        if not todo:
            return outputs
        import torch

        tokenizer, setup, model = self.tokenizer, self.setup, self.model
        texts = [setup.prefix + batch[i] for i in todo]
        # A configured max_input_tokens above the model's own limit would overflow its
        # position table: never feed more than the model takes.
        limit = min(self.max_input_tokens,
                    hf_common.input_limit(tokenizer, self._hf_config, cap=1 << 20))
        lengths = [len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"]]
        over = sum(n > limit for n in lengths)
        if over:
            self.stats["truncated_inputs"] += over
            LOG.warning("system %r: %d input(s) longer than %d tokens truncated", self.name, over,
                        limit)
        enc = tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=limit
        ).to(self._device)
        limits = [self._limit(min(n, limit)) for n in lengths]
        forced = setup.forced_bos_token_id is not None
        try:
            with torch.inference_mode():
                generated = model.generate(
                    **enc, **self.generation_kwargs(max(limits) + int(forced))
                )
        except RuntimeError as exc:
            if is_out_of_memory(exc):
                raise  # evalmt.translate backs off on OOM
            raise TranslationError(f"system {self.name!r}: generate failed: {exc}") from exc
        # Row layout: decoder start, forced language token (if any), then the translation.
        skip = 1 + int(forced)
        drop = self._language_token_ids()
        rows = [
            [t for t in generated[r, skip : skip + limits[r]].tolist() if t not in drop]
            for r in range(len(todo))
        ]
        texts_out = tokenizer.batch_decode(rows, skip_special_tokens=True)
        for i, text in zip(todo, texts_out, strict=True):
            outputs[i] = text.strip()
        return outputs

    def _language_token_ids(self) -> frozenset[int]:
        """Language-code ids to drop from outputs (M2M100's are not marked special on reload)."""
        if self.setup.family != "m2m100":
            return frozenset()
        return frozenset(int(i) for i in getattr(self.tokenizer, "lang_code_to_id", {}).values())

    @property
    def truncated_inputs(self) -> int:
        """Inputs cut to ``max_input_tokens`` so far (``evalmt.translate`` chunks before that)."""
        return self.stats["truncated_inputs"]

    def describe(self) -> dict[str, Any]:
        """Manifest entry: the shared HF fields plus family, language codes and counts."""
        info = super().describe()
        setup = self.setup
        info.update(
            {
                "family": setup.family,
                "src_code": setup.src_code,
                "tgt_code": setup.tgt_code,
                "prefix": setup.prefix,
                "forced_bos_token_id": setup.forced_bos_token_id,
                "max_new_tokens": self.max_new_tokens,  # after the position-table cap
                "stats": self.stats,
            }
        )
        return info

    def close(self) -> None:
        """Drop the model, tokenizer and language setup."""
        super().close()
        self._setup = None
