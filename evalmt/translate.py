"""Everything around a model: chunking, batching, OOM backoff, caching and progress.

``translate_segments(system, sources, cache=...)`` is the one entry point. It

1. splits each source longer than ``system.max_input_tokens`` into sentences
   (``evalmt.segmentation``) and records how many pieces each split segment got;
2. deduplicates the pieces and looks all of them up in the cache;
3. sorts the misses by length (longest first, so an out-of-memory error shows
   up at once) and packs them into batches with at most ``batch_tokens``
   padded tokens (batch size × longest piece) and ``max_batch_size`` pieces;
4. translates batch by batch, writing each finished batch to the cache in its
   own transaction — a run killed midway resumes where it stopped;
5. on CUDA out-of-memory halves the batch and retries, down to one piece;
6. joins the pieces back per segment, in input order.

A system that ``schedules_own_batches`` (an HTTP API) replaces steps 3-5: it
gets every missing piece at once through ``translate_pieces`` and reports
each piece as it finishes; each is written to the cache in its own
transaction at once, with its ``details``. A piece it reports as failed is
not cached; its segments get ``""`` and are listed in ``failed`` with the
reason, and the other segments go on. A rerun retries only those.

Systems with ``precomputed_outputs`` (hypothesis files) are not run through
here; the runner asks them first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from evalmt.errors import TranslationError
from evalmt.segmentation import join_pieces, split_to_fit
from evalmt.systems.base import PieceResult, is_out_of_memory

if TYPE_CHECKING:
    from evalmt.cache import TranslationCache
    from evalmt.systems.base import Translator


@dataclass(frozen=True)
class TranslationOutcome:
    """What ``translate_segments`` returns: outputs plus counts and timings.

    ``hypotheses`` has one output per source, in input order. ``chunks`` maps
    the index of every source that was split to its number of pieces. Piece
    counts are over unique pieces; ``calls`` counts ``system.translate`` calls
    (retries after out-of-memory included). ``tokens_per_second`` is measured
    over the pieces the model translated, in ``system.num_tokens`` units.
    """

    hypotheses: tuple[str, ...]
    chunks: Mapping[int, int] = field(default_factory=dict)
    pieces: int = 0
    cached_pieces: int = 0
    translated_pieces: int = 0
    calls: int = 0
    oom_retries: int = 0
    translated_tokens: int = 0
    seconds: float = 0.0
    model_seconds: float = 0.0
    #: Segment index → why it has no output (systems that schedule their own batches).
    failed: Mapping[int, str] = field(default_factory=dict)
    #: Segment index → flags of its pieces' answers (``truncated``, ``refused``, ``empty``).
    flags: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: The system's usage summary (requests, tokens, latency, cost), when it reports one.
    usage: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hypotheses", tuple(self.hypotheses))
        object.__setattr__(self, "chunks", MappingProxyType(dict(self.chunks)))
        object.__setattr__(self, "failed", MappingProxyType(dict(self.failed)))
        object.__setattr__(self, "flags", MappingProxyType(dict(self.flags)))

    @property
    def segments_per_second(self) -> float:
        """Segments finished per wall-clock second (cache hits included)."""
        return len(self.hypotheses) / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_second(self) -> float:
        """Source tokens the model translated per second spent inside ``system.translate``."""
        return self.translated_tokens / self.model_seconds if self.model_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return counts and timings for the run manifest (outputs excluded)."""
        return {
            "segments": len(self.hypotheses),
            "split_segments": len(self.chunks),
            "chunks": {str(k): v for k, v in sorted(self.chunks.items())},
            "pieces": self.pieces,
            "cached_pieces": self.cached_pieces,
            "translated_pieces": self.translated_pieces,
            "calls": self.calls,
            "oom_retries": self.oom_retries,
            "translated_tokens": self.translated_tokens,
            "seconds": round(self.seconds, 4),
            "model_seconds": round(self.model_seconds, 4),
            "segments_per_second": round(self.segments_per_second, 3),
            "tokens_per_second": round(self.tokens_per_second, 3),
            "failed_segments": len(self.failed),
            # Systems that schedule their own batches also report answers per segment.
            **({"usage": dict(self.usage),
                "failures": {str(k): v for k, v in sorted(self.failed.items())},
                "flags": {str(k): list(v) for k, v in sorted(self.flags.items())}}
               if self.usage is not None else {}),
        }


