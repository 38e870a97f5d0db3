"""The metric protocol and the METRICS registry.

A ``Metric`` turns (sources, hypotheses, references) into one row of
sufficient statistics per segment, and summed statistics into a score; every
corpus, document and group score, every bootstrap interval and every paired
test is computed from those rows (``evalmt.metrics.scoring``). Building a
metric only checks its options: models are loaded by ``load()``, which the
scoring engine calls just before use, so ``evalmt validate`` never loads one.

Two families implement the protocol: the sacrebleu metrics
(``metrics/sacrebleu_adapter.py``, the only module calling sacrebleu's
private methods) and ``MeanSegmentMetric``, whose statistics are
``[segment score, 1]`` so the corpus score is the mean of the segment
scores (COMET, MetricX).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from evalmt.errors import MetricError
from evalmt.metrics.records import ReferenceStreams
from evalmt.registry import Registry


class MetricUnavailable(MetricError):  # noqa: N818 - reads as "metric unavailable: reason"
    """A metric could not be computed in this run (out of memory, crash, timeout...).

    ``reason`` is the short text shown as ``n/a (reason)`` in tables and the
    manifest; the run goes on with the other metrics.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Metric(ABC):
    """One configured metric (options already checked; nothing heavy loaded).

    ``key`` is the registry name (``"bleu"``, ``"comet"``), ``name`` the
    display name of its scores (``"BLEU"``, ``"chrF2"``, ``"COMET"``).
    ``notes`` explain choices made on the user's behalf.
    ``float32_resampling`` keeps sacrebleu's float32 sums of resampled
    statistics (bit-identical CIs and p-values); other metrics sum in float64.
    """

    key: str
    name: str
    higher_is_better: bool = True
    notes: tuple[str, ...] = ()
    float32_resampling: bool = False

    def load(self) -> None:  # noqa: B027 - optional hook; most metrics load nothing
        """Load models or other heavy resources (idempotent); called right before scoring."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what ``load`` acquired."""

    def describe(self) -> dict[str, Any]:
        """Return what the manifest records about this metric (name, options...)."""
        return {"key": self.key, "name": self.name}

    def attach_cache(self, path: Any) -> None:  # noqa: B027 - optional hook
        """Use the segment-score cache file at ``path`` (metrics that cache scores override)."""

    @abstractmethod
    def segment_statistics(self, *, sources: Sequence[str], hypotheses: Sequence[str],
                           references: ReferenceStreams) -> np.ndarray:
        """Return one row of sufficient statistics per segment of ONE system (n × k)."""

    def statistics(self, *, sources: Sequence[str], hypotheses: Mapping[str, Sequence[str]],
                   references: ReferenceStreams) -> dict[str, np.ndarray]:
        """Return the statistics of every system (override to share work across systems)."""
        return {system: self.segment_statistics(sources=sources, hypotheses=hyps,
                                                references=references)
                for system, hyps in hypotheses.items()}

    @abstractmethod
    def score_from_statistics(self, sums: Sequence[float] | np.ndarray) -> float:
        """Return the score of one vector of summed statistics."""

    def scores_from_statistics(self, sums: np.ndarray) -> np.ndarray:
        """Score every row of a matrix of summed statistics (e.g. bootstrap resamples)."""
        return np.array([self.score_from_statistics(row) for row in sums], dtype=np.float64)

    def aggregate(self, rows: np.ndarray) -> tuple[float, str]:
        """Return (score, verbose text) of a set of segment rows, summed as the metric defines."""
        return float(self.score_from_statistics(np.asarray(rows).sum(0))), ""

    def segment_score(self, row: np.ndarray) -> float:
        """Return the score of one segment from its own statistics row."""
        return float(self.score_from_statistics(row))

    @abstractmethod
    def signature(self, *, references: ReferenceStreams, segment: bool = False,
                  **extra: Any) -> str:
        """Return the signature of a score (``segment=True``: of segment-level scores)."""

    def segment_details(self) -> dict[str, dict[str, list[Any]]]:
        """Per system, extra per-segment data of the last ``statistics`` call (e.g. error spans)."""
        return {}


