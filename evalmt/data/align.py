"""Length-based paragraph alignment (Gale & Church 1993) between a Chinese and an English side.

Lengths are Chinese characters on one side and English words on the other.
Under the model the English length of a Chinese paragraph of ``n`` units is
normal with mean ``ratio * n`` and variance ``VARIANCE * n``; a bead's cost is
``-log`` of the two-sided tail probability of its deviation plus ``-log`` of
the prior of its kind. Dynamic programming finds the cheapest sequence of
1-1, 1-2, 2-1, 1-0 and 0-1 beads. ``align`` also judges whether the result is
plausible enough to score per paragraph.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from evalmt.data.langid import HAN_CHAR as _HAN_CHAR

# Expected English words per Chinese (Han) character. Measured on the bundled
# sample (evalmt/resources/samples/000_1fbc44d11a2c24ea.txt): its three
# paragraph pairs give 136/145 = 0.94, 115/139 = 0.83, 116/100 = 1.16 words
# per character (en_length / zh_length below), 367/384 = 0.96 in total. Each
# document then uses its own total ratio when that lies within a factor
# RATIO_SPREAD of this prior (see ``document_ratio``).
PRIOR_RATIO = 0.96
RATIO_SPREAD = 2.0
# Variance of English words per Chinese character: the mean of
# (en - PRIOR_RATIO * zh)^2 / zh over the sample's three pairs is
# (0.07 + 2.45 + 4.00) / 3 = 2.17, rounded up to 2.2. Three pairs are
# a small sample; the implausibility threshold below leaves room for that.
VARIANCE = 2.2
# Priors of bead kinds. Gale & Church (1993), "A program for aligning
# sentences in bilingual corpora", Table 5, give 1-1 0.89 for sentences; we
# keep that. Their remaining mass favours 2-1/1-2 (0.089) over 1-0/0-1
# (0.0099), but on bilingual web pages the unit is a paragraph and a title,
# dateline or credit present in one language only is at least as common as
# a paragraph split in two; with their split a 10-character title is merged
# into the next paragraph (tested). We split the remaining 0.11 evenly over
# the four non-1-1 kinds, so lengths decide between them.
PRIORS = {"1-1": 0.89, "1-0": 0.0275, "0-1": 0.0275, "2-1": 0.0275, "1-2": 0.0275}
_STEPS = {"1-1": (1, 1), "1-0": (1, 0), "0-1": (0, 1), "2-1": (2, 1), "1-2": (1, 2)}

# Implausibility. A paired bead whose length deviation exceeds MAX_DELTA
# standard deviations has probability < 6.3e-5 under the model (two-sided
# normal tail at 4 sd), so even a 100-paragraph document would show one by
# chance with probability < 0.7%: we read it as a mispairing. And when more
# than MAX_UNPAIRED_SHARE of all paragraphs are left unpaired (1-0/0-1), the
# two sides are not translations of each other paragraph by paragraph: a
# title and a credit line are expected, a third of the page is not.
MAX_DELTA = 4.0
MAX_UNPAIRED_SHARE = 1 / 3
# Search band of the dynamic programme, in paragraphs off the straight line
# from (0, 0) to (n, m) (measured along the longer side). Documents with at
# most BAND paragraphs on a side get the full, exact search; longer ones are
# searched in a band of that width, so time and memory grow with
# n * BAND instead of n * m (10,000 paragraphs took 90 s unbanded). A best
# path that strays further than BAND paragraphs scores worse inside the band
# and is then judged implausible, never silently mispaired.
BAND = 100

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NON_HAN_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+")


_SENTENCE_END = re.compile(r"[。！？!?.…」”\"')）]\s*$")


def is_heading(text: str, length: int, median_length: float) -> bool:
    """Tell whether a paragraph looks like a title: short and without sentence-final punctuation.

    Short means at most half the document's median paragraph length on its
    side (and at most 40 units). Marking a paragraph a heading only forbids
    merging it into a 2-1 or 1-2 bead, so a false positive costs little.
    """
    return length <= min(40.0, median_length / 2) and not _SENTENCE_END.search(text)


def zh_length(text: str) -> int:
    """Length of a Chinese paragraph: Han characters plus embedded Latin/digit tokens."""
    return len(_HAN_CHAR.findall(text)) + len(_NON_HAN_TOKEN.findall(text))


def en_length(text: str) -> int:
    """Length of an English paragraph in words (letters/digits, with inner apostrophes)."""
    return len(_WORD.findall(text))


@dataclass(frozen=True)
class Bead:
    """One alignment decision: paragraph indices (0-based) on each side, its kind and cost."""

    kind: str
    zh: tuple[int, ...]
    en: tuple[int, ...]
    cost: float
    delta: float  # deviation in standard deviations (0.0 for 1-0 / 0-1)


@dataclass(frozen=True)
class Alignment:
    """A full alignment of two paragraph sequences and its plausibility verdict."""

    beads: tuple[Bead, ...]
    ratio: float
    cost: float
    plausible: bool
    reason: str  # why it is implausible ("" when plausible)

    @property
    def mean_cost(self) -> float:
        """Cost per bead (0.0 for an empty alignment)."""
        return self.cost / len(self.beads) if self.beads else 0.0


def document_ratio(zh_lengths: Sequence[int], en_lengths: Sequence[int]) -> float:
    """Return the document's own words-per-character ratio, or ``PRIOR_RATIO`` when far off."""
    total_zh, total_en = sum(zh_lengths), sum(en_lengths)
    if total_zh == 0 or total_en == 0:
        return PRIOR_RATIO
    ratio = total_en / total_zh
    if PRIOR_RATIO / RATIO_SPREAD <= ratio <= PRIOR_RATIO * RATIO_SPREAD:
        return ratio
    return PRIOR_RATIO


