"""Metric–human agreement (system-level meta-evaluation) and its tables.

For each metric of a score report and the systems both the metric and the
humans scored: Kendall's tau-b, Pearson's r and pairwise accuracy (Kocmi et
al., 2021, "To Ship or Not to Ship": the share of system pairs that the metric
orders as the humans do), and the pairs on which the metric's rank clusters
contradict the human clusters (the metric puts A in a better cluster than B
while the humans' rank ranges put B above A). Where the human file is the
organisers' ranking (``HumanRanking.ordered``), its order ranks the systems
for tau and pairwise accuracy (it breaks ties between rounded printed scores);
Pearson's r always uses the scores. Scores of lower-is-better
metrics (TER) are negated first, so agreement is positive for every metric.

Works on any metric the report holds (``scores.json`` rows: system, metric,
score, cluster), so ``evalmt run`` and ``evalmt compare`` share it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from evalmt.data.human import HumanRanking

COLUMNS = ("metric", "systems", "kendall_tau", "pearson", "pairwise_accuracy", "pairs",
           "concordant", "discordant", "contradictions", "human")


@dataclass(frozen=True)
class Agreement:
    """One metric's agreement with one human ranking."""

    metric: str
    human: str
    systems: tuple[str, ...]
    kendall_tau: float | None
    pearson: float | None
    pairwise_accuracy: float | None
    pairs: int
    concordant: int
    discordant: int
    #: (metric's better system, humans' better system) for each contradicted pair.
    contradictions: tuple[tuple[str, str], ...]
    #: Whether clusters could be compared (the metric has clusters, the humans rank ranges).
    clusters_compared: bool
    not_in_human: tuple[str, ...] = ()
    not_scored: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (contradictions as [metric's better, humans' better])."""
        return {"metric": self.metric, "human": self.human, "systems": list(self.systems),
                "kendall_tau": self.kendall_tau, "pearson": self.pearson,
                "pairwise_accuracy": self.pairwise_accuracy, "pairs": self.pairs,
                "concordant": self.concordant, "discordant": self.discordant,
                "contradictions": [list(c) for c in self.contradictions]
                if self.clusters_compared else None,
                "not_in_human": list(self.not_in_human), "not_scored": list(self.not_scored)}


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def kendall_counts(x: list[float], y: list[float]) -> tuple[int, int, int, int, int]:
    """(concordant, discordant, tied in x only, tied in y only, pairs) over all pairs."""
    c = d = tx = ty = 0
    pairs = 0
    for i, j in combinations(range(len(x)), 2):
        pairs += 1
        sx, sy = _sign(x[i] - x[j]), _sign(y[i] - y[j])
        if sx and sy:
            c, d = (c + 1, d) if sx == sy else (c, d + 1)
        elif sx:
            ty += 1
        elif sy:
            tx += 1
    return c, d, tx, ty, pairs


def kendall_tau_b(concordant: int, discordant: int, tied_x: int, tied_y: int,
                  pairs: int) -> float | None:
    """Kendall's tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)); ``None`` when undefined.

    n1 (n2) counts the pairs tied in x (y), including pairs tied in both.
    """
    both = pairs - concordant - discordant - tied_x - tied_y
    denom = math.sqrt((pairs - tied_x - both) * (pairs - tied_y - both))
    return (concordant - discordant) / denom if denom else None


def pearson_r(x: list[float], y: list[float]) -> float | None:
    """Pearson's r from centred sums; ``None`` when either side is constant."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else None


def agreement(*, metric: str, scores: Mapping[str, float], higher_is_better: bool,
              clusters: Mapping[str, int | None], human: HumanRanking) -> Agreement:
    """Agreement of one metric's system scores (and clusters) with ``human``."""
    people = human.by_system()
    common = tuple(s for s in scores if s in people)
    sign = 1.0 if higher_is_better else -1.0
    x = [sign * scores[s] for s in common]
    y = [people[s].score for s in common]
    position = {h.system: i for i, h in enumerate(human.scores)}
    order = [-float(position[s]) for s in common] if human.ordered else y
    c, d, tx, ty, pairs = kendall_counts(x, order)
    human_ordered = c + d + tx  # pairs the humans do not tie
    tau = kendall_tau_b(c, d, tx, ty, pairs) if len(common) >= 2 else None
    compared = human.has_ranks and all(clusters.get(s) is not None for s in common)
    contradictions = []
    if compared:
        for a, b in combinations(common, 2):
            for better, worse in ((a, b), (b, a)):
                if clusters[better] < clusters[worse] and people[worse].better_than(people[better]):
                    contradictions.append((better, worse))
    return Agreement(
        metric=metric, human=human.label, systems=common, kendall_tau=tau,
        pearson=pearson_r(x, y) if len(common) >= 2 else None,
        pairwise_accuracy=c / human_ordered if human_ordered else None,
        pairs=human_ordered, concordant=c, discordant=d,
        contradictions=tuple(contradictions), clusters_compared=compared,
        not_in_human=tuple(s for s in scores if s not in people),
        not_scored=tuple(s.system for s in human.scores if s.system not in scores))


