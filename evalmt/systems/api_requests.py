"""Sending many JSON requests to an HTTP API: concurrency cap, rate limits, timeouts, retries.

``send_all(clients, requests, ...)`` posts every request with one worker per
client (so at most ``len(clients)`` in flight), under optional requests-per-minute and
tokens-per-minute limits (a sliding 60-second window), each attempt cut off
after ``timeout`` seconds. It calls ``on_reply`` once per request, as soon as
that request has finished or finally failed, so the caller can store each
answer at once.

Retry rules (``classify``):

* retried: HTTP 408, 409, 429 and 5xx, timeouts, connection errors, and a
  2xx answer whose body is not a JSON object (a truncated or garbled body);
* never retried: other 4xx, and a 429 that says the account is out of quota
  (``insufficient_quota``): waiting does not bring quota back;
* a request httpx refuses to send (e.g. a header with a newline) is not
  retried either;
* 401, 403, 404, out-of-quota and such an invalid request also stop the whole batch: every later
  request would fail the same way, so none is sent and each is failed with
  that reason.

The wait before retry *k* (0-based) honours ``Retry-After`` /
``retry-after-ms`` when the server sends one (up to ``max_wait`` seconds;
asking for more fails the request); otherwise it is exponential backoff with
"equal jitter": ``d = min(max_backoff, backoff * 2**k)``, wait uniform in
``[d/2, d]`` (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015).
Clock, sleep and random source are injectable, so tests check waits without
sleeping.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Statuses worth retrying (RFC 9110: 408 Request Timeout, 409 Conflict, 429 Too Many
#: Requests; 5xx server errors). Other 4xx are the request's own fault.
RETRY_STATUSES = frozenset({408, 409, 429})
#: Statuses after which no further request is sent (bad key, no access, unknown model).
STOP_STATUSES = frozenset({401, 403, 404})
WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failed request."""

    max_retries: int = 6
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_wait: float = 300.0