def bead_cost(kind: str, zh_len: int, en_len: int, *, ratio: float) -> tuple[float, float]:
    """Return ``(cost, delta)`` of a bead of ``kind`` joining ``zh_len`` and ``en_len`` units."""
    prior_cost = -math.log(PRIORS[kind])
    if kind in ("1-0", "0-1"):
        return prior_cost, 0.0
    delta = (en_len - ratio * zh_len) / math.sqrt(max(zh_len, 1) * VARIANCE)
    tail = math.erfc(abs(delta) / math.sqrt(2.0))  # two-sided P(|Z| >= |delta|)
    return prior_cost - math.log(max(tail, 1e-300)), delta


@dataclass(frozen=True)
class Limits:
    """Thresholds above which an alignment is implausible (defaults: see module constants)."""

    max_delta: float = MAX_DELTA
    max_unpaired_share: float = MAX_UNPAIRED_SHARE


def judge(beads: Sequence[Bead], n_paragraphs: int, limits: Limits = Limits()) -> str:
    """Return why an alignment is implausible, or ``""`` when it is plausible."""
    worst = max((b for b in beads if b.zh and b.en), key=lambda b: abs(b.delta), default=None)
    if worst is not None and abs(worst.delta) > limits.max_delta:
        return (f"paragraph lengths disagree by {abs(worst.delta):.1f} sd in a {worst.kind} "
                f"pair (limit {limits.max_delta:g})")
    unpaired = sum(len(b.zh) + len(b.en) for b in beads if not (b.zh and b.en))
    if n_paragraphs and unpaired / n_paragraphs > limits.max_unpaired_share:
        return (f"{unpaired} of {n_paragraphs} paragraphs have no counterpart "
                f"(limit {limits.max_unpaired_share:.2f})")
    return ""


def _finish(beads: list[Bead], n_paragraphs: int, ratio: float, limits: Limits) -> Alignment:
    reason = judge(beads, n_paragraphs, limits)
    return Alignment(tuple(beads), ratio, sum(b.cost for b in beads), not reason, reason)


def diagonal(
    zh_lengths: Sequence[int], en_lengths: Sequence[int], *, limits: Limits = Limits()
) -> Alignment:
    """Pair equal-length sequences 1-1 in order, with costs and a plausibility verdict."""
    if len(zh_lengths) != len(en_lengths):
        raise ValueError("diagonal alignment needs equal paragraph counts")
    ratio = document_ratio(zh_lengths, en_lengths)
    beads = []
    for i, (z, e) in enumerate(zip(zh_lengths, en_lengths, strict=True)):
        cost, delta = bead_cost("1-1", z, e, ratio=ratio)
        beads.append(Bead("1-1", (i,), (i,), cost, delta))
    return _finish(beads, len(zh_lengths) + len(en_lengths), ratio, limits)


