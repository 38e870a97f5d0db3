"""The ``hf-causal`` system: instruction-tuned decoder-only LLMs used as translators.

Owns prompt construction and generation for one language direction:

* the prompt (:mod:`evalmt.systems.prompting`, shared with ``openai``): the
  ``prompt`` template (``{src_lang}``, ``{tgt_lang}``, ``{source}``; names
  such as "Chinese" and "English" come from the data set's language tags), an
  optional ``system_prompt`` and optional few-shot ``{source, target}`` pairs;
* the tokenizer's chat template when it has one (few-shot pairs become user
  and assistant turns, ``add_generation_prompt=True``), else a plain prompt;
* greedy decoding by default, left padding (pad = EOS when the tokenizer has
  no pad token), and stopping at EOS and end-of-turn tokens such as
  ``<|im_end|>`` or ``<|eot_id|>`` — never at a newline, so multi-line and
  multi-sentence paragraphs survive;
* output cleanup (:mod:`evalmt.systems.llm_cleanup`), counted per rule.

The rendered prompt and the chat template are part of the fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt, field_validator

from evalmt.errors import TranslationError
from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig
from evalmt.systems.hf_base import Encoded, HFModelConfig, HFModelSystem
from evalmt.systems.llm_cleanup import CleanupCounter, clean_output
from evalmt.systems.prompting import (
    FewShotExample,
    Prompt,
    PromptedSystemConfig,
    merge_system_turn,
)

LOG = logging.getLogger("evalmt.systems.hf_causal")

__all__ = ["FewShotExample", "HFCausalConfig", "HFCausalSystem"]

#: End-of-turn tokens of common chat templates (ChatML, Llama 3, Gemma, Phi-3).
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")

#: Default cap on one input, in source tokens; long segments are chunked by evalmt.translate.
DEFAULT_INPUT_CAP = 1024


class HFCausalConfig(PromptedSystemConfig, HFModelConfig):
    """Options of an ``hf-causal`` system: the shared model options and the prompt keys.

    Greedy, longer outputs and smaller batches by default; the prompt keys come
    from ``evalmt.systems.prompting``.
    """

    type: Literal["hf-causal"] = "hf-causal"
    chat_template: bool | None = Field(
        default=None, description="use the tokenizer's chat template (default: when it has one)"
    )
    num_beams: PositiveInt = 1
    max_new_tokens: PositiveInt = 512
    repetition_penalty: float | None = Field(default=None, gt=0)
    stop_strings: tuple[str, ...] = ()
    cleanup: bool = True
    batch_tokens: PositiveInt = 2048

    @field_validator("stop_strings")
    @classmethod
    def _check_stops(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not s.strip() for s in value):
            raise ValueError("stop_strings must not be blank (a newline stop would cut paragraphs)")
        return value


class HFCausalSystem(HFModelSystem):
    """Decoder-only LLM translator with chat template, few-shot prompt and output cleanup."""

    config_model: ClassVar[type[SystemConfig]] = HFCausalConfig
    config: HFCausalConfig
    auto_model_class = "AutoModelForCausalLM"

    def __init__(
        self, config: SystemConfig, *, src_lang: str, tgt_lang: str, base_dir: Path | None = None
    ) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.prompt = Prompt(self.config, src_lang=src_lang, tgt_lang=tgt_lang)
        self.src_name, self.tgt_name = self.prompt.src_name, self.prompt.tgt_name
        self.cleanup_counts = CleanupCounter()
        self._use_chat = False
        self._stop_ids: tuple[int, ...] = ()

    # --- lazy loading ------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The tokenizer, set up for left-padded batched generation."""
        if self._tokenizer is None:
            trust = self.config.trust_remote_code
            self._hf_config = hf_common.load_config(self.source, trust_remote_code=trust)
            tokenizer = hf_common.load_tokenizer(self.source, trust_remote_code=trust)
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                if tokenizer.eos_token is None:
                    raise TranslationError(
                        f"system {self.name!r}: tokenizer of {self.config.model!r} has neither a "
                        "pad nor an EOS token"
                    )
                tokenizer.pad_token = tokenizer.eos_token
            has_template = bool(getattr(tokenizer, "chat_template", None))
            if self.config.chat_template and not has_template:
                raise TranslationError(
                    f"system {self.name!r}: chat_template: true but {self.config.model!r} has none"
                )
            self._use_chat = has_template if self.config.chat_template is None else (
                self.config.chat_template
            )
            self._stop_ids = self._end_of_turn_ids(tokenizer)
            self._tokenizer = tokenizer
        return self._tokenizer

    @property
    def uses_chat_template(self) -> bool:
        """Whether prompts go through the tokenizer's chat template."""
        _ = self.tokenizer
        return self._use_chat

    @property
    def stop_token_ids(self) -> tuple[int, ...]:
        """Ids that end generation: EOS ids and the template's end-of-turn tokens."""
        _ = self.tokenizer
        return self._stop_ids

    def _end_of_turn_ids(self, tokenizer: Any) -> tuple[int, ...]:
        ids: set[int] = set()
        if tokenizer.eos_token_id is not None:
            ids.add(int(tokenizer.eos_token_id))
        for value in (getattr(self._hf_config, "eos_token_id", None), self._generation_eos()):
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, int):
                    ids.add(item)
        vocab = tokenizer.get_vocab()
        ids.update(vocab[token] for token in END_OF_TURN_TOKENS if token in vocab)
        return tuple(sorted(ids))

    def _generation_eos(self) -> Any:
        """``eos_token_id`` of the checkpoint's generation_config.json (Llama 3 lists several)."""
        from transformers import GenerationConfig

        try:
            return GenerationConfig.from_pretrained(
                self.source.model, revision=self.source.load_revision
            ).eos_token_id
        except OSError:
            return None  # no generation_config.json: the model config's EOS is used

    # --- prompts -------------------------------------------------------------------------------

    def render_prompt(self, source: str) -> str:
        """Return the full prompt text given to the tokenizer for ``source``."""
        if not self.uses_chat_template:
            return self.prompt.plain(source)
        messages = self.prompt.messages(source)
        try:
            return self._apply_template(messages)
        except TranslationError:
            if not self.config.system_prompt:
                raise
        # Some templates (Gemma, Mistral) reject a system turn: put it in the first user turn.
        notice = (f"system {self.name!r}: the chat template of {self.config.model!r} rejects a "
                  "system turn; system_prompt is prepended to the first user turn")
        if notice not in self.warnings:
            LOG.warning(notice)
            self.warnings.append(notice)
        return self._apply_template(merge_system_turn(messages))

    def _apply_template(self, messages: list[dict[str, str]]) -> str:
        try:
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:  # noqa: BLE001  (jinja raises its own error types)
            raise TranslationError(
                f"system {self.name!r}: chat template of {self.config.model!r} failed: {exc}"
            ) from exc

    def _encode(self, prompts: list[str]) -> Any:
        # A chat template already holds BOS and role markers; a plain prompt needs the specials.
        return self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=not self._use_chat
        )

    # --- Translator protocol ---------------------------------------------------------------

    def num_tokens(self, text: str) -> int:
        """Tokens of the source text alone (the prompt around it is a fixed overhead)."""
        ids = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return max(1, len(ids))

    @property
    def max_input_tokens(self) -> int:  # type: ignore[override]
        """Configured limit, else a third of the context left after the prompt (cap 1024)."""
        if self.config.max_input_tokens is not None:
            return self.config.max_input_tokens
        context = hf_common.input_limit(self.tokenizer, self._hf_config, cap=1 << 20)
        overhead = len(self._encode([self.render_prompt("")])["input_ids"][0])
        # Room for the source and a translation up to twice as long.
        return max(1, min(DEFAULT_INPUT_CAP, (context - overhead) // 3))

    def fingerprint_extra(self) -> dict[str, Any]:
        """Checkpoint identity, rendered prompt (template + few-shot), stop ids and dtype."""
        template = getattr(self.tokenizer, "chat_template", None) or ""
        return {
            "source": self.source.identity(),
            "rendered_prompt": self.render_prompt("{source}"),
            "chat_template_sha256": hashlib.sha256(str(template).encode()).hexdigest()
            if self.uses_chat_template else None,
            "stop_token_ids": list(self.stop_token_ids),
            "dtype": self.dtype,
        }

    def generation_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        """Keyword arguments passed to ``model.generate`` besides the inputs."""
        cfg = self.config
        kwargs: dict[str, Any] = {
            "do_sample": False,
            "num_beams": cfg.num_beams,
            "max_new_tokens": max_new_tokens,
            "eos_token_id": list(self.stop_token_ids),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if cfg.repetition_penalty is not None:
            kwargs["repetition_penalty"] = cfg.repetition_penalty
        if cfg.stop_strings:
            kwargs["stop_strings"] = list(cfg.stop_strings)
            kwargs["tokenizer"] = self.tokenizer
        return kwargs

    def encode(self, texts: list[str]) -> Encoded:
        """Render each prompt and tokenize them left-padded; lengths are the sources' own."""
        _ = self.model  # loads the model and fixes the device
        enc = self._encode([self.render_prompt(text) for text in texts]).to(self._device)
        return Encoded(enc, [self.num_tokens(text) for text in texts])

    def generate(self, encoded: Encoded, max_new_tokens: int) -> Any:
        """Run ``model.generate`` greedily, stopping at EOS and end-of-turn tokens."""
        import torch

        with torch.inference_mode():
            return self.model.generate(**encoded.inputs,
                                       **self.generation_kwargs(max_new_tokens))

    def decode(self, generated: Any, encoded: Encoded, limits: list[int],
               sources: list[str]) -> list[str]:
        """Keep each row's new tokens up to its stop token and limit; clean the text up."""
        start = encoded.inputs["input_ids"].shape[1]  # left padding: every prompt ends here
        stops = set(self.stop_token_ids)
        outputs = []
        for row, source in enumerate(sources):
            new = generated[row, start:start + limits[row]].tolist()
            cut = next((k for k, t in enumerate(new) if t in stops), len(new))
            text = self.tokenizer.decode(new[:cut], skip_special_tokens=True)
            outputs.append(self._finish(text, source))
        return outputs

    def _finish(self, text: str, source: str) -> str:
        for stop in self.config.stop_strings:
            text = text.split(stop, 1)[0]
        if not self.config.cleanup:
            return text.strip()
        cleaned = clean_output(text, source=source, tgt_name=self.tgt_name)
        self.cleanup_counts.add(cleaned)
        return cleaned.text

    def describe(self) -> dict[str, Any]:
        """Manifest entry: the shared HF fields plus prompt, stop tokens and cleanup counts."""
        info = super().describe()
        info.update(
            {
                "chat_template": self.uses_chat_template,
                "rendered_prompt": self.render_prompt("{source}"),
                "stop_tokens": self.tokenizer.convert_ids_to_tokens(list(self.stop_token_ids)),
                "cleanup": self.cleanup_counts.counts,  # live: final counts in the manifest
            }
        )
        return info