@dataclass(frozen=True)
class Request:
    """One POST: URL, JSON body and a token estimate for the tokens-per-minute limit."""

    url: str
    body: Mapping[str, Any]
    tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """The outcome of one request: the JSON body, or the reason it failed, and its history."""

    index: int
    body: dict[str, Any] | None
    error: str | None
    attempts: int
    latency: float
    waits: tuple[float, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What to do after one attempt: accept, retry (after ``retry_after``), or give up."""

    body: dict[str, Any] | None = None
    error: str | None = None
    retry: bool = False
    stop_all: bool = False
    retry_after: float | None = None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a server asks to wait: ``retry-after-ms``, or ``Retry-After`` (seconds or date)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_text(status: int, content: bytes) -> tuple[str, str]:
    """Return the server's error message and code from a JSON (or plain) error body."""
    try:
        payload = json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace").strip()[:200], ""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        code = " ".join(dict.fromkeys(str(error[k]) for k in ("code", "type") if error.get(k)))
        return str(error.get("message") or error.get("detail") or code)[:200], code
    return str(error)[:200], ""


def classify(status: int, headers: Mapping[str, str], content: bytes) -> Verdict:
    """Decide what one HTTP answer means (see the module docstring for the rules)."""
    if 200 <= status < 300:
        try:
            body = json.loads(content)
        except ValueError:
            return Verdict(error=f"HTTP {status} with a body that is not JSON "
                                 f"({len(content)} bytes)", retry=True)
        if not isinstance(body, dict):
            return Verdict(error=f"HTTP {status} with JSON that is not an object", retry=True)
        return Verdict(body=body)
    message, code = _error_text(status, content)
    reason = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status == 429 and "insufficient_quota" in code:  # OpenAI's "out of credit" answer
        return Verdict(error=f"out of quota ({reason})", stop_all=True)
    if status in RETRY_STATUSES or status >= 500:
        return Verdict(error=reason, retry=True, retry_after=retry_after_seconds(headers))
    return Verdict(error=reason, stop_all=status in STOP_STATUSES)


class RateLimiter:
    """Requests- and tokens-per-minute limits over a sliding 60-second window."""

    def __init__(self, *, requests_per_minute: int | None, tokens_per_minute: int | None,
                 clock: Callable[[], float], sleep: Callable[[float], Awaitable[Any]]) -> None:
        self.rpm, self.tpm = requests_per_minute, tokens_per_minute
        self._clock, self._sleep = clock, sleep
        self._events: deque[list[float]] = deque()  # [time, tokens]
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> list[float]:
        """Wait until one more request of ``tokens`` fits; return its window entry."""
        if self.rpm is None and self.tpm is None:
            return [0.0, float(tokens)]
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                while self._events and self._events[0][0] <= now - WINDOW_SECONDS:
                    self._events.popleft()
                used = sum(e[1] for e in self._events)
                fits_rpm = self.rpm is None or len(self._events) < self.rpm
                # A request larger than the whole budget goes alone into an empty window.
                fits_tpm = self.tpm is None or used + tokens <= self.tpm or not self._events
                if fits_rpm and fits_tpm:
                    entry = [now, float(tokens)]
                    self._events.append(entry)
                    return entry
                # At least 1 ms: a float-rounded wait could leave the oldest entry a
                # hair inside the window and spin on zero-length sleeps.
                await self._sleep(max(self._events[0][0] + WINDOW_SECONDS - now, 1e-3))


async def _attempt(client: Any, request: Request, headers: Mapping[str, str],
                   timeout: float) -> Verdict:
    import httpx

    try:
        response = await asyncio.wait_for(
            client.post(request.url, json=dict(request.body), headers=dict(headers)),
            timeout)
    except (asyncio.TimeoutError, httpx.TimeoutException):
        return Verdict(error=f"timed out after {timeout:g} s", retry=True)
    except httpx.LocalProtocolError as exc:  # our request is malformed: every one would be
        return Verdict(error=f"invalid request: {exc}", stop_all=True)
    except httpx.TransportError as exc:  # refused, reset, body cut short
        return Verdict(error=f"connection error: {type(exc).__name__}: {exc}", retry=True)
    return classify(response.status_code, response.headers, response.content)


async def send_all(clients: Sequence[Any], requests: Sequence[Request], *,
                   headers: Mapping[str, str], timeout: float, retry: RetryPolicy,
                   requests_per_minute: int | None = None, tokens_per_minute: int | None = None,
                   on_reply: Callable[[Reply], None],
                   usage_tokens: Callable[[dict[str, Any]], int | None] = lambda body: None,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                   rng: random.Random | None = None) -> None:
    """Post every request; report each via ``on_reply``.

    ``clients`` are ``httpx.AsyncClient``s, one per worker: a client of its own
    per worker keeps httpx's connection-pool bookkeeping out of the way of
    concurrent requests (encode/httpx#3215: one shared pool costs CPU that
    grows with the number of requests in flight).

    ``usage_tokens(body)`` returns the tokens a successful answer really used,
    replacing the estimate in the tokens-per-minute window.
    """
    rng = rng or random.Random()  # noqa: S311  (jitter, not cryptography)
    limiter = RateLimiter(requests_per_minute=requests_per_minute,
                          tokens_per_minute=tokens_per_minute, clock=clock, sleep=sleep)
    queue = iter(range(len(requests)))
    stopped: list[str] = []

    async def one(client: Any, index: int) -> Reply:
        request = requests[index]
        waits: list[float] = []
        attempts = 0
        while True:
            if stopped:
                return Reply(index, None, f"not sent: {stopped[0]}", attempts, 0.0, tuple(waits))
            entry = await limiter.acquire(request.tokens)
            attempts += 1
            started = time.perf_counter()
            verdict = await _attempt(client, request, headers, timeout)
            latency = time.perf_counter() - started
            if verdict.body is not None:
                used = usage_tokens(verdict.body)
                if used is not None:
                    entry[1] = float(used)
                return Reply(index, verdict.body, None, attempts, latency, tuple(waits))
            if verdict.stop_all and not stopped:
                stopped.append(verdict.error or "stopped")
            if not verdict.retry or attempts > retry.max_retries:
                note = f" after {attempts} attempts" if attempts > 1 else ""
                return Reply(index, None, f"{verdict.error}{note}", attempts, latency,
                             tuple(waits))
            if verdict.retry_after is not None:
                if verdict.retry_after > retry.max_wait:
                    return Reply(index, None, f"{verdict.error}; Retry-After "
                                 f"{verdict.retry_after:g} s exceeds max_wait "
                                 f"{retry.max_wait:g} s", attempts, latency, tuple(waits))
                wait = verdict.retry_after
            else:
                span = min(retry.max_backoff, retry.backoff * 2 ** (attempts - 1))
                wait = span / 2 + rng.uniform(0, span / 2)
            waits.append(wait)
            await sleep(wait)

    async def worker(client: Any) -> None:
        for index in queue:  # a shared iterator: each index is taken by one worker
            on_reply(await one(client, index))

    await asyncio.gather(*(worker(c) for c in clients[:max(1, len(requests))]))
