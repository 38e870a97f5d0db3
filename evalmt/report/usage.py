"""The API usage table: requests, tokens, latency and cost per system, and what the cache saved.

Rows come from the ``usage`` summary of systems that report one (the
``openai`` system: see ``OpenAISystem.summarize``); other systems have no
row. Rendered as ``usage.csv``, a Markdown section of ``scores.md`` and a
table in ``report.html``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = ("system", "requests", "failed", "retries", "prompt_tokens", "completion_tokens",
           "cached_tokens", "reasoning_tokens", "latency_p50", "latency_p90", "latency_p99",
           "cost", "currency", "cache_hits", "saved_tokens", "saved_cost")


def usage_row(system: str, usage: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten one system's usage summary into the ``COLUMNS`` of the usage table."""
    latency = usage.get("latency_seconds") or {}
    saved = usage.get("saved_by_cache") or {}
    return {
        "system": system,
        **{k: usage.get(k) for k in ("requests", "failed", "retries", "prompt_tokens",
                                     "completion_tokens", "cached_tokens", "reasoning_tokens",
                                     "cost", "currency")},
        "latency_p50": latency.get("p50"), "latency_p90": latency.get("p90"),
        "latency_p99": latency.get("p99"),
        "cache_hits": saved.get("requests"),
        "saved_tokens": (saved.get("prompt_tokens") or 0) + (saved.get("completion_tokens") or 0),
        "saved_cost": saved.get("cost"),
    }


def render_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Render usage rows as CSV (empty cells where a value does not apply)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS])
    return buf.getvalue()


def _num(value: Any, spec: str = "") -> str:
    return "n/a" if value is None else format(value, spec)


def render_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """Render usage rows as a Markdown table with a legend."""
    lines = ["| system | requests | failed | retries | prompt tok | completion tok | cached tok | "
             "reasoning tok | latency p50/p90/p99 (s) | cost | cache hits | saved tok | "
             "saved cost |",
             "|---|" + "---:|" * 12]
    for r in rows:
        latency = "/".join(_num(r[k], ".2f") for k in ("latency_p50", "latency_p90",
                                                       "latency_p99"))
        currency = f" {r['currency']}" if r.get("currency") else ""
        cost = _num(r["cost"], ".4f") + (currency if r["cost"] is not None else "")
        saved = _num(r["saved_cost"], ".4f") + (currency if r["saved_cost"] is not None else "")
        name = str(r["system"]).replace("|", "\\|")
        lines.append(f"| {name} | {r['requests']} | {r['failed']} | {r['retries']} | "
                     f"{r['prompt_tokens']} | {r['completion_tokens']} | {r['cached_tokens']} | "
                     f"{r['reasoning_tokens']} | {latency} | {cost} | {r['cache_hits']} | "
                     f"{r['saved_tokens']} | {saved} |")
    lines += ["", "Requests sent this run (cache hits send none); cost from the system's "
              "`prices` (per million tokens); saved: tokens and cost the cache hits would "
              "have used when first requested."]
    return "\n".join(lines) + "\n"
