"""The ``openai`` system: any OpenAI-compatible HTTP endpoint used as a translator.

vLLM, SGLang, TGI, ``transformers serve``, llama.cpp and the commercial LLM
APIs all speak the chat-completions (``api: chat``) and completions
(``api: completions``) protocols. This module owns

* the request body: the prompt from :mod:`evalmt.systems.prompting` (chat
  messages, or the plain prompt for completions — the same machinery as
  ``hf-causal``), ``model``, ``temperature`` 0 and ``seed`` 0 by default,
  ``max_tokens`` and any ``extra_body`` fields passed through unchanged;
* the answer: text, finish reason, token usage (prompt, completion, cached,
  reasoning), the model name and ``system_fingerprint`` the server returned
  and the latency, all kept in the cache next to the output; ``length``
  finishes, refusals and empty answers are flagged for hygiene;
* usage and cost of a run (``prices`` per million tokens), including what
  the cache hits saved.

Requests are sent by :mod:`evalmt.systems.api_requests` (concurrency,
limits, retries). The API key is read from the environment variable
``api_key_env`` names, when a request is sent, and is never stored: not in
the fingerprint, the manifest, the cache or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveInt

from evalmt.errors import EvalMTError, TranslationError
from evalmt.systems.api_requests import Reply, Request, RetryPolicy, send_all
from evalmt.systems.base import PieceResult, SystemConfig, Translator
from evalmt.systems.llm_cleanup import CleanupCounter, clean_output
from evalmt.systems.prompting import PROMPT_FORMAT_VERSION, Prompt, PromptedSystemConfig

#: Keys that change how requests are sent, not what comes back: outside the fingerprint,
#: so a rerun with another concurrency or limit is served from the cache.
OPERATIONAL_KEYS = frozenset({
    "api_key_env", "concurrency", "requests_per_minute", "tokens_per_minute", "timeout",
    "max_retries", "backoff", "max_backoff", "max_wait", "allow_partial", "prices",
})
#: Latency percentiles reported in the usage summary.
PERCENTILES = (50, 90, 99)
#: Reply texts treated as refusals when the API has no ``refusal`` field (OpenAI sets one).
REFUSAL_FINISH = frozenset({"content_filter"})


class Prices(BaseModel):
    """Price per million tokens, for the cost columns (defaults: cached prompt = prompt price)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: NonNegativeFloat
    completion: NonNegativeFloat
    cached_prompt: NonNegativeFloat | None = None
    currency: str = "USD"


class OpenAIConfig(PromptedSystemConfig):
    """Options of an ``openai`` system (prompt keys from ``evalmt.systems.prompting``)."""

    type: Literal["openai"] = "openai"
    base_url: str = Field(pattern=r"^https?://", description="e.g. http://127.0.0.1:8000/v1")
    model: str = Field(min_length=1)
    api: Literal["chat", "completions"] = "chat"
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    temperature: NonNegativeFloat = 0.0
    seed: int | None = 0
    max_tokens: PositiveInt = 1024
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    extra_body: dict[str, Any] = Field(default_factory=dict)
    cleanup: bool = True
    max_input_tokens: PositiveInt | None = None
    concurrency: PositiveInt = 8
    requests_per_minute: PositiveInt | None = None
    tokens_per_minute: PositiveInt | None = None
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    backoff: float = Field(default=1.0, gt=0)
    max_backoff: float = Field(default=60.0, gt=0)
    max_wait: float = Field(default=300.0, gt=0)
    allow_partial: bool = False
    prices: Prices | None = None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def parse_usage(usage: Any) -> dict[str, int]:
    """Prompt, completion, cached and reasoning tokens from an API ``usage`` object."""
    usage = usage if isinstance(usage, dict) else {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "prompt_tokens": _count(usage.get("prompt_tokens")),
        "completion_tokens": _count(usage.get("completion_tokens")),
        "cached_tokens": _count(prompt_details.get("cached_tokens")
                                if isinstance(prompt_details, dict) else 0),
        "reasoning_tokens": _count(completion_details.get("reasoning_tokens")
                                   if isinstance(completion_details, dict) else 0),
    }


