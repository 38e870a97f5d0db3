"""The ``openai`` system against a fault-injecting server on 127.0.0.1 (``fake_api``).

Waits are checked with an injected clock and sleep (no real sleeping);
attempt counts come from the server's own request log.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit.fake_api import USAGE, FakeAPI

from evalmt.cache import TranslationCache
from evalmt.config import validate_config
from evalmt.errors import TranslationError
from evalmt.systems.api_requests import RateLimiter, retry_after_seconds
from evalmt.systems.openai_api import OpenAIConfig, OpenAISystem
from evalmt.translate import translate_segments


@pytest.fixture(scope="session")
def fake_api():
    api = FakeAPI()
    yield api
    api.close()


@pytest.fixture
def api(fake_api):
    fake_api.reset()
    return fake_api


class FakeTime:
    """A clock that only moves when something sleeps; records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(server: FakeAPI, **options) -> tuple[OpenAISystem, FakeTime]:
    config = OpenAIConfig(**{"name": "api", "base_url": server.base_url, "model": "m",
                             "prompt": "{source}", "cleanup": False, **options})
    system = OpenAISystem(config, src_lang="zh", tgt_lang="en")
    fake = FakeTime()
    system.clock, system.sleep = fake.clock, fake.sleep
    return system, fake


# (script of answers for one source, options, attempts, failed reason fragment or None, waits)
RETRY_CASES = [
    (["429:ra=2", "ok"], {}, 2, None, [2.0]),
    (["429:ms=1500", "ok"], {}, 2, None, [1.5]),
    (["408", "409", "ok"], {"backoff": 4.0}, 3, None, [(2.0, 4.0), (4.0, 8.0)]),
    (["500", "503", "ok"], {}, 3, None, [(0.5, 1.0), (1.0, 2.0)]),
    (["slow:0.6", "ok"], {"timeout": 0.2}, 2, None, [(0.5, 1.0)]),
    (["malformed", "ok"], {}, 2, None, [(0.5, 1.0)]),
    (["truncated", "ok"], {}, 2, None, [(0.5, 1.0)]),
    (["500"], {"max_retries": 2}, 3, "HTTP 500: status 500 after 3 attempts",
     [(0.5, 1.0), (1.0, 2.0)]),
    (["quota"], {}, 1, "out of quota (HTTP 429 insufficient_quota", []),
    (["400"], {}, 1, "HTTP 400: status 400", []),
    (["401"], {}, 1, "HTTP 401", []),
    (["429:ra=1000"], {"max_wait": 300}, 1, "Retry-After 1000 s exceeds max_wait 300 s", []),
    (["429"], {"max_retries": 1, "backoff": 8.0, "max_backoff": 10.0}, 2,
     "HTTP 429 rate_limit_exceeded requests: Rate limit reached after 2 attempts", [(4.0, 8.0)]),
]


@pytest.mark.parametrize(("script", "options", "attempts", "failure", "waits"), RETRY_CASES)
def test_retries_and_waits(api, tmp_path, script, options, attempts, failure, waits):
    api.reset({"好": script})
    system, fake = make(api, **options)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        outcome = translate_segments(system, ["好"], cache=cache, progress=False)
        cached = cache.count()
    assert api.attempts("好") == attempts
    assert len(fake.waits) == len(waits)
    for got, want in zip(fake.waits, waits, strict=True):
        if isinstance(want, tuple):  # jittered backoff: uniform in [d/2, d]
            assert want[0] <= got <= want[1]
        else:  # Retry-After honoured exactly
            assert got == want
    if failure is None:
        assert outcome.hypotheses == ("EN[好]",) and not outcome.failed and cached == 1
    else:
        assert outcome.hypotheses == ("",) and failure in outcome.failed[0] and cached == 0
        assert outcome.usage["failed"] == 1


