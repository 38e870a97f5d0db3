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

#: The correctly centred paired bootstrap: p = share of |Δ* − mean Δ*| ≥ |Δ|.
PAIRED_BOOTSTRAP = "paired-bootstrap"
#: Paired approximate randomization (permutation) test, p = share of |Δ*| ≥ |Δ|.
APPROXIMATE_RANDOMIZATION = "approximate-randomization"
#: sacrebleu's (Moses') paired bootstrap, equal to ``sacrebleu.significance``; for comparability.
SACREBLEU_PAIRED_BOOTSTRAP = "sacrebleu-paired-bootstrap"
METHODS = (APPROXIMATE_RANDOMIZATION, PAIRED_BOOTSTRAP, SACREBLEU_PAIRED_BOOTSTRAP)
# sacrebleu.significance.PairedTest._DEFAULT_SAMPLES
DEFAULT_SAMPLES = {PAIRED_BOOTSTRAP: 1000, SACREBLEU_PAIRED_BOOTSTRAP: 1000,
                   APPROXIMATE_RANDOMIZATION: 10000}
DEFAULT_SEED = 12345  # sacrebleu's default SACREBLEU_SEED
#: With at least this many documents the paired tests permute/resample whole documents.
MIN_DOCUMENTS = 30
CORRECTIONS = ("holm", "bh", "none")


class OptionsError(MetricError, ValueError):
    """Invalid confidence or significance options (a ValueError, so pydantic reports it)."""


# The option records below are plain frozen dataclasses, so ``evalmt.metrics``
# imports without pydantic; ``evalmt.config`` uses them as its ``confidence:``
# and ``significance:`` sections directly (pydantic validates stdlib
# dataclasses field by field and honours ``__pydantic_config__``).


@dataclass(frozen=True)
class ConfidenceOptions:
    """Bootstrap 95% confidence intervals (the ``confidence:`` config section).

    ``unit="segment"`` resamples segments exactly as sacrebleu's
    ``corpus_score(n_bootstrap=samples)`` does with ``SACREBLEU_SEED=seed``;
    ``unit="document"`` resamples whole documents (cluster bootstrap).
    """

    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012 - read by pydantic, never mutated

    method: Literal["bootstrap"] = "bootstrap"
    samples: int = 1000
    seed: int = DEFAULT_SEED
    unit: Literal["segment", "document"] = "segment"

    def __post_init__(self) -> None:
        if self.method != "bootstrap":
            raise OptionsError(f"confidence.method must be 'bootstrap', got {self.method!r}")
        if self.samples < 2:
            raise OptionsError(f"confidence.samples must be >= 2, got {self.samples}")
        if self.unit not in ("segment", "document"):
            raise OptionsError(f"confidence.unit must be 'segment' or 'document', "
                               f"got {self.unit!r}")


@dataclass(frozen=True)
class SignificanceOptions:
    """Paired tests between all pairs of systems and rank clusters (the ``significance:`` section).

    ``method`` is the test whose p-values form the clusters (default
    approximate randomization); ``also`` lists further tests reported in
    ``significance.csv`` (e.g. ``sacrebleu-paired-bootstrap`` for comparison
    with published numbers). ``samples=None`` uses 10000 trials for
    approximate randomization and 1000 resamples for the bootstraps.
    ``unit="auto"`` permutes/resamples whole documents when there are at
    least ``MIN_DOCUMENTS`` of them, else segments (with a note);
    sacrebleu's paired bootstrap always resamples segments, as sacrebleu
    does. ``correction`` adjusts the p-values of all pairs of one metric
    (Holm, Benjamini–Hochberg or none) before the WMT cluster rule compares
    them with ``alpha``. ``rank_ranges`` adds bootstrap 95% rank ranges.
    """

    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012 - read by pydantic, never mutated

    method: Literal["approximate-randomization", "paired-bootstrap",
                    "sacrebleu-paired-bootstrap"] = APPROXIMATE_RANDOMIZATION
    also: tuple[Literal["approximate-randomization", "paired-bootstrap",
                        "sacrebleu-paired-bootstrap"], ...] = ()
    samples: int | None = None
    seed: int = DEFAULT_SEED
    alpha: float = 0.05
    unit: Literal["auto", "segment", "document"] = "auto"
    correction: Literal["holm", "bh", "none"] = "holm"
    rank_ranges: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.also, str):
            object.__setattr__(self, "also", (self.also,))
        else:
            object.__setattr__(self, "also", tuple(self.also))
        for i, name in enumerate((self.method, *self.also)):
            if name not in METHODS:
                key = "significance.method" if i == 0 else f"significance.also.{i - 1}"
                hint = " (the old 'both' is now method: approximate-randomization, also: " \
                       "[sacrebleu-paired-bootstrap])" if name == "both" else ""
                raise OptionsError(f"{key} must be one of {', '.join(METHODS)}, "
                                   f"got {name!r}{hint}")
        if self.method in self.also or len(set(self.also)) != len(self.also):
            raise OptionsError(f"significance.also repeats a test: {list(self.also)!r} "
                               f"(method: {self.method})")
        if self.samples is not None and self.samples < 1:
            raise OptionsError(f"significance.samples must be >= 1, got {self.samples}")
        if not 0 < self.alpha < 1:
            raise OptionsError(f"significance.alpha must be in (0, 1), got {self.alpha}")
        if self.unit not in ("auto", "segment", "document"):
            raise OptionsError(f"significance.unit must be auto, segment or document, "
                               f"got {self.unit!r}")
        if self.correction not in CORRECTIONS:
            raise OptionsError(f"significance.correction must be one of "
                               f"{', '.join(CORRECTIONS)}, got {self.correction!r}")

    @property
    def methods(self) -> tuple[str, ...]:
        """The tests to run, the cluster-forming one first."""
        return (self.method, *self.also)

    def samples_for(self, method: str) -> int:
        """Return the number of resamples (bootstrap) or trials (AR) for ``method``."""
        return self.samples if self.samples is not None else DEFAULT_SAMPLES[method]

    @property
    def bootstrap_samples(self) -> int:
        """Resamples behind each pairwise Δ confidence interval and the rank ranges."""
        return self.samples if self.samples is not None else DEFAULT_SAMPLES[PAIRED_BOOTSTRAP]


