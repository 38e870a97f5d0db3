"""Degenerate documents: those whose references make a document score meaningless.

A document none of whose references has four tokens has no reference 4-gram,
so its corpus BLEU is 0 (or only what smoothing invents) whatever the
system; with no 3-gram either, even smoothed BLEU says little. An empty
reference makes the segment unscorable. Such documents are flagged (in
``documents.csv``, the notes and the HTML report), not dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

#: The n-gram orders whose absence is flagged (BLEU's 3- and 4-gram precisions).
_ORDERS = (3, 4)


def degenerate_documents(references: Sequence[Sequence[str | None]],
                         documents: Mapping[str, Sequence[int]], *,
                         tokenize: Callable[[str], str]) -> dict[str, str]:
    """Map each degenerate document id to why (e.g. ``"no reference 4-grams"``).

    ``references`` are the reference streams, ``documents`` each document's
    segment indices, ``tokenize`` the BLEU tokenizer (text → space-joined tokens).
    """
    flags: dict[str, str] = {}
    for doc, indices in documents.items():
        longest, empty = 0, 0
        for i in indices:
            refs = [stream[i] for stream in references if stream[i] is not None]
            texts = [r.strip() for r in refs]
            if not any(texts):
                empty += 1
                continue
            longest = max(longest, *(len(tokenize(t).split()) for t in texts))
        reasons = []
        if empty:
            reasons.append(f"empty reference in {empty} of {len(indices)} segment(s)")
        missing = [n for n in _ORDERS if longest < n]
        if missing and empty < len(indices):
            reasons.append(f"no reference {missing[0]}-grams")
        elif missing:
            reasons.append("no reference n-grams")
        if reasons:
            flags[doc] = "; ".join(reasons)
    return flags