def test_retry_after_forms():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = "Wed, 21 Oct 2015 07:28:10 GMT"  # RFC 9110 HTTP-date, 10 s after "now"
    assert retry_after_seconds({"retry-after": date}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_failed_segment_does_not_stop_others_and_rerun_retries_only_it(api, tmp_path):
    sources = ["一", "二", "三"]
    api.reset({"二": ["400"]})
    system, _ = make(api, concurrency=2)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        first = translate_segments(system, sources, cache=cache, progress=False)
        assert first.hypotheses == ("EN[一]", "", "EN[三]")
        assert list(first.failed) == [1] and "HTTP 400" in first.failed[1]
        api.reset()  # the server is fixed
        second = translate_segments(system, sources, cache=cache, progress=False)
    assert second.hypotheses == ("EN[一]", "EN[二]", "EN[三]") and not second.failed
    assert [r["source"] for r in api.requests] == ["二"]
    assert (second.cached_pieces, second.translated_pieces) == (2, 1)


def test_out_of_quota_stops_sending(api, tmp_path):
    api.reset({"一": ["quota"]})
    system, _ = make(api, concurrency=1)
    outcome = translate_segments(system, ["一", "二", "三"], cache=None, progress=False)
    assert len(api.requests) == 1
    assert set(outcome.failed) == {0, 1, 2}
    assert outcome.failed[1].startswith("not sent: out of quota")


def test_requests_per_minute_limit_waits_for_the_window(api):
    system, fake = make(api, concurrency=4, requests_per_minute=2)
    outcome = translate_segments(system, ["一", "二", "三", "四"], cache=None, progress=False)
    assert not outcome.failed and len(api.requests) == 4
    # two requests at t=0 fill the window; the next two wait until t=60 (one wait).
    assert fake.waits == [60.0]


def test_tokens_per_minute_limit_counts_real_usage(api):
    # Each request is estimated at max_tokens=100 plus ~35 prompt tokens; a budget of 200
    # lets one estimate in at a time, but each answer's real usage (15 tokens) replaces its
    # estimate, so one after the other all three fit in the first minute.
    system, fake = make(api, concurrency=1, tokens_per_minute=200, max_tokens=100)
    outcome = translate_segments(system, ["一", "二", "三"], cache=None, progress=False)
    assert not outcome.failed and fake.waits == []
    system, fake = make(api, concurrency=3, tokens_per_minute=200, max_tokens=100)
    outcome = translate_segments(system, ["四", "五", "六"], cache=None, progress=False)
    assert not outcome.failed and 60.0 in [round(w, 6) for w in fake.waits]


def test_request_body_and_answer_details(api, tmp_path):
    api.reset({"好": ["length"], "坏": ["refusal"], "空": ["empty"]})
    system, _ = make(api, seed=7, max_tokens=64, system_prompt="Be literal.",
                     extra_body={"chat_template_kwargs": {"enable_thinking": False}, "top_p": 1},
                     few_shot=[{"source": "你好", "target": "Hello"}])
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        outcome = translate_segments(system, ["好", "坏", "空", "行"], cache=cache,
                                     progress=False)
        details = cache.get_details(system.fingerprint(), ["好", "行"])
    sent = next(r for r in api.requests if r["source"] == "行")
    assert sent["path"] == "/v1/chat/completions" and sent["authorization"] is None
    assert sent["body"] == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be literal."},
                     {"role": "user", "content": "你好"},
                     {"role": "assistant", "content": "Hello"},
                     {"role": "user", "content": "行"}],
        "temperature": 0.0, "seed": 7, "max_tokens": 64,
        "chat_template_kwargs": {"enable_thinking": False}, "top_p": 1}
    assert outcome.flags == {0: ("truncated",), 1: ("refused", "empty"), 2: ("empty",)}
    assert details["好"]["finish_reason"] == "length"
    good = details["行"]
    assert (good["model"], good["system_fingerprint"]) == ("m-2026", "fp_test")
    assert good["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "cached_tokens": 4,
                             "reasoning_tokens": 2}
    assert good["latency"] >= 0 and good["attempts"] == 1 and good["raw"] == "EN[行]"


def test_completions_api_sends_the_plain_prompt(api):
    system, _ = make(api, api="completions", few_shot=[{"source": "你好", "target": "Hello"}])
    outcome = translate_segments(system, ["好"], cache=None, progress=False)
    sent = api.requests[0]
    assert sent["path"] == "/v1/completions"
    assert sent["body"]["prompt"] == "你好\nHello\n\n好\n" and "messages" not in sent["body"]
    assert outcome.hypotheses == ("EN[你好\nHello\n\n好]",)  # the fake echoes the prompt


def test_usage_cost_latency_and_cache_savings(api, tmp_path):
    prices = {"prompt": 2.0, "completion": 8.0, "cached_prompt": 0.5}
    system, _ = make(api, prices=prices, concurrency=3)
    sources = ["一", "二", "三"]
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        first = translate_segments(system, sources, cache=cache, progress=False)
        latencies = [d["latency"] for d in
                     cache.get_details(system.fingerprint(), sources).values()]
        second = translate_segments(system, sources, cache=cache, progress=False)
    # Hand-computed: per answer 10 prompt tokens (4 cached), 5 completion tokens.
    per_answer = ((10 - 4) * 2.0 + 4 * 0.5 + 5 * 8.0) / 1e6
    usage = first.usage
    assert (usage["requests"], usage["attempts"], usage["retries"], usage["failed"]) == (3, 3, 0, 0)
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["cached_tokens"],
            usage["reasoning_tokens"]) == (30, 15, 12, 6)
    assert usage["cost"] == pytest.approx(3 * per_answer)
    for q in (50, 90, 99):  # numpy as the independent percentile
        assert usage["latency_seconds"][f"p{q}"] == pytest.approx(
            np.percentile(latencies, q), abs=1e-3)
    assert len(api.requests) == 3  # the rerun sent nothing
    again = second.usage
    assert again["requests"] == 0 and again["cost"] == 0
    assert again["saved_by_cache"]["requests"] == 3
    assert again["saved_by_cache"]["prompt_tokens"] == 3 * USAGE["prompt_tokens"]
    assert again["saved_by_cache"]["cost"] == pytest.approx(3 * per_answer)


