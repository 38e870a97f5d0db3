"""Vectorised chrF statistics extraction, identical to sacrebleu's ``CHRF``.

sacrebleu counts character n-grams with one ``Counter`` per segment and order
and matches them in a Python loop. Here each n-gram is packed into an
integer key ``(segment << bits·n) | chars``, and per order one sort plus one
binary search against the (cached) reference keys gives the clipped match
counts of all segments at once. The result is the same integer statistics
sacrebleu produces, so every score is unchanged (tested against
``CHRF._extract_corpus_statistics``). Used only where it is provably the
same computation: character orders only (``word_order == 0``) and keys that
fit in 63 bits; otherwise the caller falls back to sacrebleu.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_KEY_BITS = 63


def _prepare(metric: Any, text: str) -> str:
    text = metric._preprocess_segment(text)
    return text if metric.whitespace else "".join(text.split())


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all texts concatenated, and each text's start offset (len+1)."""
    joined = "".join(texts).encode("utf-32-le")
    codes = np.frombuffer(joined, dtype=np.uint32)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return codes, starts


class FastChrfStatistics:
    """chrF statistics for many systems against fixed reference streams.

    Build with ``FastChrfStatistics.build(metric, references)``; returns
    ``None`` when the fast path does not apply (word n-grams, or an alphabet
    too large for the key width). ``statistics(hypotheses)`` returns the same
    list of lists of ints as sacrebleu's ``_extract_corpus_statistics``.
    """

    def __init__(self, metric: Any, streams: list[list[str | None]], alphabet: np.ndarray,
                 bits: int) -> None:
        self.metric = metric
        self.order = metric.char_order
        self.bits = bits
        self.alphabet = alphabet
        self.n = len(streams[0])
        self.valid = [np.array([r is not None for r in s]) for s in streams]
        self.refs = [self._index([r if r is not None else "" for r in s]) for s in streams]

    @classmethod
    def build(cls, metric: Any, references: Sequence[Sequence[str | None]]
              ) -> FastChrfStatistics | None:
        """Prepare the reference side, or return None if the fast path does not apply."""
        if metric.word_order != 0:
            return None
        streams = [[_prepare(metric, r) if r is not None else None for r in s]
                   for s in references]
        try:
            codes, _ = _codepoints([r for s in streams for r in s if r is not None])
        except UnicodeEncodeError:
            return None
        alphabet = np.unique(codes)
        return cls._maybe(metric, streams, alphabet)

    @classmethod
    def _maybe(cls, metric: Any, streams: list[list[str | None]],
               alphabet: np.ndarray) -> FastChrfStatistics | None:
        # ids 1..A for reference characters; 0 for characters no reference has.
        bits = max(1, int(len(alphabet) + 1).bit_length())
        seg_bits = max(1, int(len(streams[0])).bit_length())
        if seg_bits + bits * metric.char_order > _KEY_BITS:
            return None
        return cls(metric, streams, alphabet, bits)

    def _ids(self, codes: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.alphabet, codes)
        pos_c = np.minimum(pos, len(self.alphabet) - 1) if len(self.alphabet) else pos
        known = (self.alphabet[pos_c] == codes) if len(self.alphabet) else np.zeros(
            len(codes), dtype=bool)
        return np.where(known, pos_c + 1, 0).astype(np.uint64)

    def _keys(self, texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        """Per order: the packed n-gram keys of all texts; and each text's length."""
        codes, starts = _codepoints(texts)
        ids = self._ids(codes)
        lengths = np.diff(starts)
        seg_of = np.repeat(np.arange(len(texts), dtype=np.uint64), lengths)
        end_of = np.repeat(starts[1:], lengths)
        positions = np.arange(len(codes), dtype=np.int64)
        keys, gram = [], np.zeros(len(codes), dtype=np.uint64)
        for n in range(1, self.order + 1):
            shift = np.uint64(self.bits * (n - 1))
            ok = positions + n <= end_of
            nxt = np.zeros(len(codes), dtype=np.uint64)
            m = max(len(codes) - n + 1, 0)
            nxt[:m] = ids[n - 1:n - 1 + m]
            gram = gram | (nxt << shift)
            keys.append((seg_of[ok] << np.uint64(self.bits * n)) | gram[ok])
        return keys, lengths

    def _index(self, refs: list[str]) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        keys, lengths = self._keys(refs)
        return [np.unique(k, return_counts=True) for k in keys], lengths

    def _stream_stats(self, hyp_keys: list[np.ndarray], hyp_len: np.ndarray,
                      ref: tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]) -> np.ndarray:
        """[hyp, ref, match] per order for every segment against one reference stream."""
        ref_index, ref_len = ref
        out = np.zeros((self.n, 3 * self.order), dtype=np.int64)
        for i, n in enumerate(range(1, self.order + 1)):
            uk_r, c_r = ref_index[i]
            uk_h, c_h = np.unique(hyp_keys[i], return_counts=True)
            match = np.zeros(self.n, dtype=np.int64)
            if len(uk_r) and len(uk_h):
                pos = np.minimum(np.searchsorted(uk_r, uk_h), len(uk_r) - 1)
                found = uk_r[pos] == uk_h
                seg = (uk_h[found] >> np.uint64(self.bits * n)).astype(np.int64)
                clipped = np.minimum(c_h[found], c_r[pos[found]])
                match = np.bincount(seg, weights=clipped, minlength=self.n).astype(np.int64)
            n_ref = np.maximum(ref_len - n + 1, 0)
            # sacrebleu: hyp count is 0 when the reference has no n-gram of this order
            out[:, 3 * i] = np.where(n_ref > 0, np.maximum(hyp_len - n + 1, 0), 0)
            out[:, 3 * i + 1] = n_ref
            out[:, 3 * i + 2] = match
        return out

    def statistics(self, hypotheses: Sequence[str]) -> list[list[int]]:
        """Per-segment [hyp, ref, match] × order, as sacrebleu extracts them."""
        # Lone surrogates (which _keys cannot encode) are rejected by scoring._validate.
        hyp_keys, hyp_len = self._keys([_prepare(self.metric, h) for h in hypotheses])
        per_stream = [self._stream_stats(hyp_keys, hyp_len, ref) for ref in self.refs]
        if len(per_stream) == 1:
            return per_stream[0].tolist()
        rows = []
        lists = [s.tolist() for s in per_stream]
        for j in range(self.n):
            best, best_f = [], -1.0  # sacrebleu keeps the first reference with the best f
            for k, stream in enumerate(lists):
                if not self.valid[k][j]:
                    continue
                f = self.metric._compute_f_score(stream[j])
                if f > best_f:
                    best, best_f = stream[j], f
            rows.append(best)
        return rows