def _free_accelerator_memory() -> None:
    """Release cached CUDA blocks after an OOM, if torch is already loaded by the system."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def pack_batches(pieces: Sequence[str], lengths: Sequence[int], *, batch_tokens: int,
                 max_batch_size: int) -> list[list[int]]:
    """Group piece indices into batches, longest first, under a padded token budget.

    A batch holds at most ``max_batch_size`` pieces and at most
    ``batch_tokens`` padded tokens (size × its longest piece). A piece longer
    than the budget on its own forms a batch of one.
    """
    if batch_tokens < 1 or max_batch_size < 1:
        raise TranslationError(
            f"batch_tokens and max_batch_size must be at least 1, got {batch_tokens} "
            f"and {max_batch_size}")
    # Longest first; ties by text so the packing does not depend on input order.
    order = sorted(range(len(pieces)), key=lambda i: (-lengths[i], pieces[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[current[0]] if current else lengths[i]
        if current and (len(current) >= max_batch_size
                        or (len(current) + 1) * longest > batch_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class _Progress:
    """A tqdm bar over segments with tokens/s; silent when disabled or not on a TTY.

    The bar appears at the first finished batch, not before: the model loads lazily
    during that batch, and transformers' own loading bars would otherwise be drawn
    in the middle of ours.
    """

    def __init__(self, *, total: int, done: int, label: str, enabled: bool) -> None:
        self._bar = None
        self._pending = dict(total=total, initial=done, desc=label) if enabled and total \
            else None
        self._start = time.perf_counter()
        self._tokens = 0

    def update(self, segments: int, tokens: int) -> None:
        self._tokens += tokens
        if self._pending is not None:
            from tqdm.auto import tqdm

            # disable=None: tqdm turns itself off when stderr is not a terminal.
            self._bar = tqdm(**self._pending, unit="seg", disable=None, dynamic_ncols=True,
                             leave=True)
            self._pending = None
        if self._bar is not None:
            elapsed = max(time.perf_counter() - self._start, 1e-9)
            self._bar.set_postfix_str(f"{self._tokens / elapsed:.1f} tok/s", refresh=False)
            self._bar.update(segments)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class StepProgress:
    """A tqdm bar over the steps after translation: scoring each data set, the report.

    Shows which step runs and how many are left; silent when disabled or not on a TTY.
    """

    def __init__(self, steps: int, *, label: str, enabled: bool) -> None:
        self._bar = None
        if enabled and steps:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=steps, desc=label, unit="step", disable=None,
                             dynamic_ncols=True, leave=False)

    def start(self, step: str) -> None:
        """Name the step that starts now."""
        if self._bar is not None:
            self._bar.set_postfix_str(step)

    def done(self) -> None:
        """Count the current step as finished."""
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()


def _describe_batch(system_name: str, texts: list[str], owners: list[list[int]],
                    segment_ids: Sequence[str] | None = None) -> str:
    indices = sorted({i for owner in owners for i in owner})
    names = [segment_ids[i] if segment_ids else str(i) for i in indices[:10]]
    shown = ", ".join(names) + (" …" if len(indices) > 10 else "")
    preview = texts[0][:60] + ("…" if len(texts[0]) > 60 else "")
    return (f"system {system_name!r} failed on a batch of {len(texts)} piece(s) from segment(s) "
            f"[{shown}] (first source: {preview!r})")


def commit_batch(texts: Sequence[str], outputs: Any, *, cache: Any, fingerprint: str,
                 done: dict[str, str], owners: Mapping[str, Sequence[int]],
                 remaining: list[int], where: Callable[[Sequence[str]], str]) -> int:
    """Check one batch's outputs, commit them to the cache, and count finished segments.

    Shared by the local loop and the Ray dispatcher: the outputs must be one
    string per input (else ``TranslationError`` naming the batch via ``where``);
    they go to the cache in one commit, then ``done``/``remaining`` are updated.
    Returns how many segments this batch finished.
    """
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(texts) or not all(
            isinstance(o, str) for o in outputs):
        got = (f"{len(outputs)} outputs" if isinstance(outputs, (list, tuple))
               else type(outputs).__name__)
        raise TranslationError(f"{where(texts)}: expected {len(texts)} strings, got {got}")
    pairs = list(zip(texts, outputs, strict=True))
    if cache is not None:
        cache.put_many(fingerprint, pairs)
    newly_finished = 0
    for text, output in pairs:
        done[text] = output
        for index in set(owners[text]):
            remaining[index] -= 1
            newly_finished += remaining[index] == 0
    return newly_finished


def split_segments(system: Translator, sources: Sequence[str], *,
                   label: str | None = None) -> tuple[list[list[str]], dict[int, int]]:
    """Return the pieces each source is given to ``system`` as, and the split segments.

    A source within ``system.max_input_tokens`` (or any source, when it is
    ``None``) is one piece; an empty or whitespace-only source has none; a
    longer one is cut by ``split_to_fit``. The second value maps the index of
    every source cut into several pieces to their number.
    """
    name = label or getattr(system, "name", type(system).__name__)
    max_tokens = system.max_input_tokens
    segment_pieces: list[list[str]] = []
    chunks: dict[int, int] = {}
    for index, source in enumerate(sources):
        if not isinstance(source, str):
            raise TranslationError(f"system {name!r}: source {index} is "
                                   f"{type(source).__name__}, expected str")
        if not source.strip():
            pieces: list[str] = []
        elif max_tokens is not None and system.num_tokens(source) > max_tokens:
            pieces = split_to_fit(source, max_tokens=max_tokens, num_tokens=system.num_tokens)
            if len(pieces) > 1:
                chunks[index] = len(pieces)
        else:
            pieces = [source]
        segment_pieces.append(pieces)
    return segment_pieces, chunks


def count_cached(system: Translator, sources: Sequence[str], *,
                 cache: TranslationCache | None) -> int:
    """Count the sources whose every piece is cached already (for ``--dry-run``).

    Empty sources count as cached: they never reach the model.
    """
    segment_pieces, _ = split_segments(system, sources)
    hits = cache.get_many(system.fingerprint(), {p for ps in segment_pieces for p in ps}) \
        if cache is not None else {}
    return sum(1 for pieces in segment_pieces if all(p in hits for p in pieces))


def translate_segments(
    system: Translator,
    sources: Sequence[str],
    *,
    cache: TranslationCache | None,
    batch_tokens: int = 4096,
    max_batch_size: int = 64,
    progress: bool = True,
    label: str | None = None,
    segment_ids: Sequence[str] | None = None,
) -> TranslationOutcome:
    """Translate ``sources`` with ``system``: one output per source, in input order.

    ``cache`` (may be ``None``) is read before and written after every batch,
    under ``system.fingerprint()``. Empty or whitespace-only sources give
    ``""`` without a model call. Raises ``TranslationError`` naming the system
    and the segments (``segment_ids[i]`` when given, else index ``i``) when the
    system fails (or returns the wrong number of outputs); pieces translated
    before the failure stay in the cache.
    """
    started = time.perf_counter()
    name = label or getattr(system, "name", type(system).__name__)
    fingerprint = system.fingerprint()

    # 1. Chunk: the pieces of every segment, and which segments own each unique piece.
    segment_pieces, chunks = split_segments(system, sources, label=name)
    owners: dict[str, list[int]] = {}
    for index, pieces in enumerate(segment_pieces):
        for piece in pieces:
            owners.setdefault(piece, []).append(index)

    # 2. Cache lookup for every unique piece.
    unique = list(owners)
    done: dict[str, str] = (dict(cache.get_many(fingerprint, unique))
                            if cache is not None else {})
    cached = len(done)
    todo = [p for p in unique if p not in done]
    remaining = [len({p for p in pieces if p not in done}) for pieces in segment_pieces]
    finished_segments = sum(1 for r in remaining if r == 0)

    if getattr(system, "schedules_own_batches", False):
        return _translate_scheduled(system, sources, segment_pieces, chunks, done, todo,
                                    cache=cache, started=started, progress=progress, label=name)

    # 3.-5. Batch, translate, store, back off on OOM.
    lengths = [system.num_tokens(p) for p in todo]
    queue = pack_batches(todo, lengths, batch_tokens=batch_tokens, max_batch_size=max_batch_size)
    queue.reverse()  # pop() from the end keeps longest-first order
    calls = oom_retries = translated_tokens = 0
    model_seconds = 0.0
    size_cap = max_batch_size
    bar = _Progress(total=len(sources), done=finished_segments, label=name, enabled=progress)
    try:
        while queue:
            batch = queue.pop()
            if len(batch) > size_cap:
                queue.extend(reversed([batch[i:i + size_cap]
                                       for i in range(0, len(batch), size_cap)]))
                continue
            texts = [todo[i] for i in batch]
            calls += 1
            t0 = time.perf_counter()
            out_of_memory = False
            try:
                outputs = system.translate(list(texts))
            except Exception as exc:
                if not (is_out_of_memory(exc) and len(batch) > 1):
                    where = _describe_batch(name, texts, [owners[t] for t in texts], segment_ids)
                    raise TranslationError(f"{where}: {type(exc).__name__}: {exc}") from exc
                out_of_memory = True
            finally:
                model_seconds += time.perf_counter() - t0
            if out_of_memory:
                # Outside the except block, so the traceback no longer pins the
                # failed batch's tensors and the cache can really be emptied.
                oom_retries += 1
                _free_accelerator_memory()
                size_cap = max(1, len(batch) // 2)
                queue.extend(reversed([batch[i:i + size_cap]
                                       for i in range(0, len(batch), size_cap)]))
                continue
            newly_finished = commit_batch(
                texts, outputs, cache=cache, fingerprint=fingerprint, done=done, owners=owners,
                remaining=remaining,
                where=lambda batch_texts: _describe_batch(
                    name, list(batch_texts), [owners[t] for t in batch_texts], segment_ids))
            batch_tokens_done = sum(lengths[i] for i in batch)
            translated_tokens += batch_tokens_done
            bar.update(newly_finished, batch_tokens_done)
    finally:
        bar.close()

    return TranslationOutcome(
        hypotheses=tuple(_join(system, segment_pieces, done)),
        chunks=chunks,
        pieces=len(unique),
        cached_pieces=cached,
        translated_pieces=len(todo),
        calls=calls,
        oom_retries=oom_retries,
        translated_tokens=translated_tokens,
        seconds=time.perf_counter() - started,
        model_seconds=model_seconds,
    )


def _join(system: Translator, segment_pieces: list[list[str]],
          done: Mapping[str, str]) -> list[str]:
    """Step 6: join each segment's pieces back, in input order."""
    tgt_lang = getattr(system, "tgt_lang", "en")
    return [done[pieces[0]] if len(pieces) == 1
            else join_pieces([done[p] for p in pieces], tgt_lang) for pieces in segment_pieces]