def test_fingerprint_covers_outputs_not_operations(api):
    base, _ = make(api)
    same = [dict(concurrency=32), dict(requests_per_minute=10), dict(api_key_env="K"),
            dict(timeout=5.0), dict(max_retries=0), dict(allow_partial=True),
            dict(prices={"prompt": 1, "completion": 1})]
    different = [dict(model="m2"), dict(seed=1), dict(temperature=0.5), dict(max_tokens=9),
                 dict(extra_body={"top_p": 0.9}), dict(prompt="Translate: {source}"),
                 dict(api="completions"), dict(system_prompt="x")]
    for options in same:
        assert make(api, **options)[0].fingerprint() == base.fingerprint(), options
    for options in different:
        assert make(api, **options)[0].fingerprint() != base.fingerprint(), options
    other = OpenAISystem(base.config.model_copy(update={"base_url": "http://127.0.0.2:1/v1"}),
                         src_lang="zh", tgt_lang="en")
    assert other.fingerprint() != base.fingerprint()


def test_missing_key_variable_fails_before_any_request(api, monkeypatch):
    monkeypatch.delenv("EVALMT_TEST_KEY", raising=False)
    system, _ = make(api, api_key_env="EVALMT_TEST_KEY")
    with pytest.raises(TranslationError, match="EVALMT_TEST_KEY"):
        translate_segments(system, ["好"], cache=None, progress=False)
    assert api.requests == []


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("base_url", "127.0.0.1:8000", "base_url"),
    ("api", "responses", "api"),
    ("temperature", -1, "temperature"),
    ("api_key_env", "sk-abc def", "api_key_env"),
    ("prompt", "no source", "prompt"),
    ("max_tokns", 5, "did you mean 'max_tokens'"),
])
def test_config_errors_name_the_key(key, value, fragment):
    raw = {"name": "r", "data": [{"reader": "jsonl", "path": "x.jsonl"}],
           "systems": [{"name": "api", "type": "openai", "base_url": "http://h/v1",
                        "model": "m", key: value}]}
    with pytest.raises(Exception, match=fragment) as info:
        validate_config(raw, source="c.yaml")
    assert f"systems.0.{key}" in str(info.value)


def test_describe_never_holds_the_key(api, monkeypatch):
    monkeypatch.setenv("EVALMT_TEST_KEY", "sk-secret-123")
    system, _ = make(api, api_key_env="EVALMT_TEST_KEY")
    translate_segments(system, ["好"], cache=None, progress=False)
    assert api.requests[0]["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret-123" not in json.dumps(system.describe())


def test_answers_get_the_hf_causal_cleanup(api):
    api.reset({"好": ["ok:Here is the translation:\n\"Good.\""]})
    system, _ = make(api, cleanup=True)
    outcome = translate_segments(system, ["好"], cache=None, progress=False)
    assert outcome.hypotheses == ("Good.",)
    counts = system.describe()["cleanup"]
    assert (counts["outputs"], counts["preamble"], counts["wrapping_quotes"]) == (1, 1, 1)


def test_translate_is_one_request_per_input_and_raises_on_failure(api):
    api.reset({"坏": ["400"]})
    system, _ = make(api)
    assert system.translate(["好", " ", "行"]) == ["EN[好]", "", "EN[行]"]
    assert sorted(r["source"] for r in api.requests) == sorted(["好", "行"])
    with pytest.raises(TranslationError, match="1 request"):
        system.translate(["好", "坏"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tokens=st.lists(st.integers(1, 500), min_size=1, max_size=40),
       rpm=st.one_of(st.none(), st.integers(1, 10)),
       tpm=st.one_of(st.none(), st.integers(100, 2000)),
       gaps=st.lists(st.floats(0, 30), min_size=40, max_size=40))
def test_rate_limiter_never_exceeds_a_window(tokens, rpm, tpm, gaps):
    """Every 60-second window holds at most rpm requests and tpm tokens (bar a lone big one)."""
    fake = FakeTime()
    limiter = RateLimiter(requests_per_minute=rpm, tokens_per_minute=tpm, clock=fake.clock,
                          sleep=fake.sleep)
    granted: list[tuple[float, int]] = []

    async def go() -> None:
        for size, gap in zip(tokens, gaps, strict=False):
            fake.now += gap
            await limiter.acquire(size)
            granted.append((fake.now, size))

    asyncio.run(go())
    assert len(granted) == len(tokens)
    for t, _ in granted:
        window = [s for u, s in granted if t - 60 < u <= t]
        if rpm is not None:
            assert len(window) <= rpm
        if tpm is not None and len(window) > 1:
            assert sum(window) <= tpm


def test_a_client_error_is_one_line_without_the_key(api, monkeypatch):
    # A newline in the key makes httpx refuse the header before sending anything.
    monkeypatch.setenv("EVALMT_TEST_KEY", "sk-bad\nkey")
    system, _ = make(api, api_key_env="EVALMT_TEST_KEY")
    outcome = translate_segments(system, ["好"], cache=None, progress=False)
    assert api.requests == [] and "sk-bad" not in outcome.failed[0]
    assert outcome.failed[0].startswith("invalid request") and outcome.usage["attempts"] == 1
