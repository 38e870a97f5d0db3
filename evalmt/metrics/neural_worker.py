"""The neural-metric worker: scores (source, hypothesis, reference) items in its own process.

evalmt runs this file as a script (``python neural_worker.py REQUEST.json``):
MetricX in evalmt's own interpreter (stock transformers), COMET in the
environment ``evalmt setup comet`` makes (unbabel-comet pins transformers<5,
numpy<2). So this module imports nothing from evalmt and only the standard
library at start. It reads one JSON request::

    {"kind": "comet" | "metricx", "model": ..., "device": "cpu" | "cuda:0",
     "batch_size": 16, "items": [[source, hypothesis, reference or null], ...],
     "options": {...}}

and writes JSON lines to stdout (never pickle)::

    {"event": "loaded", "info": {...versions, device...}}
    {"event": "scores", "index": [...], "scores": [...], "detail": [...] or null}
    {"event": "done"}
    {"event": "error", "reason": "out of memory" | "load failed" | "failed", "detail": "..."}

Items are scored longest first, in batches; a batch that runs out of memory
is retried at half the size, down to 1. A regression COMET model embeds each
distinct source and reference once and reuses the embeddings for every
hypothesis that shares them (it embeds the three texts separately, so the
scores equal ``predict``'s).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

# MetricX (google-research/metricx, metricx24/predict.py and models.py): the
# score is the logit of token 250089 (<extra_id_10>) at the first decoder step
# (decoder input id 0), clamped to [0, 25]; the input's trailing EOS is removed.
METRICX_TOKEN = 250089
METRICX_RANGE = (0.0, 25.0)


class OutOfMemory(Exception):  # noqa: N818 - the reason the parent reports
    """Raised when even a batch of one does not fit."""


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def is_out_of_memory(exc: BaseException) -> bool:
    """Tell whether ``exc`` is an accelerator or host out-of-memory error."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" \
        or "out of memory" in str(exc).lower()


def run_batches(order: Sequence[int], batch_size: int,
                score_batch: Callable[[list[int]], tuple[list[float], list[Any] | None]],
                emit: Callable[[list[int], list[float], list[Any] | None], None],
                on_oom: Callable[[], None] = lambda: None) -> int:
    """Score ``order`` in batches, halving the batch on out-of-memory; return the final size."""
    pos, size = 0, max(1, batch_size)
    while pos < len(order):
        chunk = list(order[pos:pos + size])
        try:
            scores, detail = score_batch(chunk)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            on_oom()
            if size == 1:
                raise OutOfMemory(f"out of memory at batch size 1: {exc}") from exc
            size = max(1, size // 2)
            continue
        emit(chunk, scores, detail)
        pos += len(chunk)
    return size


def _device(requested: str) -> Any:
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(requested)


def _free(device: Any) -> Callable[[], None]:
    def free() -> None:
        import gc

        import torch

        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return free


def _to(batch: Any, device: Any) -> Any:
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)({k: _to(v, device) for k, v in batch.items()})
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to(v, device) for v in batch)
    return batch


def _comet(request: dict[str, Any], items: list[list[Any]]) -> None:
    import torch
    from comet import load_from_checkpoint

    options = request.get("options", {})
    device = _device(request.get("device", "auto"))
    model = load_from_checkpoint(request["model"], local_files_only=options.get(
        "local_files_only", True))
    model.eval()
    model.to(device)
    import comet

    _emit({"event": "loaded", "info": {"class": type(model).__name__, "device": str(device),
                                       "unbabel-comet": comet.__version__,
                                       "torch": torch.__version__}})
    needs_ref = bool(getattr(model, "requires_references", lambda: False)())
    if needs_ref and any(it[2] is None for it in items):
        raise ValueError(f"{type(model).__name__} needs a reference for every segment")
    order = sorted(range(len(items)), key=lambda i: -len(items[i][1]))
    free = _free(device)
    batch_size = int(request.get("batch_size", 16))
    with torch.inference_mode():
        if type(model).__name__ == "RegressionMetric" and options.get("reuse_embeddings", True):
            _comet_regression(model, items, order, batch_size, device, free)
            return

        def score_batch(chunk: list[int]) -> tuple[list[float], list[Any] | None]:
            samples = [{"src": items[i][0], "mt": items[i][1],
                        **({"ref": items[i][2]} if items[i][2] is not None else {})}
                       for i in chunk]
            out = model.predict_step(_to(model.prepare_for_inference(samples), device))
            scores = [float(s) for s in out["scores"].view(-1).tolist()]
            spans = out.get("metadata", {}).get("error_spans") if "metadata" in out else None
            detail = [{"error_spans": s} for s in spans] if spans is not None else None
            return scores, detail

        run_batches(order, batch_size, score_batch, _emit_scores, free)


