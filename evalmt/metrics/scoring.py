"""The scoring engine: statistics once per (system, metric), every number derived from them.

Each metric (``evalmt.metrics.base.Metric``) gives one row of sufficient
statistics per segment for every system in one call (so references are
cached, and neural inputs deduplicated, once). Corpus, document, group and
segment scores, the bootstrap CIs and the paired tests are all computed from
those rows. A metric that cannot be computed (``MetricUnavailable``: out of
memory, crash, timeout...) is reported as unavailable with its reason; the
other metrics are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from evalmt.errors import MetricError
from evalmt.metrics.base import Metric, MetricUnavailable
from evalmt.metrics.documents import degenerate_documents
from evalmt.metrics.pairwise import (
    cluster_rule,
    compare_all_pairs,
    resolution_note,
    resolve_unit,
)
from evalmt.metrics.records import (
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
from evalmt.metrics.resample import (
    bootstrap_indices,
    estimate_ci,
    group_resampled_sums,
    resampled_sums,
    scores_from_sums,
)


def _is_text(text: str) -> bool:
    """Tell whether ``text`` is encodable (no lone surrogates smuggled in via JSON escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _validate(hypotheses: Mapping[str, Sequence[str]],
              references: ReferenceStreams,
              doc_ids: Sequence[str], seg_ids: Sequence[str]) -> int:
    """Check shapes at the boundary; return the number of segments."""
    if isinstance(references, str) or not references:
        raise MetricError("references: expected one or more reference streams "
                          "(a list of lists of strings), got none")
    n = len(references[0])
    if n == 0:
        raise MetricError("references: the reference streams are empty")
    for i, stream in enumerate(references):
        if isinstance(stream, str):
            raise MetricError(f"references[{i}]: expected a list of strings (one stream), "
                              "got a single string")
        if len(stream) != n:
            raise MetricError(f"references[{i}] has {len(stream)} segments, "
                              f"references[0] has {n}")
    for j, refs in enumerate(zip(*references, strict=True)):
        if all(r is None for r in refs):
            raise MetricError(f"references: segment {j} has no reference in any stream")
        if not all(r is None or _is_text(r) for r in refs):
            raise MetricError(f"references: segment {j} holds a lone surrogate "
                              "(not valid Unicode text)")
    if not hypotheses:
        raise MetricError("hypotheses: no systems to score")
    for name, hyps in hypotheses.items():
        if isinstance(hyps, str) or len(hyps) != n:
            got = "a single string" if isinstance(hyps, str) else f"{len(hyps)} segments"
            raise MetricError(f"system {name!r}: {got} in hypotheses but {n} in references")
        bad = next((i for i, h in enumerate(hyps) if not isinstance(h, str)), None)
        if bad is not None:
            raise MetricError(f"system {name!r}: hypothesis {bad} is {hyps[bad]!r}, "
                              "expected a string")
        bad = next((i for i, h in enumerate(hyps) if not _is_text(h)), None)
        if bad is not None:
            raise MetricError(f"system {name!r}: hypothesis {bad} holds a lone surrogate "
                              "(not valid Unicode text)")
    for label, ids in (("doc_ids", doc_ids), ("seg_ids", seg_ids)):
        if len(ids) != n:
            raise MetricError(f"{label}: {len(ids)} ids for {n} segments")
    return n


def _document_groups(doc_ids: Sequence[str]) -> dict[str, list[int]]:
    """Segment indices of each label (document id), in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(doc_ids):
        groups.setdefault(str(d), []).append(i)
    return groups


def score_systems(*, hypotheses: Mapping[str, Sequence[str]],
                  references: ReferenceStreams,
                  doc_ids: Sequence[str], seg_ids: Sequence[str],
                  metrics: Sequence[Metric],
                  sources: Sequence[str] | None = None,
                  confidence: ConfidenceOptions | None = None,
                  significance: SignificanceOptions | None = None,
                  groups: Mapping[str, Sequence[str]] | None = None) -> ScoreReport:
    """Score every system under every metric; see ``evalmt.metrics`` for the contract.

    ``sources`` (one per segment) are needed by source-aware metrics (COMET,
    MetricX). ``groups`` maps a grouping name (e.g. a metadata field) to one
    label per segment; each label's segments are scored as one corpus.
    """
    n = _validate(hypotheses, references, doc_ids, seg_ids)
    if sources is not None and len(sources) != n:
        raise MetricError(f"sources: {len(sources)} segments, the references have {n}")
    groupings: dict[str, dict[str, list[int]]] = {}
    for grouping, labels in (groups or {}).items():
        if len(labels) != n:
            raise MetricError(f"groups.{grouping}: {len(labels)} labels for {n} segments")
        groupings[grouping] = _document_groups(labels)
    out = _Rows()
    documents = _document_groups(doc_ids)
    unit, unit_note = resolve_unit(significance, len(documents)) if significance \
        else ("segment", None)
    plan = _Plan(systems=tuple(hypotheses), documents=documents,
                 groupings=groupings, doc_ids=doc_ids, seg_ids=seg_ids,
                 confidence=confidence, significance=significance, test_unit=unit,
                 test_unit_note=unit_note,
                 flags=degenerate_documents(references, documents,
                                            tokenize=_bleu_tokenizer(metrics)))
    out.notes.extend(_sample_size_notes(n, len(plan.documents), confidence, significance))
    if plan.test_unit_note:
        out.notes.append(plan.test_unit_note)
    out.notes.extend(f"document {doc}: {flag}; its scores mean little whatever the system"
                     for doc, flag in plan.flags.items())
    scored: list[Metric] = []
    for metric in metrics:
        out.notes.extend(f"{metric.key}: {note}" for note in metric.notes)
        try:
            metric.load()
            arrays = metric.statistics(sources=list(sources) if sources is not None
                                       else [""] * n, hypotheses=hypotheses,
                                       references=references)
        except MetricUnavailable as exc:
            out.unavailable.append((metric.name, exc.reason))
            out.notes.append(f"{metric.key}: n/a ({exc.reason})"
                             + (f": {exc.detail}" if exc.detail else ""))
            continue
        _score_metric(metric, arrays, references, plan, out)
        scored.append(metric)
    pairs = len(plan.systems) * (len(plan.systems) - 1) // 2
    rule = cluster_rule(significance, plan.test_unit, pairs) \
        if significance and pairs and scored else ""
    note = resolution_note(significance, pairs) if rule else None
    if note:
        out.notes.append(note)
    return ScoreReport(plan.systems, tuple(m.name for m in scored), tuple(out.corpus),
                       tuple(out.documents), tuple(out.segments), tuple(out.pairwise),
                       tuple(m.higher_is_better for m in scored), tuple(out.notes),
                       tuple(out.groups), tuple(out.unavailable), rule)


#: Below this many resampling units a bootstrap CI or p-value is shown but flagged.
FEW_UNITS = 10


def _sample_size_notes(n_segments: int, n_documents: int, confidence: ConfidenceOptions | None,
                       significance: SignificanceOptions | None) -> list[str]:
    """Flag intervals and tests computed from too few resampling units to mean much."""
    notes = []
    if confidence and confidence.unit == "document" and n_documents < FEW_UNITS:
        notes.append(f"confidence: the document bootstrap resamples only {n_documents} "
                     "document(s); its intervals are degenerate or meaningless"
                     + (" (one document: every resample is the whole test set)"
                        if n_documents == 1 else ""))
    elif (confidence or significance) and n_segments < FEW_UNITS:
        notes.append(f"only {n_segments} segment(s): bootstrap intervals and p-values "
                     "are illustrations, not evidence")
    return notes


@dataclass
class _Rows:
    """Result rows collected while scoring (frozen into the ScoreReport at the end)."""

    corpus: list[CorpusScore] = field(default_factory=list)
    documents: list[DocumentScore] = field(default_factory=list)
    groups: list[GroupScore] = field(default_factory=list)
    segments: list[SegmentScore] = field(default_factory=list)
    pairwise: list[PairwiseTest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Plan:
    """What to compute, shared by every metric; resample indices drawn once."""

    systems: tuple[str, ...]
    documents: dict[str, list[int]]
    groupings: dict[str, dict[str, list[int]]]
    doc_ids: Sequence[str]
    seg_ids: Sequence[str]
    confidence: ConfidenceOptions | None
    significance: SignificanceOptions | None
    test_unit: str = "segment"
    test_unit_note: str | None = None
    flags: dict[str, str] = field(default_factory=dict)

    @cached_property
    def seg_idxs(self) -> np.ndarray | None:
        """Segment bootstrap indices (sacrebleu's draw), or None."""
        c = self.confidence
        return bootstrap_indices(len(self.doc_ids), c.samples, c.seed) \
            if c and c.unit == "segment" else None

    @cached_property
    def doc_idxs(self) -> np.ndarray | None:
        """Document (cluster) bootstrap indices, or None."""
        c = self.confidence
        return bootstrap_indices(len(self.documents), c.samples, c.seed) \
            if c and c.unit == "document" else None


def _grouped(metric: Metric, rows: np.ndarray, members: dict[str, list[int]]
             ) -> list[tuple[str, float, int]]:
    """(label, score, size) per label: the metric's aggregation over that label's rows."""
    return [(label, metric.aggregate(rows[idx])[0], len(idx)) for label, idx in members.items()]


def _resampled(metric: Metric, stats: np.ndarray, idxs: np.ndarray) -> np.ndarray:
    """Sum statistics per resample: float32 as sacrebleu for its metrics, else float64."""
    return resampled_sums(stats, idxs) if metric.float32_resampling \
        else group_resampled_sums(stats, idxs)


def _score_metric(metric: Metric, arrays: dict[str, np.ndarray], references: ReferenceStreams,
                  plan: _Plan, out: _Rows) -> None:
    """Derive every number of one metric from its per-system statistics."""
    conf = plan.confidence
    corpus_sig = metric.signature(references=references, **(
        {"bs": conf.samples, "seed": str(conf.seed)} if conf else {}))
    doc_sig = metric.signature(references=references)
    seg_sig = metric.signature(references=references, segment=True)
    scores: dict[str, float] = {}
    ci: dict[str, tuple[float, float, float, float]] = {}
    boot: dict[str, np.ndarray] = {}
    verbose: dict[str, str] = {}
    details = metric.segment_details()
    for system in plan.systems:
        rows = arrays[system]
        scores[system], verbose[system] = metric.aggregate(rows)
        out.documents.extend(DocumentScore(system, metric.name, label, score, size, doc_sig,
                                           plan.flags.get(label, ""))
                             for label, score, size in _grouped(metric, rows, plan.documents))
        for grouping, members in plan.groupings.items():
            out.groups.extend(GroupScore(system, metric.name, grouping, label, score, size,
                                         doc_sig)
                              for label, score, size in _grouped(metric, rows, members))
        extra = details.get(system, {})
        out.segments.extend(
            SegmentScore(system, metric.name, str(plan.doc_ids[i]), str(plan.seg_ids[i]),
                         metric.segment_score(row), seg_sig,
                         {k: v[i] for k, v in extra.items()} or None)
            for i, row in enumerate(rows))
        if plan.seg_idxs is not None:
            boot[system] = scores_from_sums(metric, _resampled(metric, rows, plan.seg_idxs))
            ci[system] = estimate_ci(boot[system])
        elif plan.doc_idxs is not None:
            doc_stats = np.stack([rows[idx].sum(0) for idx in plan.documents.values()])
            ci[system] = estimate_ci(scores_from_sums(
                metric, group_resampled_sums(doc_stats, plan.doc_idxs)))
    clusters: dict[str, int] = {}
    ranges: dict[str, tuple[int, int]] = {}
    sig = plan.significance
    if sig and len(plan.systems) > 1:
        reuse = plan.seg_idxs is not None and conf is not None \
            and conf.samples == sig.bootstrap_samples and conf.seed == sig.seed
        result = compare_all_pairs(
            metric=metric.name, arrays=arrays, scores=scores, documents=plan.documents,
            options=sig, score_rows=metric.scores_from_statistics,
            higher_is_better=metric.higher_is_better, unit=plan.test_unit,
            signature=lambda **extra: metric.signature(references=references, **extra),
            float32=metric.float32_resampling, segment_bootstrap=boot if reuse else None)
        out.pairwise.extend(result.tests)
        clusters, ranges = result.clusters, result.rank_ranges or {}
    elif sig:
        clusters = {plan.systems[0]: 1}
    for system in plan.systems:
        low, high, mean, half = ci.get(system, (None, None, None, None))
        rank_low, rank_high = ranges.get(system, (None, None))
        out.corpus.append(CorpusScore(system, metric.name, scores[system], corpus_sig,
                                      verbose[system], low, high, mean, half,
                                      conf.unit if conf else None, clusters.get(system),
                                      rank_low, rank_high))


def _bleu_tokenizer(metrics: Sequence[Metric]) -> Any:
    """Return the first BLEU metric's tokenizer (reference n-grams are counted in it), or 13a."""
    for metric in metrics:
        tokenizer = getattr(metric, "reference_tokenizer", lambda: None)()
        if tokenizer is not None:
            return tokenizer
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()
