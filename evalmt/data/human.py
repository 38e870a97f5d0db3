r"""Human system-level judgements (WMT rankings, a plain CSV): read into one ``HumanRanking``.

Three formats, picked by ``format`` (``auto``: by the file's extension):

* ``wmt23-tsv`` (``.tsv``): the WMT23 ``human-ranking.<pair>.tsv`` — no header,
  columns ``pair, system, rank range, score`` (rank range ``3-8`` or ``1``).
  Names are LaTeX-escaped there (``IOL\_Research``); the escapes are removed.
* ``wmt22-txt`` (``.txt``): the WMT22 ``human-ranking.<pair>.txt`` — whitespace
  separated ``raw, z, N, N.all, system.id, system``; the score is the z-score
  (the organisers rank by it). No rank ranges.
* ``csv`` (``.csv``): ``system,score[,rank range]``, with or without a header row.

Higher human scores are better in every format. The WMT files list systems
best first: that order is the organisers' ranking, made from unrounded scores,
so when the printed (rounded) scores tie — WMT22 zh-en prints -0.083 for both
Online-A and DLUT — the order still ranks them (``HumanRanking.ordered``). A
rank range is the
organisers' cluster: humans consider system A significantly better than B when
A's whole range lies above B's (``A.rank_high < B.rank_low``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from evalmt.data.base import read_text_file
from evalmt.errors import DataError

FORMATS = ("auto", "wmt23-tsv", "wmt22-txt", "csv")
_BY_SUFFIX = {".tsv": "wmt23-tsv", ".txt": "wmt22-txt", ".csv": "csv"}
_RANKS = re.compile(r"^\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*$")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class HumanScore:
    """One system's human score, and its rank range (cluster) where the file has one."""

    system: str
    score: float
    rank_low: int | None = None
    rank_high: int | None = None

    def better_than(self, other: HumanScore) -> bool:
        """Tell whether humans rank this system significantly above ``other`` (disjoint ranges)."""
        if self.rank_high is None or other.rank_low is None:
            return False
        return self.rank_high < other.rank_low


@dataclass(frozen=True)
class HumanRanking:
    """All systems of one human evaluation file."""

    label: str
    path: str
    format: str
    scores: tuple[HumanScore, ...]
    #: The file lists systems best first (the organisers' ranking): the order breaks
    #: ties between printed scores. True for WMT files whose scores never increase.
    ordered: bool = False

    @property
    def has_ranks(self) -> bool:
        """Tell whether the file gives rank ranges (clusters)."""
        return any(s.rank_low is not None for s in self.scores)

    def by_system(self) -> dict[str, HumanScore]:
        """Return the scores keyed by system name."""
        return {s.system: s for s in self.scores}


def read_human_scores(path: str | Path, *, format: str = "auto",
                      label: str | None = None) -> HumanRanking:
    """Read a human ranking file; any bad line is a ``DataError`` naming ``file:line``."""
    path = Path(path)
    if format not in FORMATS:
        raise DataError(f"{path}: unknown human score format {format!r}; "
                        f"available: {', '.join(FORMATS)}")
    if format == "auto":
        format = _BY_SUFFIX.get(path.suffix.lower(), "")
        if not format:
            raise DataError(f"{path}: cannot tell the human score format from the extension "
                            f"{path.suffix!r}; set format to one of {', '.join(FORMATS[1:])}")
    if not path.is_file():
        raise DataError(f"{path}: human scores file not found")
    text = read_text_file(path)
    parse = {"wmt23-tsv": _wmt23, "wmt22-txt": _wmt22, "csv": _csv}[format]
    scores: list[HumanScore] = []
    seen: dict[str, int] = {}
    for line, score in parse(text, path):
        if score.system in seen:
            raise DataError(f"{path}:{line}: system {score.system!r} listed twice "
                            f"(first on line {seen[score.system]})")
        seen[score.system] = line
        scores.append(score)
    if len(scores) < 2:
        raise DataError(f"{path}: {len(scores)} system(s); agreement needs at least 2")
    ordered = format != "csv" and all(scores[i].score >= scores[i + 1].score
                                      for i in range(len(scores) - 1))
    return HumanRanking(label or path.name, str(path), format, tuple(scores), ordered)


def _number(text: str, path: Path, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path}:{line}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}:{line}: {what} {text!r} is not a finite number")
    return value


def _ranks(text: str, path: Path, line: int) -> tuple[int, int]:
    match = _RANKS.match(text)
    if not match:
        raise DataError(f"{path}:{line}: rank range {text!r} is not N or N-M")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if high < low:
        raise DataError(f"{path}:{line}: rank range {text!r} ends before it starts")
    return low, high


def _lines(text: str):
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line


def _wmt23(text: str, path: Path):
    for number, line in _lines(text):
        cells = line.split("\t")
        if len(cells) != 4:
            raise DataError(f"{path}:{number}: expected 4 tab-separated columns (pair, system, "
                            f"rank range, score), got {len(cells)}")
        low, high = _ranks(cells[2], path, number)
        yield number, HumanScore(_ESCAPE.sub(r"\1", cells[1].strip()),
                                 _number(cells[3], path, number, "score"), low, high)


def _wmt22(text: str, path: Path):
    for number, line in _lines(text):
        cells = line.split()
        if len(cells) != 6:
            raise DataError(f"{path}:{number}: expected 6 columns (raw, z, N, N.all, system.id, "
                            f"system), got {len(cells)}")
        yield number, HumanScore(_ESCAPE.sub(r"\1", cells[5]),
                                 _number(cells[1], path, number, "z-score"))


def _csv(text: str, path: Path):
    rows = list(csv.reader(io.StringIO(text)))
    for number, cells in enumerate(rows, start=1):
        if not cells or not "".join(cells).strip():
            continue
        if len(cells) not in (2, 3):
            raise DataError(f"{path}:{number}: expected system,score[,rank range], "
                            f"got {len(cells)} columns")
        if number == 1 and not _is_number(cells[1]):
            continue  # a header row
        low = high = None
        if len(cells) == 3 and cells[2].strip():
            low, high = _ranks(cells[2], path, number)
        yield number, HumanScore(cells[0].strip(), _number(cells[1], path, number, "score"),
                                 low, high)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