def _comet_regression(model: Any, items: list[list[Any]], order: list[int], batch_size: int,
                      device: Any, free: Callable[[], None]) -> None:
    """Embed each distinct source and reference once, then every hypothesis, then estimate."""
    embeddings: dict[tuple[str, str], Any] = {}

    def embed(field: str, texts: list[str]) -> None:
        todo = sorted({t for t in texts if (field, t) not in embeddings}, key=lambda t: -len(t))

        def score_batch(chunk: list[int]) -> tuple[list[float], None]:
            batch = [todo[i] for i in chunk]
            inputs = _to(model.encoder.prepare_sample(batch), device)
            sentemb = model.get_sentence_embedding(**inputs)
            for text, emb in zip(batch, sentemb, strict=True):
                embeddings[(field, text)] = emb
            return [], None

        run_batches(range(len(todo)), batch_size, score_batch, lambda *a: None, free)

    embed("src", [it[0] for it in items])
    embed("ref", [it[2] for it in items])

    def score_batch(chunk: list[int]) -> tuple[list[float], None]:
        embed("mt", [items[i][1] for i in chunk])
        import torch

        def stack(field: str, k: int) -> Any:
            return torch.stack([embeddings[(field, items[i][k])] for i in chunk])

        out = model.estimate(stack("src", 0), stack("mt", 1), stack("ref", 2))
        for i in chunk:  # hypotheses are rarely shared: keep memory flat
            embeddings.pop(("mt", items[i][1]), None)
        return [float(s) for s in out["score"].view(-1).tolist()], None

    run_batches(order, batch_size, score_batch, _emit_scores, free)


def metricx_inputs(tokenizer: Any, items: Sequence[Sequence[Any]], max_length: int) -> list[Any]:
    """Token ids of MetricX inputs: "source: … candidate: … reference: …", trailing EOS removed."""
    texts = [f"source: {s} candidate: {h}" + (f" reference: {r}" if r is not None else "")
             for s, h, r in items]
    ids = tokenizer(texts, max_length=max_length, truncation=True, padding=False)["input_ids"]
    return [row[:-1] for row in ids]


def _metricx(request: dict[str, Any], items: list[list[Any]]) -> None:
    import torch
    import transformers

    options = request.get("options", {})
    device = _device(request.get("device", "auto"))
    local = options.get("local_files_only", False)
    # MetricX-24 is the stock MT5 architecture: a checkpoint's own code never runs.
    trust_remote_code = False
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        options.get("tokenizer") or request["model"], local_files_only=local,
        trust_remote_code=trust_remote_code)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16,
             "float16": torch.float16}[options.get("dtype", "float32")]
    model = transformers.MT5ForConditionalGeneration.from_pretrained(
        request["model"], local_files_only=local, dtype=dtype,
        trust_remote_code=trust_remote_code)
    if model.config.vocab_size <= METRICX_TOKEN:
        raise ValueError(f"vocabulary of {model.config.vocab_size} tokens has no id "
                         f"{METRICX_TOKEN}: not a MetricX checkpoint")
    model.to(device).eval()
    _emit({"event": "loaded", "info": {"class": "MT5ForConditionalGeneration",
                                       "device": str(device),
                                       "transformers": transformers.__version__,
                                       "torch": torch.__version__}})
    ids = metricx_inputs(tokenizer, items, int(options.get("max_input_length", 1536)))
    order = sorted(range(len(items)), key=lambda i: -len(ids[i]))
    pad = tokenizer.pad_token_id or 0

    def score_batch(chunk: list[int]) -> tuple[list[float], None]:
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.tensor([ids[i] + [pad] * (width - len(ids[i])) for i in chunk],
                                 device=device)
        mask = torch.tensor([[1] * len(ids[i]) + [0] * (width - len(ids[i])) for i in chunk],
                            device=device)
        start = torch.zeros((len(chunk), 1), dtype=torch.long, device=device)
        logits = model(input_ids=input_ids, attention_mask=mask,
                       decoder_input_ids=start).logits
        scores = logits[:, 0, METRICX_TOKEN].float().clamp(*METRICX_RANGE)
        return [float(s) for s in scores.tolist()], None

    with torch.inference_mode():
        run_batches(order, int(request.get("batch_size", 16)), score_batch, _emit_scores,
                    _free(device))


def _emit_scores(chunk: list[int], scores: list[float], detail: list[Any] | None) -> None:
    _emit({"event": "scores", "index": chunk, "scores": scores, "detail": detail})


KINDS = {"comet": _comet, "metricx": _metricx}


def main(argv: Sequence[str]) -> int:
    """Run one request file; return the exit status."""
    with open(argv[0], encoding="utf-8") as f:
        request = json.load(f)
    items = [list(it) for it in request["items"]]
    try:
        KINDS[request["kind"]](request, items)
    except OutOfMemory as exc:
        _emit({"event": "error", "reason": "out of memory", "detail": str(exc)[-500:]})
        return 1
    except Exception as exc:
        reason = "out of memory" if is_out_of_memory(exc) else "failed"
        _emit({"event": "error", "reason": reason,
               "detail": "".join(traceback.format_exception_only(type(exc), exc)).strip()[-800:]})
        return 1
    _emit({"event": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
