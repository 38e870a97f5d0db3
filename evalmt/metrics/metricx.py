"""``metricx``: MetricX-24 (hybrid: reference-based, or QE with ``qe: true``) on stock transformers.

Facts checked against google-research/metricx (metricx24/predict.py and the
MT5ForRegression model): the input is ``source: … candidate: … reference: …``
(no reference part in QE mode), tokenized with truncation to
``max_input_length`` (1536 for MetricX-24) and the trailing EOS removed; the
score is the logit of token 250089 at the first decoder step (decoder input
id 0), clamped to [0, 25]; lower is better. The checkpoint is loaded as a
stock ``MT5ForConditionalGeneration`` (same weight names), in a worker
process (``neural_worker.py``) running evalmt's interpreter.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

from evalmt.errors import MetricError
from evalmt.metrics.checkpoints import resolve_model
from evalmt.metrics.neural import COMMON_OPTIONS, NeuralMetric

MAX_INPUT_LENGTH = 1536  # MetricX-24 README: --max_input_length 1536


class MetricX(NeuralMetric):
    """MetricX-24: segment scores in [0, 25] (an MQM-like error score), mean over segments."""

    kind = "metricx"

    def __init__(self, options: Mapping[str, Any]) -> None:
        label = options.get("label") or ("MetricX-24-QE" if options.get("qe") else "MetricX-24")
        super().__init__("metricx", str(label), {k: v for k, v in options.items()
                                                if k != "label"},
                         higher_is_better=False,
                         allowed=COMMON_OPTIONS | {"tokenizer", "qe", "max_input_length",
                                                   "dtype"})
        self.qe = bool(self.options.get("qe", False))
        self.max_input_length = self._int("max_input_length", MAX_INPUT_LENGTH)
        self.dtype = self.options.get("dtype", "float32")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise MetricError(f"metrics.metricx.dtype: expected float32, bfloat16 or float16, "
                              f"got {self.dtype!r}")

    def resolve_checkpoint(self) -> dict[str, str]:
        """Resolve the model (and tokenizer) to local folders and ids."""
        local = bool(self.options.get("local_files_only", False))
        path, ident = resolve_model(self.options["model"], local_files_only=local,
                                    memo=self._cache)
        out = {"path": str(path), "id": ident}
        if self.options.get("tokenizer"):
            tok_path, tok_id = resolve_model(self.options["tokenizer"], local_files_only=local,
                                             memo=self._cache)
            out.update(tokenizer_path=str(tok_path), tokenizer_id=tok_id)
        return out

    def versions(self) -> dict[str, str]:
        """Return the transformers and torch versions of evalmt's interpreter (the worker's)."""
        return {p: importlib.metadata.version(p) for p in ("transformers", "torch")}

    def score_options(self) -> dict[str, Any]:
        """QE mode, input length, dtype and the tokenizer."""
        return {"qe": self.qe, "max_input_length": self.max_input_length, "dtype": self.dtype,
                "tokenizer": self._checkpoint.get("tokenizer_path", "")}

    def signature(self, **kwargs: Any) -> str:
        """As NeuralMetric's, with the tokenizer's id instead of its local path."""
        sig = super().signature(**kwargs)
        path = self._checkpoint.get("tokenizer_path")
        return sig.replace(f"tokenizer:{path}", f"tokenizer:{self._checkpoint['tokenizer_id']}") \
            if path else sig.replace("|tokenizer:|", "|")

    def uses_references(self) -> bool:
        """Tell whether references are sent (not in QE mode)."""
        return not self.qe


def build_metricx(tgt_lang: str, options: Mapping[str, Any]) -> MetricX:
    """Registry factory for ``metricx`` (options checked, nothing loaded)."""
    return MetricX(options)
