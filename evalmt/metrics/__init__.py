"""Metrics stage: scores, CIs and paired tests from per-segment sufficient statistics.

Public API (everything keyword-only where arguments could be swapped):

``build_metrics(names, *, tgt_lang, options=None) -> list[Metric]``
    Names ``"bleu"``, ``"chrf"``, ``"chrf++"``, ``"ter"`` (sacrebleu-exact),
    ``"comet"`` and ``"metricx"`` (neural, mean of segment scores; run in a
    worker process) — the ``METRICS`` registry; a typo gets a did-you-mean
    ``RegistryError``. Options are checked, nothing is loaded. The BLEU
    tokenizer follows the target language as sacrebleu's ``-l`` does (13a,
    ``zh`` for Chinese, ``ja-mecab``/``ko-mecab`` when installed, else 13a
    with a note), overridable with ``options={"bleu": {"tokenize": ...}}``.
    The protocol (``Metric``, ``MeanSegmentMetric``) is in ``metrics/base.py``.

``score_systems(*, hypotheses, references, doc_ids, seg_ids, metrics,
sources=None, confidence=None, significance=None, groups=None) -> ScoreReport``
    ``hypotheses`` maps system name to one string per segment; ``sources``
    (one per segment) feed source-aware metrics;
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
    ``MetricError`` naming the system and both lengths. A metric that fails
    (``MetricUnavailable``) is listed in ``ScoreReport.unavailable`` with its
    reason instead of failing the call.
"""

from evalmt.metrics.base import (
    METRICS,
    MeanSegmentMetric,
    Metric,
    MetricUnavailable,
    build_metrics,
)
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
    "MeanSegmentMetric",
    "Metric",
    "MetricUnavailable",
    "PairwiseTest",
    "ReferenceStreams",
    "ScoreReport",
    "SegmentScore",
    "SignificanceOptions",
    "build_metrics",
    "score_systems",
]
