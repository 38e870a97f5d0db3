"""Hand-made gold alignments of bilingual pages and the pair precision/recall against them.

A gold file (``PAGE.gold`` next to ``PAGE.txt``) has ``#`` comment lines and
one line per valid pair, ``ZH_LINES<TAB>EN_LINES`` with 1-based line numbers
of the page, several lines joined by ``,`` (``2<TAB>7,8`` is a 1-2 split). A
gold file naming no pair says the page has no trustworthy pair at all.

A predicted pair counts as correct only when its Chinese lines and English
lines both equal a gold pair's (the definition of issue #15).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from evalmt.data.model import Document
from evalmt.errors import DataError

Pair = tuple[tuple[int, ...], tuple[int, ...]]  # (zh lines, en lines)


def _lines(text: str, *, path: Path, number: int) -> tuple[int, ...]:
    try:
        lines = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise DataError(f"{path}:{number}: expected line numbers like 3 or 7,8, "
                        f"got {text!r}") from None
    if not lines or min(lines) < 1:
        raise DataError(f"{path}:{number}: line numbers start at 1, got {text!r}")
    return lines


def read_gold(path: Path) -> frozenset[Pair]:
    """Read one ``.gold`` file into a set of (zh lines, en lines) pairs."""
    pairs: set[Pair] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = raw.strip().split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected ZH_LINES<TAB>EN_LINES, got {raw!r}")
        pairs.add((_lines(parts[0], path=path, number=number),
                   _lines(parts[1], path=path, number=number)))
    return frozenset(pairs)


def predicted_pairs(doc: Document, *, src_is_zh: bool = True) -> frozenset[Pair]:
    """Return the pairs a document's segments score: all but whole-document segments."""
    pairs = set()
    for seg in doc.segments:
        if seg.meta.get("alignment") == "whole-document":
            continue
        src, ref = tuple(seg.meta["src_lines"]), tuple(seg.meta["ref_lines"])
        pairs.add((src, ref) if src_is_zh else (ref, src))
    return frozenset(pairs)


@dataclass(frozen=True)
class GoldScore:
    """Pair precision/recall over pages, and how many pages were flagged or silently wrong."""

    pages: int
    gold_pairs: int
    predicted: int
    correct: int
    pages_flagged: int
    pages_silently_wrong: int

    @property
    def precision(self) -> float:
        """Correct pairs among the scored (unflagged) pairs (1.0 when nothing is scored)."""
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Correct scored pairs among the gold pairs (1.0 when the gold has none)."""
        return self.correct / self.gold_pairs if self.gold_pairs else 1.0


def is_flagged(doc: Document) -> bool:
    """Whether the reader flagged anything on this page (low-confidence pair or no pair)."""
    meta = doc.meta
    return bool(meta.get("doc_level_only") or meta.get("flagged_pairs")
                or meta.get("no_trustworthy_pair"))


def score_pages(docs: Mapping[str, Document], golds: Mapping[str, frozenset[Pair]],
                *, src_is_zh: bool = True) -> GoldScore:
    """Compare each document (by doc id) with its gold pairs."""
    gold_total = predicted = correct = flagged = wrong = 0
    for doc_id, gold in golds.items():
        doc = docs[doc_id]
        got = predicted_pairs(doc, src_is_zh=src_is_zh)
        gold_total += len(gold)
        predicted += len(got)
        correct += len(got & gold)
        flagged += is_flagged(doc)
        wrong += bool(got - gold)
    return GoldScore(len(golds), gold_total, predicted, correct, flagged, wrong)


def gold_pages(folder: Path) -> Iterable[tuple[Path, Path]]:
    """(page, gold) file pairs of a gold folder, sorted by name."""
    for gold in sorted(folder.glob("*.gold")):
        page = gold.with_suffix(".txt")
        if not page.is_file():
            raise DataError(f"{gold}: no page {page.name} next to it")
        yield page, gold
