"""Measure the bilingual-page aligner against the hand-made gold set in one run.

Reads every page of tests/data/bilingual/gold/ with the ``bilingual-txt``
reader and prints pair precision and recall (a pair counts only when its zh
and en lines equal the gold's), pages flagged, pages with a silently wrong
pair, and the time per page. The first page read also pays for loading the
dictionary (printed separately); the per-page time is the median of
``--repeat`` further passes over all pages.

    python scripts/bench/align.py [--repeat 3] [--verbose]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from evalmt.data.alignment_gold import (
    is_flagged,
    predicted_pairs,
    read_gold,
    score_pages,
)
from evalmt.data.bilingual import BilingualTxtConfig, read_document

GOLD = Path(__file__).resolve().parents[2] / "tests" / "data" / "bilingual" / "gold"


def main() -> None:
    """Read the gold pages, score them and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over all pages")
    parser.add_argument("--verbose", action="store_true", help="print each page's errors")
    args = parser.parse_args()
    config = BilingualTxtConfig(name="gold", path=str(GOLD))
    pages = sorted(GOLD.glob("*.gold"))
    golds = {p.stem: read_gold(p) for p in pages}
    start = time.perf_counter()
    docs = {p.stem: read_document(p.with_suffix(".txt"), config) for p in pages[:1]}
    first = time.perf_counter() - start
    docs.update({p.stem: read_document(p.with_suffix(".txt"), config) for p in pages})
    passes = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for p in pages:
            read_document(p.with_suffix(".txt"), config)
        passes.append((time.perf_counter() - start) / len(pages))
    score = score_pages(docs, golds)
    print(f"pages                 {score.pages}")
    print(f"gold pairs            {score.gold_pairs}")
    print(f"scored pairs          {score.predicted} ({score.correct} correct)")
    print(f"pair precision        {score.precision:.3f}")
    print(f"pair recall           {score.recall:.3f}")
    print(f"pages flagged         {score.pages_flagged}")
    print(f"pages silently wrong  {score.pages_silently_wrong}")
    print(f"first page (loading)  {first * 1000:.0f} ms")
    print(f"time per page         {statistics.median(passes) * 1000:.1f} ms "
          f"(median of {args.repeat} passes)")
    if args.verbose:
        for stem, gold in golds.items():
            got = predicted_pairs(docs[stem])
            if got != gold or is_flagged(docs[stem]):
                print(f"{stem}: wrong {sorted(got - gold)} missed {sorted(gold - got)}"
                      f"{'  [flagged]' if is_flagged(docs[stem]) else ''}")


if __name__ == "__main__":
    main()
