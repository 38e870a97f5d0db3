"""The driver side of the ``ray`` executor: hand batches to replicas, commit what comes back.

``translate_on_replicas`` is ``evalmt.translate.translate_segments`` with the
model calls farmed out: the same cache lookup, the same ``pack_batches``
packing, one cache transaction per finished batch (this process is the only
writer), and outputs joined back in segment order. Up to
``IN_FLIGHT_PER_REPLICA`` batches wait on each replica, so none idles while
the driver commits. Ray does the scheduling; this only keeps replicas fed.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalmt.errors import TranslationError
from evalmt.execution.ray_executor import IN_FLIGHT_PER_REPLICA, _reason
from evalmt.segmentation import join_pieces
from evalmt.translate import (
    TranslationOutcome,
    _describe_batch,
    _Progress,
    commit_batch,
    pack_batches,
)

if TYPE_CHECKING:
    from evalmt.cache import TranslationCache
    from evalmt.execution.ray_executor import RayRun


def translate_on_replicas(run: RayRun, *, pieces: Sequence[Sequence[str]],
                          chunks: Mapping[int, int], lengths: Mapping[str, int],
                          cache: TranslationCache | None, batch_tokens: int, max_batch_size: int,
                          progress: bool, segment_ids: Sequence[str],
                          tgt_lang: str) -> TranslationOutcome:
    """Translate the pieces of every segment on ``run``'s replicas; one output per segment.

    ``pieces``/``chunks``/``lengths`` come from a replica's ``prepare`` (the
    tokenizer lives there). Raises ``TranslationError`` when the system fails
    on a batch, or when batches still fail after ``max_attempts`` tries on
    replicas that died; everything finished before stays in the cache.
    """
    ray = run.ray
    started = time.perf_counter()
    name, fingerprint = run.config.name, run.fingerprint()
    owners: dict[str, list[int]] = {}
    for index, segment in enumerate(pieces):
        for piece in segment:
            owners.setdefault(piece, []).append(index)
    unique = list(owners)
    done: dict[str, str] = dict(cache.get_many(fingerprint, unique)) if cache is not None else {}
    cached = len(done)
    todo = [p for p in unique if p not in done]
    remaining = [len({p for p in segment if p not in done}) for segment in pieces]
    pending = deque((batch, 1) for batch in pack_batches(
        todo, [lengths[p] for p in todo], batch_tokens=batch_tokens,
        max_batch_size=max_batch_size))
    inflight: dict[Any, tuple[list[int], int, Any]] = {}
    queued: dict[Any, deque] = {}  # replica → its batches' refs, oldest (running) first
    running_when_died: dict[Any, Any] = {}  # dead replica → the ref it was running
    failed: list[tuple[list[int], str]] = []
    totals = Counter()
    bar = _Progress(total=len(pieces), done=sum(1 for r in remaining if r == 0), label=name,
                    enabled=progress)

    def where(texts: list[str]) -> str:
        return _describe_batch(name, texts, [owners[t] for t in texts], segment_ids)

    def feed() -> None:
        while pending and run.replicas:
            load = Counter(replica for _, _, replica in inflight.values())
            replica = min(run.replicas, key=lambda r: load[r])
            if load[replica] >= IN_FLIGHT_PER_REPLICA:
                return
            batch, attempt = pending.popleft()
            ref = replica.translate.remote([todo[i] for i in batch])
            inflight[ref] = (batch, attempt, replica)
            queued.setdefault(replica, deque()).append(ref)

    try:
        feed()
        while inflight:
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            batch, attempt, replica = inflight.pop(ref)
            texts = [todo[i] for i in batch]
            try:
                outputs, stats = ray.get(ref)
            except ray.exceptions.RayActorError as exc:  # the replica died with the batch
                if replica not in running_when_died:
                    running_when_died[replica] = queued[replica][0]
                    run.ray.kill(replica)
                    run.replace(replica)
                # Only the batch it was running counts as a try; the ones waiting behind
                # it go back to the queue as they were.
                tries = attempt + (ref == running_when_died[replica])
                if tries <= run.execution.max_attempts and run.replicas:
                    pending.appendleft((batch, tries))
                    run.retried_batches += 1
                else:
                    failed.append((batch, f"replica died: {_reason(exc)}"))
                feed()
                continue
            except ray.exceptions.RayTaskError as exc:  # the system itself failed
                for other in inflight:
                    ray.cancel(other)
                raise TranslationError(f"{where(texts)}: {_reason(exc)}") from exc
            newly = commit_batch(texts, outputs, cache=cache, fingerprint=fingerprint,
                                 done=done, owners=owners, remaining=remaining,
                                 where=where)
            queued[replica].popleft()  # one actor runs its calls in order
            tokens = sum(lengths[t] for t in texts)
            totals.update(stats)
            totals["tokens"] += tokens
            bar.update(newly, tokens)
            feed()
    finally:
        bar.close()
    failed += [(batch, "no replica left to run it") for batch, _ in pending]
    if failed:
        lost = sum(len(batch) for batch, _ in failed)
        raise TranslationError(
            f"system {name!r}: {len(failed)} batch(es) ({lost} piece(s)) failed after "
            f"{run.execution.max_attempts} attempt(s): {failed[0][1]}; run incomplete — "
            f"{len(done)} of {len(unique)} pieces are translated and cached, rerun to resume")
    hypotheses = [done[segment[0]] if len(segment) == 1
                  else join_pieces([done[p] for p in segment], tgt_lang) for segment in pieces]
    return TranslationOutcome(
        hypotheses=tuple(hypotheses), chunks=chunks, pieces=len(unique), cached_pieces=cached,
        translated_pieces=len(todo), calls=int(totals["calls"]),
        oom_retries=int(totals["oom_retries"]), translated_tokens=int(totals["tokens"]),
        seconds=time.perf_counter() - started, model_seconds=float(totals["model_seconds"]))
