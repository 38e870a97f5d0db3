"""``comet``, ``cometkiwi``, ``xcomet``: any unbabel-comet checkpoint, in the COMET environment.

``model`` is a local checkpoint folder (``checkpoints/model.ckpt`` +
``hparams.yaml``), a ``.ckpt`` file, or a hub id (``Unbabel/wmt22-comet-da``).
Whether references are used follows the checkpoint (``hparams.yaml``:
reference-free regression and unified models whose ``input_segments`` lack
``ref`` are QE metrics); ``qe: true`` drops references (XCOMET's QE mode).
XCOMET's error spans are kept per segment (``SegmentScore.detail``). The
three registry names differ only in the default display name (``label``
overrides it), so a run can have a reference-based and a QE COMET side by
side. Scores come from a worker in the venv of ``evalmt setup comet``
(``python`` option: another interpreter with unbabel-comet).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from evalmt.metrics.base import MetricUnavailable
from evalmt.metrics.checkpoints import resolve_model
from evalmt.metrics.comet_env import default_python, package_versions
from evalmt.metrics.neural import COMMON_OPTIONS, NeuralMetric

_QE_CLASSES = {"referenceless_regression_metric"}


class Comet(NeuralMetric):
    """A COMET-family metric: mean of segment scores, higher is better."""

    kind = "comet"

    def __init__(self, key: str, label: str, options: Mapping[str, Any]) -> None:
        super().__init__(key, str(options.get("label") or label),
                         {k: v for k, v in options.items() if k != "label"},
                         higher_is_better=True,
                         allowed=COMMON_OPTIONS | {"python", "qe", "reuse_embeddings"})
        self.qe = bool(self.options.get("qe", False))
        self._uses_refs = not self.qe
        self._python = self.options.get("python")

    def python(self) -> str:
        """Return the ``python`` option, else the interpreter of the ``evalmt setup comet`` venv."""
        return str(Path(self._python).expanduser()) if self._python \
            else str(default_python(os.environ))

    def resolve_checkpoint(self) -> dict[str, str]:
        """Find ``checkpoints/model.ckpt`` and read ``hparams.yaml`` (safe_load)."""
        if not Path(self.python()).exists():
            raise MetricUnavailable("COMET environment not set up",
                                    f"{self.python()} does not exist: run `evalmt setup comet`")
        path, ident = resolve_model(self.options["model"], local_files_only=bool(
            self.options.get("local_files_only", False)), memo=self._cache)
        ckpt = path if path.is_file() else path / "checkpoints" / "model.ckpt"
        hparams_file = ckpt.parents[1] / "hparams.yaml"
        if not ckpt.is_file() or not hparams_file.is_file():
            raise MetricUnavailable("model not found", f"{path}: expected checkpoints/"
                                    "model.ckpt and hparams.yaml (a COMET checkpoint folder)")
        hparams = yaml.safe_load(hparams_file.read_text(encoding="utf-8")) or {}
        cls = str(hparams.get("class_identifier", "?"))
        segments = hparams.get("input_segments") or []
        if cls in _QE_CLASSES or (cls == "unified_metric" and segments
                                  and "ref" not in segments):
            self._uses_refs = False
        return {"path": str(ckpt), "id": ident, "class": cls}

    def versions(self) -> dict[str, str]:
        """unbabel-comet, torch and transformers of the COMET interpreter."""
        return package_versions(self.python())

    def score_options(self) -> dict[str, Any]:
        """QE mode is the only option that changes COMET scores."""
        return {"qe": not self._uses_refs}

    def uses_references(self) -> bool:
        """Tell whether references are sent (not for QE checkpoints or with ``qe: true``)."""
        return self._uses_refs


def build_comet(tgt_lang: str, options: Mapping[str, Any]) -> Comet:
    """Registry factory for ``comet``."""
    return Comet("comet", "COMET", options)


def build_cometkiwi(tgt_lang: str, options: Mapping[str, Any]) -> Comet:
    """Registry factory for ``cometkiwi`` (a QE checkpoint, e.g. Unbabel/wmt22-cometkiwi-da)."""
    return Comet("cometkiwi", "CometKiwi", options)


def build_xcomet(tgt_lang: str, options: Mapping[str, Any]) -> Comet:
    """Registry factory for ``xcomet`` (e.g. Unbabel/XCOMET-XL; error spans kept)."""
    return Comet("xcomet", "XCOMET", options)
