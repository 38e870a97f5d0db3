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
    metadata field), flagged when its references are degenerate; per segment
    the ``sentence_score``; and, with ``SignificanceOptions``, paired tests
    for ALL pairs of systems (approximate randomization by default, the
    centred paired bootstrap, or sacrebleu's paired bootstrap, which equals
    ``sacrebleu.significance``'s for the same seed and sample count), on
    segments or whole documents, each with Δ and its bootstrap CI, the Monte
    Carlo error of p and the multiplicity-adjusted p; rank clusters by the
    WMT rule (``ScoreReport.cluster_rule`` says how they were formed).
    Inconsistent lengths raise ``MetricError`` naming the system and both
    lengths. A metric that fails
    (``MetricUnavailable``) is listed in ``ScoreReport.unavailable`` with its
    reason instead of failing the call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        SACREBLEU_PAIRED_BOOTSTRAP,
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

# Imported on first use (PEP 562), so that ``evalmt.config`` can use the option
# records without loading numpy and sacrebleu.
_HOME = {"METRICS": "base", "MeanSegmentMetric": "base", "Metric": "base",
         "MetricUnavailable": "base", "build_metrics": "base", "score_systems": "scoring"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'evalmt.metrics' has no attribute {name!r}")
    module = importlib.import_module(f"evalmt.metrics.{_HOME.get(name, 'records')}")
    return getattr(module, name)


__all__ = [
    "APPROXIMATE_RANDOMIZATION",
    "METRICS",
    "PAIRED_BOOTSTRAP",
    "SACREBLEU_PAIRED_BOOTSTRAP",
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