def _translate_scheduled(system: Translator, sources: Sequence[str],
                         segment_pieces: list[list[str]], chunks: dict[int, int],
                         done: dict[str, str], todo: list[str], *, cache: TranslationCache | None,
                         started: float, progress: bool, label: str) -> TranslationOutcome:
    """Run steps 3-5 for a system that schedules its own batches: one call, a commit per piece."""
    fingerprint = system.fingerprint()
    hits = list(done)
    details = dict(cache.get_details(fingerprint, hits)) if cache is not None and hits else {}
    cached_details = dict(details)
    errors: dict[str, str] = {}
    owners: dict[str, list[int]] = {}
    for index, pieces in enumerate(segment_pieces):
        for piece in pieces:
            owners.setdefault(piece, []).append(index)
    remaining = [len({p for p in pieces if p not in done}) for pieces in segment_pieces]
    bar = _Progress(total=len(sources), done=sum(1 for r in remaining if r == 0), label=label,
                    enabled=progress)
    tokens = 0

    def on_result(result: PieceResult) -> None:
        nonlocal tokens
        if result.output is None:
            errors[result.source] = result.error or "failed"
        else:
            if cache is not None:  # its own transaction: a kill loses nothing finished
                cache.put_many(fingerprint, [(result.source, result.output)],
                               details={result.source: result.details} if result.details
                               else None)
            done[result.source] = result.output
            details[result.source] = dict(result.details)
        finished = 0
        for index in set(owners.get(result.source, ())):
            remaining[index] -= 1
            finished += remaining[index] == 0
        piece_tokens = system.num_tokens(result.source) if result.output is not None else 0
        tokens += piece_tokens
        bar.update(finished, piece_tokens)

    t0 = time.perf_counter()
    try:
        usage = system.translate_pieces(list(todo), cached=cached_details, on_result=on_result)
    finally:
        bar.close()
    model_seconds = time.perf_counter() - t0
    missing = [p for p in todo if p not in done and p not in errors]
    for piece in missing:
        errors[piece] = "the system reported no result"
    failed: dict[int, str] = {}
    flags: dict[int, tuple[str, ...]] = {}
    for index, pieces in enumerate(segment_pieces):
        reasons = [errors[p] for p in pieces if p in errors]
        if reasons:
            failed[index] = reasons[0]
        seen = [f for p in pieces for f in details.get(p, {}).get("flags", ())]
        if seen:
            flags[index] = tuple(dict.fromkeys(seen))
    for piece in errors:
        done[piece] = ""
    return TranslationOutcome(
        hypotheses=tuple("" if i in failed else h
                         for i, h in enumerate(_join(system, segment_pieces, done))),
        chunks=chunks, pieces=len(owners), cached_pieces=len(hits),
        translated_pieces=len(todo) - len(errors), calls=1 if todo else 0,
        translated_tokens=tokens, seconds=time.perf_counter() - started,
        model_seconds=model_seconds, failed=failed, flags=flags,
        usage=dict(usage) if usage is not None else None)
