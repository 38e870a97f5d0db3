"""Job cells: the units of a run, each named by a content hash.

A translate cell is one data set × one system × one language direction. Its
hash covers the data set's content hash, the system's config and the
direction, so two runs with the same hash ask for the same translations. A
metric cell is one data set × one neural metric (a model run in a worker); its
hash covers the data, the metric's options and every scored hypothesis. The
manifest records every cell with its status (``pending`` → ``done`` or
``failed`` with a reason).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalmt.data.model import TestSet
from evalmt.systems.base import SystemConfig


@dataclass(frozen=True)
class JobCell:
    """One data set × system × direction of the translate phase."""

    dataset: str
    system: str
    src_lang: str
    tgt_lang: str
    key: str  # sha256 of (data content, system config, direction)

    @property
    def direction(self) -> str:
        """The language direction as ``src-tgt``."""
        return f"{self.src_lang}-{self.tgt_lang}"


def cell_hash(*, data_sha256: str, system: SystemConfig, src_lang: str, tgt_lang: str) -> str:
    """Return the content hash of a translate cell."""
    blob = json.dumps({"kind": "translate", "data": data_sha256,
                       "system": system.model_dump(mode="json"),
                       "direction": [src_lang, tgt_lang]}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def translate_cells(systems: Sequence[SystemConfig], testsets: Sequence[TestSet]) -> list[JobCell]:
    """Return every translate cell, system by system, data sets in config order."""
    hashes = {t.name: t.content_hash() for t in testsets}
    return [JobCell(t.name, s.name, t.src_lang, t.tgt_lang,
                    cell_hash(data_sha256=hashes[t.name], system=s, src_lang=t.src_lang,
                              tgt_lang=t.tgt_lang))
            for s in systems for t in testsets]


def metric_cell_hash(*, data_sha256: str, metric: str, options: Mapping[str, Any],
                     hypotheses: Mapping[str, Sequence[str]]) -> str:
    """Return the content hash of a metric cell: data × metric options × the outputs scored."""
    outputs = hashlib.sha256()
    for system in sorted(hypotheses):
        outputs.update(json.dumps([system, list(hypotheses[system])],
                                  ensure_ascii=False).encode("utf-8"))
    blob = json.dumps({"kind": "metric", "data": data_sha256, "metric": metric,
                       "options": dict(options), "outputs": outputs.hexdigest()},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