class MeanSegmentMetric(Metric):
    """A metric whose corpus score is the mean of its segment scores.

    Statistics rows are ``[segment score, 1]``: summing gives (total, count),
    so documents, groups, bootstrap resamples and paired tests all reduce to
    means of segment scores with no special case.
    """

    @abstractmethod
    def segment_scores(self, *, sources: Sequence[str], hypotheses: Mapping[str, Sequence[str]],
                       references: ReferenceStreams) -> dict[str, list[float]]:
        """Return one score per segment for every system."""

    def statistics(self, *, sources: Sequence[str], hypotheses: Mapping[str, Sequence[str]],
                   references: ReferenceStreams) -> dict[str, np.ndarray]:
        """Return ``[score, 1]`` rows per system from ``segment_scores``."""
        scores = self.segment_scores(sources=sources, hypotheses=hypotheses,
                                     references=references)
        out = {}
        for system, hyps in hypotheses.items():
            values = np.asarray(scores.get(system, ()), dtype=np.float64)
            if values.shape != (len(hyps),) or not np.all(np.isfinite(values)):
                raise MetricUnavailable("malformed output",
                                        f"{self.name} gave {values.shape[0] if values.ndim else 0}"
                                        f" score(s) (or non-finite ones) for {len(hyps)} "
                                        f"segments of system {system!r}")
            out[system] = np.column_stack([values, np.ones_like(values)])
        return out

    def segment_statistics(self, *, sources: Sequence[str], hypotheses: Sequence[str],
                           references: ReferenceStreams) -> np.ndarray:
        """Return the ``[score, 1]`` rows of one system."""
        return self.statistics(sources=sources, hypotheses={"": hypotheses},
                               references=references)[""]

    def score_from_statistics(self, sums: Sequence[float] | np.ndarray) -> float:
        """Return the mean segment score: total / count."""
        return float(sums[0] / sums[1])

    def scores_from_statistics(self, sums: np.ndarray) -> np.ndarray:
        """Return the mean of every row of summed statistics (vectorised)."""
        sums = np.asarray(sums, dtype=np.float64)
        return sums[:, 0] / sums[:, 1]


MetricFactory = Callable[[str, Mapping[str, Any]], Metric]
METRICS: Registry[MetricFactory] = Registry("metric")
# Neural metrics: imported only when named (their modules import nothing heavy either).
METRICS.add_lazy("comet", "evalmt.metrics.comet:build_comet")
METRICS.add_lazy("cometkiwi", "evalmt.metrics.comet:build_cometkiwi")
METRICS.add_lazy("xcomet", "evalmt.metrics.comet:build_xcomet")
METRICS.add_lazy("metricx", "evalmt.metrics.metricx:build_metricx")


def check_options(key: str, options: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    """Return ``options`` as a dict, or raise ``MetricError`` naming unknown keys."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise MetricError(f"metrics.{key}: unknown option(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(allowed))}")
    return dict(options)


def _register_builtins() -> None:
    """Register the sacrebleu metrics (light module; sacrebleu itself is imported on use)."""
    from evalmt.metrics import sacrebleu_adapter  # noqa: F401 - registers bleu/chrf/ter


def build_metrics(names: Sequence[str], *, tgt_lang: str,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Metric]:
    """Build one ``Metric`` per name ("bleu", "chrf", "chrf++", "ter", "comet", "metricx").

    ``tgt_lang`` picks the BLEU tokenizer as sacrebleu's ``-l`` does;
    ``options[name]`` are the metric's options (e.g.
    ``{"bleu": {"tokenize": "intl"}}``). Options are checked now; nothing is
    loaded. Unknown names raise a did-you-mean ``RegistryError``; unknown
    options and duplicates raise ``MetricError``.
    """
    _register_builtins()
    options = dict(options or {})
    extra = sorted(set(options) - set(names))
    if extra:
        raise MetricError(f"metric options given for metric(s) not requested: {', '.join(extra)}")
    if len(set(names)) != len(names):
        raise MetricError(f"metrics: duplicate names in {list(names)!r}")
    return [METRICS.get(n)(tgt_lang, options.get(n, {})) for n in names]
