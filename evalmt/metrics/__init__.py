"""Metrics stage: sacrebleu-exact scores, CIs and paired tests from sufficient statistics.

Public API (everything keyword-only where arguments could be swapped):

``build_metrics(names, *, tgt_lang, options=None) -> list[MetricSpec]``
    Names ``"bleu"``, ``"chrf"``, ``"chrf++"``, ``"ter"`` (the ``METRICS``
    registry; a typo gets a did-you-mean ``RegistryError``). The BLEU
    tokenizer follows the target language as sacrebleu's ``-l`` does (13a,
    ``zh`` for Chinese, ``ja-mecab``/``ko-mecab`` when installed, else 13a
    with a note), overridable with ``options={"bleu": {"tokenize": ...}}``.

``score_systems(*, hypotheses, references, doc_ids, seg_ids, metrics,
confidence=None, significance=None, groups=None) -> ScoreReport``
    ``hypotheses`` maps system name to one string per segment;
    ``references`` is a list of reference STREAMS as in sacrebleu (one list
    per stream, each as long as the hypotheses; ``None`` marks a missing
    reference). ``doc_ids``/``seg_ids`` give each segment's ids. The report
    holds, per (system, metric), the corpus score (equal to sacrebleu's
    ``corpus_score``), its bootstrap CI (``ConfidenceOptions``: segment
    bootstrap equal to sacrebleu's ``n_bootstrap``, or document/cluster
    bootstrap) and its rank cluster; per document the true corpus score of
    that document (likewise per label of each ``groups`` grouping, e.g. a
    metadata field); per segment the ``sentence_score``; and, with
    ``SignificanceOptions``, paired-bootstrap and/or approximate-randomization
    p-values for ALL pairs of systems, equal to ``sacrebleu.significance``'s
    for the same seed and sample count. Inconsistent lengths raise
    ``MetricError`` naming the system and both lengths.
"""

from evalmt.metrics.base import METRICS, MetricSpec, build_metrics, tokenizer_for
from evalmt.metrics.records import (
    APPROXIMATE_RANDOMIZATION,
    PAIRED_BOOTSTRAP,
    ConfidenceOptions,
    CorpusScore,
    DocumentScore,
    GroupScore,
    PairwiseTest,
    ReferenceStreams,
    ScoreReport,
    SegmentScore,
    SignificanceOptions,
)
from evalmt.metrics.scoring import score_systems

__all__ = [
    "APPROXIMATE_RANDOMIZATION",
    "METRICS",
    "PAIRED_BOOTSTRAP",
    "ConfidenceOptions",
    "CorpusScore",
    "DocumentScore",
    "GroupScore",
    "MetricSpec",
    "PairwiseTest",
    "ReferenceStreams",
    "ScoreReport",
    "SegmentScore",
    "SignificanceOptions",
    "build_metrics",
    "score_systems",
    "tokenizer_for",
]
