"""Immutable result records of scoring: options in, ``ScoreReport`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalmt.errors import MetricError

#: Reference streams, as sacrebleu takes them: one list per reference
#: translation, each as long as the hypotheses; ``None`` marks a segment that
#: lacks that reference.
ReferenceStreams = Sequence[Sequence[str | None]]

PAIRED_BOOTSTRAP = "paired-bootstrap"
APPROXIMATE_RANDOMIZATION = "approximate-randomization"
# sacrebleu.significance.PairedTest._DEFAULT_SAMPLES
DEFAULT_SAMPLES = {PAIRED_BOOTSTRAP: 1000, APPROXIMATE_RANDOMIZATION: 10000}
DEFAULT_SEED = 12345  # sacrebleu's default SACREBLEU_SEED


@dataclass(frozen=True)
class ConfidenceOptions:
    """Bootstrap 95% confidence intervals.

    ``unit="segment"`` resamples segments exactly as sacrebleu's
    ``corpus_score(n_bootstrap=samples)`` does with ``SACREBLEU_SEED=seed``;
    ``unit="document"`` resamples whole documents (cluster bootstrap).
    """

    samples: int = 1000
    seed: int = DEFAULT_SEED
    unit: Literal["segment", "document"] = "segment"

    def __post_init__(self) -> None:
        if self.samples < 2:
            raise MetricError(f"confidence.samples must be >= 2, got {self.samples}")
        if self.unit not in ("segment", "document"):
            raise MetricError(f"confidence.unit must be 'segment' or 'document', got {self.unit!r}")


@dataclass(frozen=True)
class SignificanceOptions:
    """Paired tests between all pairs of systems, as ``sacrebleu.significance.PairedTest``.

    ``method`` is ``"paired-bootstrap"``, ``"approximate-randomization"`` or
    ``"both"``; ``samples=None`` uses sacrebleu's defaults (1000 / 10000).
    ``alpha`` is the level used for rank clusters.
    """

    method: Literal["paired-bootstrap", "approximate-randomization", "both"] = PAIRED_BOOTSTRAP
    samples: int | None = None
    seed: int = DEFAULT_SEED
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.method not in (PAIRED_BOOTSTRAP, APPROXIMATE_RANDOMIZATION, "both"):
            raise MetricError(f"significance.method must be paired-bootstrap, "
                              f"approximate-randomization or both, got {self.method!r}")
        if self.samples is not None and self.samples < 1:
            raise MetricError(f"significance.samples must be >= 1, got {self.samples}")
        if not 0 < self.alpha < 1:
            raise MetricError(f"significance.alpha must be in (0, 1), got {self.alpha}")

    @property
    def methods(self) -> tuple[str, ...]:
        """The test methods to run."""
        if self.method == "both":
            return (PAIRED_BOOTSTRAP, APPROXIMATE_RANDOMIZATION)
        return (self.method,)

    def samples_for(self, method: str) -> int:
        """Return the number of resamples (bootstrap) or trials (AR) for ``method``."""
        return self.samples if self.samples is not None else DEFAULT_SAMPLES[method]


@dataclass(frozen=True)
class CorpusScore:
    """The corpus score of one system under one metric, with its CI and rank cluster.

    ``ci_low``/``ci_high`` are the 2.5th/97.5th percentile bootstrap scores
    (sacrebleu's ``estimate_ci`` indices); ``ci_mean`` and ``ci_halfwidth``
    are what sacrebleu prints as ``μ = mean ± halfwidth``. ``cluster`` is
    1-based (1 = best), ``None`` without significance testing.
    """

    system: str
    metric: str
    score: float
    signature: str
    verbose: str = ""
    ci_low: float | None = None
    ci_high: float | None = None
    ci_mean: float | None = None
    ci_halfwidth: float | None = None
    ci_unit: str | None = None
    cluster: int | None = None


@dataclass(frozen=True)
class DocumentScore:
    """The true corpus-level score of one document (its summed statistics)."""

    system: str
    metric: str
    doc_id: str
    score: float
    num_segments: int
    signature: str


@dataclass(frozen=True)
class GroupScore:
    """The corpus-level score of the segments sharing a label under a named grouping.

    E.g. ``grouping="alignment"``, ``group="1-2"``: every segment whose
    alignment was 1-2, scored as one corpus (summed statistics).
    """

    system: str
    metric: str
    grouping: str
    group: str
    score: float
    num_segments: int
    signature: str


@dataclass(frozen=True)
class SegmentScore:
    """A segment score (sacrebleu metrics: as its ``sentence_score`` gives it).

    ``detail`` holds extra per-segment output of the metric, e.g. XCOMET's
    ``error_spans``; ``None`` when there is none.
    """

    system: str
    metric: str
    doc_id: str
    seg_id: str
    score: float
    signature: str
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PairwiseTest:
    """A paired significance test between two systems under one metric (p is symmetric)."""

    metric: str
    system_a: str
    system_b: str
    score_a: float
    score_b: float
    method: str
    samples: int
    seed: int
    p_value: float
    signature: str

    @property
    def delta(self) -> float:
        """score_b - score_a."""
        return self.score_b - self.score_a


@dataclass(frozen=True)
class ScoreReport:
    """Everything ``score_systems`` computed; immutable, in system and metric order."""

    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    corpus: tuple[CorpusScore, ...]
    documents: tuple[DocumentScore, ...]
    segments: tuple[SegmentScore, ...]
    pairwise: tuple[PairwiseTest, ...]
    higher_is_better: tuple[bool, ...] = ()
    notes: tuple[str, ...] = ()
    groups: tuple[GroupScore, ...] = ()
    #: (metric display name, reason) of each metric that could not be computed
    unavailable: tuple[tuple[str, str], ...] = ()

    def corpus_score(self, system: str, metric: str) -> CorpusScore:
        """Return the corpus score of ``system`` under ``metric`` (display name, e.g. "BLEU")."""
        for row in self.corpus:
            if row.system == system and row.metric == metric:
                return row
        raise MetricError(f"no score for system {system!r} and metric {metric!r}")

    def p_value(self, metric: str, system_a: str, system_b: str,
                method: str = PAIRED_BOOTSTRAP) -> float:
        """Return the paired-test p-value of two systems (order does not matter)."""
        for t in self.pairwise:
            if t.metric == metric and t.method == method and \
                    {t.system_a, t.system_b} == {system_a, system_b}:
                return t.p_value
        raise MetricError(f"no {method} test for {system_a!r} vs {system_b!r} on {metric!r}")
