"""The scoring engine: statistics once per (system, metric), every number derived from them.

For each metric the reference streams are cached once; for each system the
per-segment sufficient statistics are extracted once (sacrebleu's
``_extract_corpus_statistics``). Corpus, document and segment scores, the
bootstrap CIs and the paired tests are all computed from those rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Any

import numpy as np

from evalmt.errors import MetricError
from evalmt.metrics.base import MetricSpec
from evalmt.metrics.fast_chrf import FastChrfStatistics
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
from evalmt.metrics.resample import (
    bootstrap_indices,
    estimate_ci,
    group_resampled_sums,
    resampled_sums,
    scores_from_sums,
)
from evalmt.metrics.significance import (
    approximate_randomization_p,
    ar_selectors,
    paired_bootstrap_p,
    rank_clusters,
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


def _signature(obj: Any, **extra: Any) -> str:
    sig = obj.get_signature()
    for key, value in extra.items():
        sig.update(key, value)
    return sig.format()


def _metric_object(spec: MetricSpec, references: ReferenceStreams
                   ) -> tuple[Any, FastChrfStatistics | None]:
    """Build the sacrebleu object (references cached) or pair it with the fast chrF extractor."""
    if spec.cls_path == "CHRF":
        obj = spec.instantiate()
        fast = FastChrfStatistics.build(obj, references)
        if fast is not None:
            # what sacrebleu's _cache_references records for the signature
            counts = {sum(r is not None for r in refs) for refs in zip(*references, strict=True)}
            obj.num_refs = counts.pop() if len(counts) == 1 else -1
            return obj, fast
    return spec.instantiate(references=references), None


def score_systems(*, hypotheses: Mapping[str, Sequence[str]],
                  references: ReferenceStreams,
                  doc_ids: Sequence[str], seg_ids: Sequence[str],
                  metrics: Sequence[MetricSpec],
                  confidence: ConfidenceOptions | None = None,
                  significance: SignificanceOptions | None = None,
                  groups: Mapping[str, Sequence[str]] | None = None) -> ScoreReport:
    """Score every system under every metric; see ``evalmt.metrics`` for the contract.

    ``groups`` maps a grouping name (e.g. a metadata field) to one label per
    segment; each label's segments are scored as one corpus.
    """
    n = _validate(hypotheses, references, doc_ids, seg_ids)
    groupings: dict[str, dict[str, list[int]]] = {}
    for grouping, labels in (groups or {}).items():
        if len(labels) != n:
            raise MetricError(f"groups.{grouping}: {len(labels)} labels for {n} segments")
        groupings[grouping] = _document_groups(labels)
    out = _Rows()
    plan = _Plan(systems=tuple(hypotheses), documents=_document_groups(doc_ids),
                 groupings=groupings, doc_ids=doc_ids, seg_ids=seg_ids,
                 confidence=confidence, significance=significance)
    out.notes.extend(_sample_size_notes(n, len(plan.documents), confidence, significance))
    for spec in metrics:
        out.notes.extend(f"{spec.key}: {note}" for note in spec.notes)
        _score_metric(spec, hypotheses, references, plan, out)
    return ScoreReport(plan.systems, tuple(s.name for s in metrics), tuple(out.corpus),
                       tuple(out.documents), tuple(out.segments), tuple(out.pairwise),
                       tuple(s.higher_is_better for s in metrics), tuple(out.notes),
                       tuple(out.groups))


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


def _grouped(obj: Any, rows: list[list[Any]], members: dict[str, list[int]]
             ) -> list[tuple[str, float, int]]:
    """(label, score, size) per label: sacrebleu's aggregation over that label's rows."""
    return [(label, float(obj._aggregate_and_compute([list(rows[i]) for i in idx]).score),
             len(idx)) for label, idx in members.items()]


def _score_metric(spec: MetricSpec, hypotheses: Mapping[str, Sequence[str]],
                  references: ReferenceStreams, plan: _Plan, out: _Rows) -> None:
    """Extract statistics once per system for one metric and derive every number."""
    obj, fast = _metric_object(spec, references)
    sent_obj = spec.instantiate(references=None, sentence=True)
    sent_obj.num_refs = obj.num_refs
    conf = plan.confidence
    corpus_sig = _signature(obj, **({"bs": conf.samples, "seed": str(conf.seed)} if conf
                                    else {}))
    doc_sig, seg_sig = _signature(obj), _signature(sent_obj)
    arrays: dict[str, np.ndarray] = {}
    scores: dict[str, float] = {}
    ci: dict[str, tuple[float, float, float, float]] = {}
    boot: dict[str, np.ndarray] = {}
    verbose: dict[str, str] = {}
    for system in plan.systems:
        rows = fast.statistics(hypotheses[system]) if fast is not None \
            else obj._extract_corpus_statistics(hypotheses[system], None)
        arrays[system] = np.array(rows)
        result = obj._aggregate_and_compute([list(r) for r in rows])
        scores[system], verbose[system] = float(result.score), getattr(result, "_verbose", "")
        out.documents.extend(DocumentScore(system, spec.name, label, score, size, doc_sig)
                             for label, score, size in _grouped(obj, rows, plan.documents))
        for grouping, members in plan.groupings.items():
            out.groups.extend(GroupScore(system, spec.name, grouping, label, score, size,
                                         doc_sig)
                              for label, score, size in _grouped(obj, rows, members))
        out.segments.extend(
            SegmentScore(system, spec.name, str(plan.doc_ids[i]), str(plan.seg_ids[i]),
                         float(sent_obj._compute_score_from_stats(list(row)).score), seg_sig)
            for i, row in enumerate(rows))
        if plan.seg_idxs is not None:
            boot[system] = scores_from_sums(obj, resampled_sums(arrays[system], plan.seg_idxs))
            ci[system] = estimate_ci(boot[system])
        elif plan.doc_idxs is not None:
            doc_stats = np.stack([arrays[system][idx].sum(0) for idx in plan.documents.values()])
            ci[system] = estimate_ci(scores_from_sums(
                obj, group_resampled_sums(doc_stats, plan.doc_idxs)))
    clusters: dict[str, int] = {}
    sig = plan.significance
    if sig and len(plan.systems) > 1:
        p_values = _pairwise(spec, obj, plan.systems, arrays, scores, boot, plan.seg_idxs,
                             conf, sig, out.pairwise)
        clusters = rank_clusters(scores, p_values, higher_is_better=spec.higher_is_better,
                                 alpha=sig.alpha)
    elif sig:
        clusters = {plan.systems[0]: 1}
    for system in plan.systems:
        low, high, mean, half = ci.get(system, (None, None, None, None))
        out.corpus.append(CorpusScore(system, spec.name, scores[system], corpus_sig,
                                      verbose[system], low, high, mean, half,
                                      conf.unit if conf else None, clusters.get(system)))


def _pairwise(spec: MetricSpec, obj: Any, systems: tuple[str, ...],
              arrays: dict[str, np.ndarray], scores: dict[str, float],
              boot: dict[str, np.ndarray], seg_idxs: np.ndarray | None,
              confidence: ConfidenceOptions | None, significance: SignificanceOptions,
              out: list[PairwiseTest]) -> dict[frozenset[str], float]:
    """Run the requested tests for all pairs; return the p-values used for clusters."""
    n = len(next(iter(arrays.values())))
    # sacrebleu's PairedTest passes ``seed if seed else None``: seed 0 means unseeded.
    seed = significance.seed or None
    first: dict[frozenset[str], float] = {}
    for method in significance.methods:
        samples = significance.samples_for(method)
        test = "bs" if method == PAIRED_BOOTSTRAP else "ar"
        sig = _signature(obj, seed=str(seed).lower(), **{test: samples})
        if method == PAIRED_BOOTSTRAP:
            reuse = (seg_idxs is not None and confidence is not None
                     and confidence.samples == samples and confidence.seed == significance.seed)
            if reuse:
                samples_scores = boot
            else:
                idxs = bootstrap_indices(n, samples, seed)
                samples_scores = {s: scores_from_sums(obj, resampled_sums(arrays[s], idxs))
                                  for s in systems}
        else:
            pos_sel = ar_selectors(n, samples, seed)
        for a, b in combinations(systems, 2):
            if method == PAIRED_BOOTSTRAP:
                p = paired_bootstrap_p(samples_scores[a], samples_scores[b], scores[a], scores[b])
            else:
                p = approximate_randomization_p(obj, arrays[a], arrays[b], scores[a],
                                                scores[b], pos_sel)
            out.append(PairwiseTest(spec.name, a, b, scores[a], scores[b],
                                    APPROXIMATE_RANDOMIZATION if test == "ar" else method,
                                    samples, significance.seed, p, sig))
            first.setdefault(frozenset((a, b)), p)
    return first
