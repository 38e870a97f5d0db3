"""Translation prompts for instruction-tuned LLMs, shared by ``hf-causal`` and ``openai``.

Owns the prompt keys of an LLM system's config (``prompt`` template with
``{src_lang}``, ``{tgt_lang}`` and ``{source}``; optional ``system_prompt``;
optional few-shot ``{source, target}`` pairs) and the two shapes a prompt
takes:

* chat **messages** — an optional system turn, each few-shot pair as a user
  and an assistant turn, then the real source as the last user turn (a local
  tokenizer's chat template or a chat-completions server renders them);
* a **plain** text prompt for models without a chat template and for the
  completions API — the same parts joined by blank lines, ending in a newline.

``PROMPT_FORMAT_VERSION`` is bumped whenever the way these shapes are built
changes, so cached outputs of the old shape are not reused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evalmt.systems.base import SystemConfig
from evalmt.systems.hf_common import check_template, language_name

#: Version of the message/plain-prompt layout below; part of every LLM system's fingerprint.
PROMPT_FORMAT_VERSION = 1

DEFAULT_PROMPT = (
    "Translate the following {src_lang} text into {tgt_lang}. "
    "Reply with the translation only.\n\n{source}"
)
PROMPT_FIELDS = frozenset({"src_lang", "tgt_lang", "source"})


class FewShotExample(BaseModel):
    """One demonstration pair shown to the model before the real source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)


class PromptedSystemConfig(SystemConfig):
    """The prompt keys every LLM system takes (``prompt``, ``system_prompt``, ``few_shot``)."""

    prompt: str = DEFAULT_PROMPT
    system_prompt: str | None = None
    few_shot: tuple[FewShotExample, ...] = ()

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, value: str) -> str:
        fields = check_template(value, what="prompt", allowed=PROMPT_FIELDS)
        if "source" not in fields:
            raise ValueError("prompt must contain {source}")
        return value


class Prompt:
    """The prompt of one system for one language direction (names such as "Chinese")."""

    def __init__(self, config: PromptedSystemConfig, *, src_lang: str, tgt_lang: str) -> None:
        self.template = config.prompt
        self.system_prompt = config.system_prompt
        self.few_shot = config.few_shot
        self.src_name = language_name(src_lang)
        self.tgt_name = language_name(tgt_lang)

    def user_text(self, source: str) -> str:
        """Return the ``prompt`` template filled in for ``source``."""
        return self.template.format(src_lang=self.src_name, tgt_lang=self.tgt_name, source=source)

    def messages(self, source: str) -> list[dict[str, str]]:
        """Chat turns: system prompt, few-shot user/assistant pairs, then ``source``."""
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        for example in self.few_shot:
            messages.append({"role": "user", "content": self.user_text(example.source)})
            messages.append({"role": "assistant", "content": example.target})
        messages.append({"role": "user", "content": self.user_text(source)})
        return messages

    def plain(self, source: str) -> str:
        """One text prompt: system prompt, few-shot pairs and ``source``, blank-line separated."""
        parts = [self.system_prompt] if self.system_prompt else []
        parts += [f"{self.user_text(ex.source)}\n{ex.target}" for ex in self.few_shot]
        parts.append(self.user_text(source))
        return "\n\n".join(parts) + "\n"


def merge_system_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Move a leading system turn into the first user turn (for templates that reject one)."""
    if not messages or messages[0]["role"] != "system":
        return messages
    merged = [dict(m) for m in messages[1:]]
    merged[0]["content"] = f"{messages[0]['content']}\n\n{merged[0]['content']}"
    return merged