def agreements(rows: Iterable[Mapping[str, Any]], higher: Mapping[str, bool],
               human: HumanRanking) -> list[Agreement]:
    """One ``Agreement`` per metric from score rows (``system, metric, score, cluster``).

    Rows without a finite score (a failed metric: n/a) are left out.
    """
    by_metric: dict[str, dict[str, tuple[float, int | None]]] = {}
    for row in rows:
        score = row.get("score")
        if isinstance(score, int | float) and math.isfinite(score):
            by_metric.setdefault(str(row["metric"]), {})[str(row["system"])] = (
                float(score), row.get("cluster"))
    return [agreement(metric=m, scores={s: v[0] for s, v in cells.items()},
                      higher_is_better=higher.get(m, not m.upper().startswith("TER")),
                      clusters={s: v[1] for s, v in cells.items()}, human=human)
            for m, cells in by_metric.items()]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _contradiction_text(a: Agreement) -> str:
    if not a.clusters_compared:
        return "n/a"
    if not a.contradictions:
        return "none"
    return "; ".join(f"{m} > {h}" for m, h in a.contradictions)


def render_markdown(results: list[Agreement]) -> str:
    """Render one Markdown table per human ranking, and what was left out under each."""
    labels = list(dict.fromkeys(a.human for a in results))
    if len(labels) > 1:
        return "\n".join(render_markdown([a for a in results if a.human == label])
                         for label in labels)
    if not results:
        return ""
    lines = [f"### Agreement with human judgements ({results[0].human})", "",
             "| metric | systems | Kendall τ | Pearson r | pairwise accuracy | "
             "cluster contradictions (metric's better > humans' better) |",
             "|---|---:|---:|---:|---:|---|"]
    for a in results:
        acc = "n/a" if a.pairwise_accuracy is None else \
            f"{a.pairwise_accuracy:.3f} ({a.concordant}/{a.pairs})"
        lines.append(f"| {a.metric} | {len(a.systems)} | {_fmt(a.kendall_tau)} | "
                     f"{_fmt(a.pearson)} | {acc} | {_contradiction_text(a)} |")
    first = results[0]
    lines.append("")
    if first.not_in_human:
        lines.append(f"- not in the human ranking: {', '.join(first.not_in_human)}")
    if first.not_scored:
        lines.append(f"- judged by humans but not scored here: {', '.join(first.not_scored)}")
    if not first.clusters_compared:
        lines.append("- cluster contradictions: n/a (needs the metric's rank clusters, i.e. "
                     "significance, and human rank ranges)")
    return "\n".join(lines) + "\n"


def render_csv(results: list[Agreement]) -> str:
    """Render the agreements as CSV (full precision; contradictions as ``A>B`` joined by ``;``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for a in results:
        writer.writerow([a.metric, len(a.systems), "" if a.kendall_tau is None else a.kendall_tau,
                         "" if a.pearson is None else a.pearson,
                         "" if a.pairwise_accuracy is None else a.pairwise_accuracy,
                         a.pairs, a.concordant, a.discordant,
                         ";".join(f"{m}>{h}" for m, h in a.contradictions)
                         if a.clusters_compared else "", a.human])
    return buf.getvalue()


def leaderboard_agreements(board: Any, human: HumanRanking, *, higher: Mapping[str, bool],
                           clusters_comparable: bool) -> list[Agreement]:
    """Agreement of every metric of an ``evalmt compare`` leaderboard with ``human``.

    Rank clusters are compared only when ``clusters_comparable`` (one run, or
    clusters re-computed over all runs); a system shown by several runs is a
    ``DataError`` (one score per system is needed).
    """
    from evalmt.errors import DataError

    seen: dict[str, str] = {}
    for row in board.rows:
        if row.system in seen:
            raise DataError(f"--human: system {row.system!r} is in runs {seen[row.system]!r} "
                            f"and {row.run!r}; agreement needs one score per system")
        seen[row.system] = row.run
    rows = [{"system": r.system, "metric": m, "score": c.score,
             "cluster": c.cluster if clusters_comparable else None}
            for r in board.rows for m, c in zip(board.metrics, r.cells, strict=True)]
    return agreements(rows, higher, human)
