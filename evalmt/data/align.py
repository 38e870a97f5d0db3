"""Paragraph alignment of a bilingual page: length and lexical evidence, with a confidence per pair.

Every candidate pair (a *bead*: 1-1, 1-2 or 2-1 paragraphs) gets a score,
the log-likelihood ratio "translation vs unrelated text": a length term (the
English length of a Chinese paragraph of ``n`` units is log-normal around
``ratio * n``; unrelated paragraphs are far wider) plus, when given, lexical
evidence (``evalmt.data.lexical``: CC-CEDICT hits, exact numbers and names).
A paragraph left without counterpart (1-0, 0-1) costs more the longer it is:
titles, bylines and captions are short. Dynamic programming finds the best
monotone path; one non-monotone move is tried on top: a short title at the
start of one side paired with a short title-like line at the other end of
the other side (a Chinese title first while the English title closes the page).

The page's ratio is estimated from confident pairs only (strong lexical
evidence, or, without it, a first pass's pairs) and shrunk towards the prior,
so paragraphs without counterpart (cut-off pages) cannot drag it.

Each pair's *margin* is how much worse the best path without it scores; its
confidence is the logistic of the smaller of margin and its own score plus
the prior log-odds of a pair (a pair must be both better than the
alternatives and better than "unrelated"). The
page's margin (over the second-best path) is the smallest margin of its beads.
Paragraphs marked *cut* (a page's last line stopping mid-sentence) are never paired.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from evalmt.data.langid import HAN_CHAR as _HAN_CHAR

# English characters per Chinese unit (Han character or embedded Latin/digit
# token). Issue #15 measured 4.3 on 20 real pages of this family once pinyin
# is removed (3.7 with it left in); the gold set of tests/data/bilingual/gold
# gives 4.11 (81 gold pairs).
PRIOR_RATIO = 4.3
# Log-ratio spread of a translation: 0.15 (the gold set's paragraph ratios
# have a log-sd of 0.14) plus a term for short paragraphs, whose lengths
# vary more (a 10-character title: sd 0.27). Unrelated text: sd 0.8 (a
# factor 2.2 either way).
SIGMA_TRANSLATION = 0.15
SHORT_VARIANCE = 2.0
SIGMA_UNRELATED = 0.8
# Log prior of bead kinds relative to 1-1: splits are rarer, merges rarer
# still (issue #15's 20 pages: a few 1-2, no 2-1); so is the title move.
KIND_PRIOR = {"1-1": 0.0, "1-2": -1.0, "2-1": -2.0, "title": -1.0}
# A paragraph without counterpart: a base cost plus one per page-median
# length (capped at 2), so a title or byline is cheap to leave alone and a
# full paragraph is not.
UNPAIRED_BASE = 1.0
UNPAIRED_PER_MEDIAN = 1.0
# Pairs whose confidence is below this are flagged and not scored.
MIN_CONFIDENCE = 0.9
# Prior odds that a paragraph the path pairs has a counterpart at all: 9 to 1
# (issue #15's pages: most paragraphs are translated; titles, credits and
# cut-off ends are not, and those are short or at the page's end). With
# MIN_CONFIDENCE 0.9 a trusted pair must score above 0 (more likely a
# translation than unrelated) and beat every alternative path by log 9.
PAIR_PRIOR_LOG_ODDS = math.log(9.0)
# With lexical evidence, the words alone must favour translation too (their
# log-likelihood ratio above this): paragraphs of the same article share topic
# words, and a length match plus topic words must not make a pair. The gold
# set's true 1-1 pairs score at least 0.6 on words alone.
MIN_LEXICAL = 0.0
# And the lengths must fit a translation: a pair deviating by more than
# MAX_DELTA sd (P < 1.2 % under the length model; the gold set's true pairs
# stay under 1.5) loses confidence, DELTA_SLOPE log-odds per sd beyond it. Strong
# word evidence cannot then carry a partial pair (a title paired with only its
# subtitle, a paragraph with half its translation).
MAX_DELTA = 2.5
DELTA_SLOPE = 2.0
# Ratio estimation: lexical score a pair needs to count as confident, and the
# prior's weight (in Chinese units) when shrinking the page's ratio towards it.
CONFIDENT_LEXICAL = 3.0
RATIO_PRIOR_WEIGHT = 60.0
# Margins are computed on the sub-problem spanning this many beads on either
# side of a bead (alternatives to a bead are local).
MARGIN_WINDOW = 4
# Search band (paragraphs off the diagonal) for long documents: beyond 50
# paragraphs off the straight line from corner to corner a path is not
# searched (time and memory grow with n * BAND, not n * m). A best path that
# strays further scores worse inside the band, with low margins: flagged.
BAND = 50
# The title move is tried on pages (at most this many paragraphs on both
# sides together), not on books: it costs two more searches of the grid.
TITLE_MOVE_MAX_PARAGRAPHS = 400
# A second pass with the re-estimated ratio is run only when the ratio moved
# by more than this share (otherwise the first pass's path stands), and only
# on documents of at most SECOND_PASS_MAX_PARAGRAPHS (a book keeps the prior).
RATIO_TOLERANCE = 0.02
SECOND_PASS_MAX_PARAGRAPHS = 2000

_STEPS = {"1-1": (1, 1), "1-0": (1, 0), "0-1": (0, 1), "2-1": (2, 1), "1-2": (1, 2)}
_NON_HAN_TOKEN = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+")
_SENTENCE_END = re.compile(r"[。！？!?.…」”\"')）]\s*$")

Evidence = Callable[[Sequence[int], Sequence[int]], float]


def is_heading(text: str, length: int, median_length: float) -> bool:
    """Tell whether a paragraph looks like a title: short and without sentence-final punctuation.

    Short means at most half the page's median paragraph length on its side
    (and at most 40 Chinese units / 160 English characters, see ``zh_length``/``en_length``).
    """
    limit = 40.0 if _HAN_CHAR.search(text) else 40.0 * PRIOR_RATIO
    return length <= min(limit, median_length / 2) and not _SENTENCE_END.search(text)


def zh_length(text: str) -> int:
    """Length of a Chinese paragraph: Han characters plus embedded Latin/digit tokens."""
    return len(_HAN_CHAR.findall(text)) + len(_NON_HAN_TOKEN.findall(text))


def en_length(text: str) -> int:
    """Length of an English paragraph in characters, runs of space counted once."""
    return len(" ".join(text.split()))


@dataclass(frozen=True)
class Bead:
    """One alignment decision: paragraph indices (0-based) on each side, its kind and scores."""

    kind: str  # 1-1, 1-2, 2-1, 1-0, 0-1, or title (a non-monotone 1-1)
    zh: tuple[int, ...]
    en: tuple[int, ...]
    score: float  # log-likelihood ratio vs unrelated text (pairs); minus the cost (unpaired)
    delta: float = 0.0  # length deviation in standard deviations (pairs)
    lexical: float | None = None  # the lexical part of ``score`` (None: lengths only)
    margin: float = math.inf  # best path score minus best path without this bead

    @property
    def paired(self) -> bool:
        """Whether the bead pairs paragraphs of both sides."""
        return bool(self.zh and self.en)

    @property
    def confidence(self) -> float:
        """Logistic of the smallest of: margin; score, words, length fit (each + prior log-odds).

        Words: lexical - MIN_LEXICAL (only when lexical evidence was used);
        length fit: DELTA_SLOPE * (MAX_DELTA - |delta|). 1.0 for unpaired beads.
        """
        if not self.paired:
            return 1.0
        x = min(self.margin, self.score + PAIR_PRIOR_LOG_ODDS,
                PAIR_PRIOR_LOG_ODDS + DELTA_SLOPE * (MAX_DELTA - abs(self.delta)))
        if self.lexical is not None:
            x = min(x, self.lexical - MIN_LEXICAL + PAIR_PRIOR_LOG_ODDS)
        return 1.0 / (1.0 + math.exp(-x)) if x < 700 else 1.0


@dataclass(frozen=True)
class Alignment:
    """A full alignment of two paragraph sequences."""

    beads: tuple[Bead, ...]
    ratio: float
    score: float
    margin: float  # over the second-best path (inf when there is no alternative)

    def trusted(self, min_confidence: float = MIN_CONFIDENCE) -> tuple[Bead, ...]:
        """Return the pairs whose confidence reaches ``min_confidence``."""
        return tuple(b for b in self.beads if b.paired and b.confidence >= min_confidence)


class _Scorer:
    """Bead scores of one page for a given ratio (cached)."""

    def __init__(self, zh: Sequence[int], en: Sequence[int], *, ratio: float,
                 evidence: Evidence | None, zh_headings: AbstractSet[int],
                 en_headings: AbstractSet[int], zh_cut: AbstractSet[int],
                 en_cut: AbstractSet[int]) -> None:
        self.zh, self.en, self.ratio, self.evidence = zh, en, ratio, evidence
        self.zh_headings, self.en_headings = zh_headings, en_headings
        self.zh_cut, self.en_cut = zh_cut, en_cut
        self.zh_median = _median(zh) or 1.0
        self.en_median = _median(en) or 1.0
        self._parts: dict[tuple[str, int, int], tuple[float, float, float | None] | None] = {}

    def score(self, kind: str, i: int, j: int) -> float | None:
        """Return the score of the bead of ``kind`` at (i, j), or None when not allowed."""
        key = (kind, i, j)
        parts = self._parts.get(key, ())
        if parts == ():
            parts = self._parts[key] = self._compute(kind, i, j)
        return None if parts is None else parts[0]

    def bead(self, kind: str, i: int, j: int) -> Bead | None:
        """Return the bead of ``kind`` starting at (i, j), or None when not allowed."""
        if self.score(kind, i, j) is None:
            return None
        score, delta, lexical = self._parts[(kind, i, j)]  # type: ignore[misc]
        di, dj = _STEPS["1-1" if kind == "title" else kind]
        return Bead(kind, tuple(range(i, i + di)), tuple(range(j, j + dj)), score, delta,
                    lexical)

    def _compute(self, kind: str, i: int, j: int) -> tuple[float, float, float | None] | None:
        di, dj = _STEPS["1-1" if kind == "title" else kind]
        if dj == 0:
            if i in self.zh_cut:
                return 0.0, 0.0, None
            share = min(self.zh[i] / self.zh_median, 2.0)
            return -(UNPAIRED_BASE + UNPAIRED_PER_MEDIAN * share), 0.0, None
        if di == 0:
            if j in self.en_cut:
                return 0.0, 0.0, None
            share = min(self.en[j] / self.en_median, 2.0)
            return -(UNPAIRED_BASE + UNPAIRED_PER_MEDIAN * share), 0.0, None
        zh, en = range(i, i + di), range(j, j + dj)
        if (self.zh_cut or self.en_cut) and (any(k in self.zh_cut for k in zh)
                                             or any(k in self.en_cut for k in en)):
            return None
        if di == 2 and (i in self.zh_headings) != (i + 1 in self.zh_headings):
            return None  # a title is merged only with another title line
        if dj == 2 and (j in self.en_headings) != (j + 1 in self.en_headings):
            return None
        z = self.zh[i] + (self.zh[i + 1] if di == 2 else 0)
        e = self.en[j] + (self.en[j + 1] if dj == 2 else 0)
        delta, length = length_score(z, e, ratio=self.ratio)
        lexical = self.evidence(zh, en) if self.evidence else None
        return length + (lexical or 0.0) + KIND_PRIOR[kind], delta, lexical


def _median(values: Sequence[int]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def length_score(zh_len: int, en_len: int, *, ratio: float) -> tuple[float, float]:
    """Return (deviation in sd, log-likelihood ratio translation vs unrelated) of two lengths."""
    expected = ratio * zh_len + 1.0
    x = math.log((en_len + 1.0) / expected)
    sigma = math.sqrt(SIGMA_TRANSLATION ** 2 + SHORT_VARIANCE / expected)
    llr = (-0.5 * (x / sigma) ** 2 - math.log(sigma)
           + 0.5 * (x / SIGMA_UNRELATED) ** 2 + math.log(SIGMA_UNRELATED))
    return x / sigma, llr


def _path(scorer: _Scorer, i0: int, i1: int, j0: int, j1: int, *,
          forbid: tuple[str, int, int] | None = None) -> tuple[float, list[Bead]]:
    """Best monotone path from (i0, j0) to (i1, j1) and its score."""
    n, m = i1 - i0, j1 - j0
    best: list[dict[int, float]] = [{} for _ in range(n + 1)]
    back: list[dict[int, str]] = [{} for _ in range(n + 1)]
    best[0][0] = 0.0
    half = BAND * max(n, m, 1)
    steps = list(_STEPS.items())
    score = scorer.score
    for a in range(n + 1):
        lo = max(0, -((half - a * m) // max(n, 1))) if n else 0
        hi = min(m, (a * m + half) // n) if n else m
        row = best[a]
        for b in range(lo, hi + 1):
            here = row.get(b)
            if here is None:
                continue
            for kind, (di, dj) in steps:
                na, nb = a + di, b + dj
                if na > n or nb > m or (forbid is not None and (kind, i0 + a, j0 + b) == forbid):
                    continue
                value = score(kind, i0 + a, j0 + b)
                if value is None:
                    continue
                total = here + value
                if total > best[na].get(nb, -math.inf):
                    best[na][nb] = total
                    back[na][nb] = kind
    if m not in best[n]:
        return -math.inf, []
    beads, a, b = [], n, m
    while a or b:
        kind = back[a][b]
        di, dj = _STEPS[kind]
        a, b = a - di, b - dj
        bead = scorer.bead(kind, i0 + a, j0 + b)
        if bead is None:  # unreachable: only allowed beads are stored
            raise RuntimeError("alignment back-pointer to a forbidden bead")
        beads.append(bead)
    beads.reverse()
    return best[n][m], beads


def _with_margins(scorer: _Scorer, beads: list[Bead], i0: int, j0: int) -> list[Bead]:
    """Give every bead of a monotone path its margin over the best local alternative."""
    corners = [(i0, j0)]
    for bead in beads:
        corners.append((corners[-1][0] + len(bead.zh), corners[-1][1] + len(bead.en)))
    out = []
    for k, bead in enumerate(beads):
        if not bead.paired:  # 1-0/0-1 orders are interchangeable: no margin of their own
            out.append(bead)
            continue
        lo, hi = max(0, k - MARGIN_WINDOW), min(len(beads), k + MARGIN_WINDOW + 1)
        (a0, b0), (a1, b1) = corners[lo], corners[hi]
        here = sum(b.score for b in beads[lo:hi])
        start = corners[k]
        kind = bead.kind if bead.kind != "title" else "1-1"
        other, _ = _path(scorer, a0, a1, b0, b1, forbid=(kind, *start))
        out.append(replace(bead, margin=here - other))
    return out


def _estimate_ratio(beads: Sequence[Bead], zh: Sequence[int], en: Sequence[int], *,
                    prior: float) -> float:
    confident = [b for b in beads if b.paired and (
        b.lexical >= CONFIDENT_LEXICAL if b.lexical is not None else abs(b.delta) <= 1.0)]
    z = sum(zh[i] for b in confident for i in b.zh)
    e = sum(en[j] for b in confident for j in b.en)
    return (e + RATIO_PRIOR_WEIGHT * prior) / (z + RATIO_PRIOR_WEIGHT)


def _best(scorer: _Scorer, n: int, m: int, *, margins: bool = True) -> tuple[float, list[Bead]]:
    """Best alignment, trying the title move (first of one side ↔ last of the other)."""
    options = [(_path(scorer, 0, n, 0, m), None)]
    if n >= 2 and m >= 2 and n + m <= TITLE_MOVE_MAX_PARAGRAPHS:
        for zi, ej in ((0, m - 1), (n - 1, 0)):
            if zi not in scorer.zh_headings or ej not in scorer.en_headings:
                continue
            title = scorer.bead("title", zi, ej)
            if title is None:
                continue
            rest = (_path(scorer, 1, n, 0, m - 1) if zi == 0 else _path(scorer, 0, n - 1, 1, m))
            options.append(((rest[0] + title.score, rest[1]), title))
    options.sort(key=lambda o: -o[0][0])
    (score, beads), title = options[0]
    start = (1, 0) if title is not None and title.zh == (0,) else (
        (0, 1) if title is not None else (0, 0))
    if not margins:
        return score, beads if title is None else [title, *beads]
    beads = _with_margins(scorer, beads, *start)
    if title is not None:
        runner_up = options[1][0][0] if len(options) > 1 else -math.inf
        title = replace(title, margin=score - runner_up)
        beads = sorted([title, *beads], key=lambda b: (b.zh or (math.inf,))[0])
    elif len(options) > 1 and beads:
        # The best title move is the page's second-best path when it comes close.
        gap = score - options[1][0][0]
        beads = [replace(b, margin=min(b.margin, gap)) if b.zh[:1] in ((0,), (n - 1,))
                 or b.en[:1] in ((0,), (m - 1,)) else b for b in beads]
    return score, beads


def align(
    zh_lengths: Sequence[int],
    en_lengths: Sequence[int],
    *,
    evidence: Evidence | None = None,
    zh_headings: AbstractSet[int] = frozenset(),
    en_headings: AbstractSet[int] = frozenset(),
    zh_cut: AbstractSet[int] = frozenset(),
    en_cut: AbstractSet[int] = frozenset(),
    prior_ratio: float = PRIOR_RATIO,
) -> Alignment:
    """Align paragraphs (lengths in Chinese units and English characters); see the module doc.

    ``evidence(zh_indices, en_indices)`` returns the lexical log-likelihood
    ratio of a candidate pair; without it only lengths decide (and margins
    are correspondingly small). Headings are merged only with headings;
    cut paragraphs are never paired.
    """
    n, m = len(zh_lengths), len(en_lengths)
    options = {"evidence": evidence, "zh_headings": zh_headings, "en_headings": en_headings,
               "zh_cut": zh_cut, "en_cut": en_cut}
    scorer = _Scorer(zh_lengths, en_lengths, ratio=prior_ratio, **options)
    ratio = prior_ratio
    if n + m <= SECOND_PASS_MAX_PARAGRAPHS:
        _, beads = _best(scorer, n, m, margins=False)
        ratio = _estimate_ratio(beads, zh_lengths, en_lengths, prior=prior_ratio)
    if abs(ratio / prior_ratio - 1) > RATIO_TOLERANCE:
        scorer = _Scorer(zh_lengths, en_lengths, ratio=ratio, **options)
    else:
        ratio = prior_ratio
    score, beads = _best(scorer, n, m)
    margin = min((b.margin for b in beads if b.paired), default=math.inf)
    return Alignment(tuple(beads), ratio, score, margin)