@dataclass(frozen=True)
class CorpusScore:
    """The corpus score of one system under one metric, with its CI and rank cluster.

    ``ci_low``/``ci_high`` are the 2.5th/97.5th percentile bootstrap scores
    (sacrebleu's ``estimate_ci`` indices); ``ci_mean`` and ``ci_halfwidth``
    are what sacrebleu prints as ``μ = mean ± halfwidth``. ``cluster`` is
    1-based (1 = best), ``None`` without significance testing;
    ``rank_low``/``rank_high`` the bootstrap 95% rank range when requested.
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
    rank_low: int | None = None
    rank_high: int | None = None


@dataclass(frozen=True)
class DocumentScore:
    """The true corpus-level score of one document (its summed statistics).

    ``flag`` says why the document's score means little whatever the system
    (``"no reference 4-grams"``, ``"empty reference in 2 of 3 segments"``...);
    empty when it is ordinary.
    """

    system: str
    metric: str
    doc_id: str
    score: float
    num_segments: int
    signature: str
    flag: str = ""


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
    """A paired significance test between two systems under one metric (p is symmetric).

    ``delta`` = score_b − score_a with its paired bootstrap 95% interval
    (``delta_ci_low``/``delta_ci_high``, resampling ``unit``s); ``p_value`` is
    the test's Monte Carlo p-value, ``p_mc_error`` its standard error
    ``sqrt(p (1 − p) / samples)``, ``p_adjusted`` the p-value after
    ``correction`` across all pairs of the metric, and ``significant`` whether
    ``p_adjusted < alpha`` and Δ ≠ 0.
    """

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
    unit: str = "segment"
    p_mc_error: float | None = None
    p_adjusted: float | None = None
    correction: str = "none"
    alpha: float | None = None
    significant: bool | None = None
    delta_ci_low: float | None = None
    delta_ci_high: float | None = None

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
    #: Which test, unit, correction and alpha formed the rank clusters ("" without clusters).
    cluster_rule: str = ""

    def corpus_score(self, system: str, metric: str) -> CorpusScore:
        """Return the corpus score of ``system`` under ``metric`` (display name, e.g. "BLEU")."""
        for row in self.corpus:
            if row.system == system and row.metric == metric:
                return row
        raise MetricError(f"no score for system {system!r} and metric {metric!r}")

    def test(self, metric: str, system_a: str, system_b: str,
             method: str = APPROXIMATE_RANDOMIZATION) -> PairwiseTest:
        """Return the paired test of two systems (order does not matter)."""
        for t in self.pairwise:
            if t.metric == metric and t.method == method and \
                    {t.system_a, t.system_b} == {system_a, system_b}:
                return t
        raise MetricError(f"no {method} test for {system_a!r} vs {system_b!r} on {metric!r}")

    def p_value(self, metric: str, system_a: str, system_b: str,
                method: str = APPROXIMATE_RANDOMIZATION) -> float:
        """Return the paired-test p-value of two systems (order does not matter)."""
        return self.test(metric, system_a, system_b, method).p_value
