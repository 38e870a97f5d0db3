"""Output cleanup for instruction-tuned LLM translators.

Chat models wrap translations in chatter. Each rule below removes one kind,
is named, and is counted, so the manifest shows how often each fired:

* ``preamble`` — a leading "Here is the translation:", "Translation:",
  "English translation:", "Sure! …" line;
* ``code_fence`` — the whole answer inside a Markdown ``` fence;
* ``trailing_note`` — explanations after the translation: a paragraph that
  starts with "Note:", "(Note …", "Explanation:", "Translator's note", or a
  final parenthesised "(Note: …)";
* ``wrapping_quotes`` — the whole answer inside one pair of quotes ("…", “…”,
  「…」, '…') that the source did not have.

Rules only touch the edges of the text: line breaks and sentences inside a
multi-paragraph translation are kept. Order: preamble, fence, trailing note,
quotes (a quoted answer is often followed by a note).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: Rule names, in the order they are applied.
RULES = ("preamble", "code_fence", "trailing_note", "wrapping_quotes")

_POLITE = r"(?:sure|certainly|of course|okay|ok|absolutely|alright)"
# "Here is the translation:", "Here's the English translation of the text:", "Translation:"
_PREAMBLE_LINE = re.compile(
    rf"""^\s*(?:{_POLITE}\s*[!.,]?\s*)?
    (?:
        here(?:'s|’s|\s+is|\s+are)\s+[^\n:]{{0,60}}?translat\w*[^\n:]{{0,60}}:
      | (?:the\s+)?(?:[A-Za-z]+\s+)?translat(?:ion|ed\s+text)(?:\s+into\s+[A-Za-z]+)?\s*:
      | {_POLITE}\s*[!.,]?[^\n]{{0,80}}?(?:translat|help)[^\n]{{0,80}}?(?::|[!.]?[ \t]*\n)
      | {_POLITE}\s*[!.]?[ \t]*\n
    )[ \t]*\n?""",
    re.IGNORECASE | re.VERBOSE,
)
_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?[ \t]*```\s*$", re.DOTALL)
# A later paragraph (after a line break) that is an explanation, up to the end.
_TRAILING_BLOCK = re.compile(
    r"\n\s*(?:\(|\*{1,2}|\[)?\s*(?:notes?|explanation|translator'?s?\s+notes?|"
    r"translation\s+notes?)\s*\*{0,2}\s*[:：(—-].*\Z",
    re.IGNORECASE | re.DOTALL,
)
# A final "(Note: …)" on the same line as the translation.
_TRAILING_PAREN = re.compile(
    r"\s*\((?:note|translator'?s?\s+note)\b[^()]*\)\s*\Z", re.IGNORECASE
)
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "'": "'", "‘": "’", "«": "»"}


@dataclass(frozen=True)
class Cleaned:
    """A cleaned output and the names of the rules that changed it."""

    text: str
    applied: tuple[str, ...]


def _strip_preamble(text: str, tgt_name: str | None) -> str:
    stripped = text.lstrip()
    match = _PREAMBLE_LINE.match(stripped)
    if match and stripped[match.end():].strip():
        return stripped[match.end():]
    if tgt_name:
        label = re.match(rf"^\s*{re.escape(tgt_name)}\s*:\s*", stripped, re.IGNORECASE)
        if label and stripped[label.end():].strip():
            return stripped[label.end():]
    return text


def _strip_fence(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def _strip_trailing(text: str) -> str:
    body = text.strip()
    match = _TRAILING_BLOCK.search(body)
    if match and body[: match.start()].strip():
        body = body[: match.start()]
    match = _TRAILING_PAREN.search(body)
    if match and body[: match.start()].strip():
        body = body[: match.start()]
    return body


def _strip_quotes(text: str, source: str | None) -> str:
    body = text.strip()
    if len(body) < 2 or body[0] not in _QUOTES or body[-1] != _QUOTES[body[0]]:
        return text
    if source is not None and source.strip()[:1] in _QUOTES:
        return text  # the source is quoted too: the quotes are part of the translation
    inner = body[1:-1]
    if body[0] in inner or _QUOTES[body[0]] in inner:
        return text  # several quoted parts, not one wrapping pair
    return inner


def clean_output(text: str, *, source: str | None = None, tgt_name: str | None = None) -> Cleaned:
    """Apply every rule once, in ``RULES`` order; return the text and the rules that fired.

    ``source`` keeps quotes the source itself has; ``tgt_name`` (e.g. "English")
    also strips a leading "English:" label.
    """
    applied: list[str] = []
    current = text.strip()
    steps = (
        ("preamble", lambda t: _strip_preamble(t, tgt_name)),
        ("code_fence", _strip_fence),
        ("trailing_note", _strip_trailing),
        ("wrapping_quotes", lambda t: _strip_quotes(t, source)),
    )
    for name, step in steps:
        new = step(current).strip()
        if new != current:
            applied.append(name)
            current = new
    return Cleaned(current, tuple(applied))


class CleanupCounter:
    """Counts how often each rule fired across a run (for the manifest).

    ``counts`` is one dict updated in place: a manifest that holds it (the
    runner records ``describe()`` before translating) shows the final counts
    when it is written again after translation.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {"outputs": 0, **{rule: 0 for rule in RULES}}

    def add(self, cleaned: Cleaned) -> None:
        """Record one cleaned output."""
        self.counts["outputs"] += 1
        for rule in cleaned.applied:
            self.counts[rule] += 1

    def as_dict(self) -> Mapping[str, int]:
        """Return a snapshot: ``outputs`` and, per rule, the number of outputs it changed."""
        return dict(self.counts)