def dynamic(
    zh_lengths: Sequence[int],
    en_lengths: Sequence[int],
    *,
    zh_headings: AbstractSet[int] = frozenset(),
    en_headings: AbstractSet[int] = frozenset(),
    limits: Limits = Limits(),
) -> Alignment:
    """Find the cheapest monotone alignment over 1-1, 1-2, 2-1, 1-0 and 0-1 beads.

    Paragraphs listed as headings (0-based indices) are never merged with a
    neighbour in a 2-1 or 1-2 bead: a short title is within the length noise
    of a long paragraph, so lengths alone would happily absorb it.
    """
    n, m = len(zh_lengths), len(en_lengths)
    ratio = document_ratio(zh_lengths, en_lengths)
    zh_prefix = [0]
    for z in zh_lengths:
        zh_prefix.append(zh_prefix[-1] + z)
    en_prefix = [0]
    for e in en_lengths:
        en_prefix.append(en_prefix[-1] + e)
    inf = float("inf")
    # One dict per row holding only the cells inside the band (see BAND).
    best: list[dict[int, float]] = [{} for _ in range(n + 1)]
    back: list[dict[int, tuple[str, float, float]]] = [{} for _ in range(n + 1)]
    best[0][0] = 0.0
    half = BAND * max(n, m, 1)  # band half-width, scaled by n (j*n is compared with i*m)
    for i in range(n + 1):
        lo = max(0, -((half - i * m) // max(n, 1))) if n else 0
        hi = min(m, (i * m + half) // n) if n else m
        for j in range(lo, hi + 1):
            here = best[i].get(j, inf)
            if here == inf:
                continue
            for kind, (di, dj) in _STEPS.items():
                ni, nj = i + di, j + dj
                if ni > n or nj > m:
                    continue
                if (di == 2 and (i in zh_headings or i + 1 in zh_headings)) or (
                    dj == 2 and (j in en_headings or j + 1 in en_headings)
                ):
                    continue
                z = zh_prefix[ni] - zh_prefix[i]
                e = en_prefix[nj] - en_prefix[j]
                cost, delta = bead_cost(kind, z, e, ratio=ratio)
                if here + cost < best[ni].get(nj, inf):
                    best[ni][nj] = here + cost
                    back[ni][nj] = (kind, cost, delta)
    beads: list[Bead] = []
    i, j = n, m
    while i or j:
        step = back[i].get(j)
        if step is None:  # unreachable: (1-0, 0-1) steps connect every cell
            raise RuntimeError("alignment back-pointer missing")
        kind, cost, delta = step
        di, dj = _STEPS[kind]
        beads.append(Bead(kind, tuple(range(i - di, i)), tuple(range(j - dj, j)), cost, delta))
        i, j = i - di, j - dj
    beads.reverse()
    return _finish(beads, n + m, ratio, limits)


def align(
    zh_lengths: Sequence[int],
    en_lengths: Sequence[int],
    *,
    zh_headings: AbstractSet[int] = frozenset(),
    en_headings: AbstractSet[int] = frozenset(),
    limits: Limits = Limits(),
) -> Alignment:
    """Align paragraphs: 1-1 in order when counts are equal and that is plausible, else DP.

    The result may still be implausible (``Alignment.plausible`` is False);
    the caller decides what to do with such a document.
    """
    if len(zh_lengths) == len(en_lengths):
        straight = diagonal(zh_lengths, en_lengths, limits=limits)
        if straight.plausible:
            return straight
        found = dynamic(zh_lengths, en_lengths, zh_headings=zh_headings,
                        en_headings=en_headings, limits=limits)
        return found if found.plausible else straight
    return dynamic(zh_lengths, en_lengths, zh_headings=zh_headings,
                        en_headings=en_headings, limits=limits)