def cost(usage: Mapping[str, int], prices: Prices | None) -> float | None:
    """Cost of ``usage`` under ``prices`` (cached prompt tokens at their own price)."""
    if prices is None:
        return None
    cached = usage.get("cached_tokens", 0)
    cached_price = prices.prompt if prices.cached_prompt is None else prices.cached_prompt
    return ((usage.get("prompt_tokens", 0) - cached) * prices.prompt + cached * cached_price
            + usage.get("completion_tokens", 0) * prices.completion) / 1_000_000


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default method) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class OpenAISystem(Translator):
    """Translator behind an OpenAI-compatible chat-completions or completions endpoint."""

    config_model: ClassVar[type[SystemConfig]] = OpenAIConfig
    config: OpenAIConfig
    schedules_own_batches: ClassVar[bool] = True
    fingerprint_exclude: ClassVar[frozenset[str]] = OPERATIONAL_KEYS

    def __init__(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path | None = None) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.prompt = Prompt(self.config, src_lang=src_lang, tgt_lang=tgt_lang)
        self.cleanup_counts = CleanupCounter()
        self.usage: dict[str, Any] = {}  # live: the latest summary, for describe()
        #: Injectable for tests: the clock and sleep used for waits, and the jitter source.
        self.clock: Callable[[], float] | None = None
        self.sleep: Callable[[float], Any] | None = None
        self.rng = random.Random(0)  # noqa: S311  (jitter, not cryptography)

    @property
    def max_input_tokens(self) -> int | None:  # type: ignore[override]
        """The configured limit (``num_tokens`` units); ``None`` sends every source whole."""
        return self.config.max_input_tokens

    @property
    def url(self) -> str:
        """The endpoint requests are posted to."""
        path = "chat/completions" if self.config.api == "chat" else "completions"
        return f"{self.config.base_url.rstrip('/')}/{path}"

    def request_body(self, source: str) -> dict[str, Any]:
        """Return the JSON body sent for ``source``: prompt, model, options, extra fields."""
        cfg = self.config
        body: dict[str, Any] = {"model": cfg.model}
        if cfg.api == "chat":
            body["messages"] = self.prompt.messages(source)
        else:
            body["prompt"] = self.prompt.plain(source)
        body["temperature"] = cfg.temperature
        if cfg.seed is not None:
            body["seed"] = cfg.seed
        body[cfg.max_tokens_field] = cfg.max_tokens
        body.update(cfg.extra_body)
        return body

    def fingerprint_extra(self) -> dict[str, Any]:
        """Return the endpoint and the whole request body (with a ``{source}`` placeholder)."""
        return {"url": self.url, "request": self.request_body("{source}"),
                "prompt_format": PROMPT_FORMAT_VERSION}

    # --- answers ----------------------------------------------------------------------------

    def read_answer(self, body: dict[str, Any], source: str) -> tuple[str, dict[str, Any]]:
        """Return the cleaned output and the details kept in the cache for one answer."""
        choices = body.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else {}
        choice = choice if isinstance(choice, dict) else {}
        if self.config.api == "chat":
            message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            raw, refusal = message.get("content"), message.get("refusal")
        else:
            raw, refusal = choice.get("text"), None
        text = raw if isinstance(raw, str) else ""
        finish = choice.get("finish_reason")
        flags = []
        if finish == "length":
            flags.append("truncated")
        if refusal or finish in REFUSAL_FINISH:
            flags.append("refused")
        output = self._finish(text, source)
        if not output.strip():
            flags.append("empty")
        details = {
            "finish_reason": finish, "usage": parse_usage(body.get("usage")),
            "model": body.get("model"), "system_fingerprint": body.get("system_fingerprint"),
            "refusal": refusal if isinstance(refusal, str) else None, "flags": flags,
            "raw": text,  # before cleanup: other cleanup rules can be applied later
        }
        return output, details

    def _finish(self, text: str, source: str) -> str:
        if not self.config.cleanup:
            return text.strip()
        cleaned = clean_output(text, source=source, tgt_name=self.prompt.tgt_name)
        self.cleanup_counts.add(cleaned)
        return cleaned.text

    # --- Translator protocol ----------------------------------------------------------------

    def translate(self, batch: list[str]) -> list[str]:
        """Translate ``batch`` (convenience path); a failed piece raises ``TranslationError``.

        Blank inputs give blank outputs without a request, as in ``hf-causal``.
        """
        results: dict[str, PieceResult] = {}
        todo = list(dict.fromkeys(text for text in batch if text.strip()))
        self.translate_pieces(todo, cached={}, on_result=lambda r: results.update({r.source: r}))
        failed = [r for r in results.values() if r.output is None]
        if failed:
            raise TranslationError(f"system {self.name!r}: {len(failed)} request(s) failed; "
                                   f"first: {failed[0].error}")
        return [results[s].output or "" if s in results else "" for s in batch]

    def translate_pieces(self, pieces: Sequence[str], *,
                         cached: Mapping[str, Mapping[str, Any]],
                         on_result: Callable[[PieceResult], None]) -> Mapping[str, Any]:
        """Send one request per piece (concurrently); report each; return the usage summary."""
        headers = self._headers()  # a missing key fails here, before any request
        latencies: list[float] = []
        totals = {"requests": 0, "attempts": 0, "failed": 0, "prompt_tokens": 0,
                  "completion_tokens": 0, "cached_tokens": 0, "reasoning_tokens": 0}
        requests = [Request(self.url, self.request_body(p), self._estimate(p)) for p in pieces]

        def on_reply(reply: Reply) -> None:
            source = pieces[reply.index]
            totals["requests"] += 1
            totals["attempts"] += reply.attempts
            if reply.body is None:
                totals["failed"] += 1
                on_result(PieceResult(source, None, self._redact(reply.error or "failed")))
                return
            output, details = self.read_answer(reply.body, source)
            details.update(latency=round(reply.latency, 4), attempts=reply.attempts)
            for key, value in details["usage"].items():
                totals[key] += value
            latencies.append(reply.latency)
            on_result(PieceResult(source, output, None, details))

        if requests:
            try:
                asyncio.run(self._send(requests, headers, on_reply))
            except (EvalMTError, KeyboardInterrupt):
                raise
            except Exception as exc:  # a client-side bug or setup error: one line, no key
                raise TranslationError(f"system {self.name!r}: requests to {self.url} failed: "
                                       f"{self._redact(f'{type(exc).__name__}: {exc}')}"
                                       ) from None
        self.usage = self.summarize(totals, latencies, cached)
        return self.usage

    async def _send(self, requests: list[Request], headers: dict[str, str],
                    on_reply: Callable[[Reply], None]) -> None:
        import httpx

        cfg = self.config
        # One client (one keep-alive connection) per worker; one TLS context for all.
        # trust_env: HTTPS_PROXY / NO_PROXY / SSL_CERT_FILE apply, as for any HTTP client.
        options = {"timeout": cfg.timeout, "verify": httpx.create_ssl_context(),
                   "limits": httpx.Limits(max_connections=1, max_keepalive_connections=1)}
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(**options))
                       for _ in range(min(cfg.concurrency, len(requests)))]
            await send_all(
                clients, requests, headers=headers, timeout=cfg.timeout,
                retry=RetryPolicy(max_retries=cfg.max_retries, backoff=cfg.backoff,
                                  max_backoff=cfg.max_backoff, max_wait=cfg.max_wait),
                requests_per_minute=cfg.requests_per_minute,
                tokens_per_minute=cfg.tokens_per_minute, on_reply=on_reply,
                usage_tokens=self._used_tokens,
                rng=self.rng, **({"clock": self.clock} if self.clock else {}),
                **({"sleep": self.sleep} if self.sleep else {}))

    @staticmethod
    def _used_tokens(body: dict[str, Any]) -> int | None:
        """Tokens an answer really used (prompt + completion), ``None`` when not reported."""
        usage = parse_usage(body.get("usage"))
        return (usage["prompt_tokens"] + usage["completion_tokens"]) or None

    def _estimate(self, piece: str) -> int:
        """Tokens a request may use, for ``tokens_per_minute``: prompt bytes / 3 + max_tokens."""
        prompt = json.dumps(self.request_body(piece), ensure_ascii=False)
        return math.ceil(len(prompt.encode("utf-8")) / 3) + self.config.max_tokens

    def _headers(self) -> dict[str, str]:
        env = self.config.api_key_env
        if env is None:
            return {}
        key = os.environ.get(env)  # the one place a secret is read: from the environment
        if not key:
            raise TranslationError(f"system {self.name!r}: environment variable {env} "
                                   "(api_key_env) is not set")
        return {"Authorization": f"Bearer {key}"}

    def _redact(self, text: str) -> str:
        """Remove the API key from a message (some servers echo it back)."""
        key = os.environ.get(self.config.api_key_env or "") if self.config.api_key_env else None
        if not key:
            return text
        # Also the escaped forms a repr() of the header shows (b'Bearer sk-…').
        for form in sorted({key, repr(key)[1:-1], repr(key.encode())[2:-1]}, key=len,
                           reverse=True):
            text = text.replace(form, "***")
        return text

    def summarize(self, totals: Mapping[str, int], latencies: Sequence[float],
                  cached: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Usage summary: requests, tokens, latency percentiles, cost and what the cache saved."""
        prices = self.config.prices
        saved = {"requests": len(cached), "prompt_tokens": 0, "completion_tokens": 0,
                 "cached_tokens": 0, "reasoning_tokens": 0}
        for details in cached.values():  # details keep the usage already parsed
            usage = details.get("usage") if isinstance(details.get("usage"), dict) else {}
            for key in ("prompt_tokens", "completion_tokens", "cached_tokens",
                        "reasoning_tokens"):
                saved[key] += _count(usage.get(key))
        return {
            **totals,
            "retries": totals["attempts"] - totals["requests"],
            "latency_seconds": {f"p{q}": None if (v := percentile(latencies, q)) is None
                                else round(v, 4) for q in PERCENTILES},
            "cost": None if prices is None else round(cost(totals, prices) or 0.0, 6),
            "currency": prices.currency if prices else None,
            "saved_by_cache": {**saved, "cost": None if prices is None
                               else round(cost(saved, prices) or 0.0, 6)},
        }

    def describe(self) -> dict[str, Any]:
        """Manifest entry: class, config, fingerprint, endpoint, cleanup counts and usage."""
        info = super().describe()
        info.update(url=self.url, request=self.request_body("{source}"),
                    cleanup=self.cleanup_counts.counts, usage=self.usage)
        return info
