"""Neural metrics run in worker processes: dedupe, cache, shard, and fail as "n/a (reason)".

A ``NeuralMetric`` (COMET, MetricX) is a mean of segment scores. Scoring all
systems of a data set is one job: the distinct (source, hypothesis,
reference) triples across systems are looked up in the segment-score cache,
the rest are sent as JSON to ``neural_worker.py`` running in its own
interpreter (one worker per GPU when several are visible), and every batch it
returns is stored in the cache before the next is read. Out of memory (even
at batch size 1), a crash (e.g. SIGKILL), no output for ``timeout`` seconds,
or malformed output raise ``MetricUnavailable`` with that reason: the run
records the metric as ``n/a (reason)`` and goes on with the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evalmt.errors import MetricError
from evalmt.metrics.base import MeanSegmentMetric, MetricUnavailable
from evalmt.metrics.records import ReferenceStreams
from evalmt.metrics.score_cache import Item, ScoreCache

WORKER_SCRIPT = Path(__file__).with_name("neural_worker.py")
#: Options every neural metric takes (see docs/metrics.md).
COMMON_OPTIONS = {"model", "batch_size", "device", "timeout", "cache", "local_files_only"}


def directory_sha256(path: Path, memo: Any = None) -> str:
    """Return the sha256 over every file of a directory (relative names and contents, sorted).

    ``memo`` (a ``ScoreCache``) remembers the hash per (names, sizes, mtimes), so
    a multi-GB checkpoint is read once, not on every run.
    """
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stat_key = hashlib.sha256(json.dumps(
        [str(path.resolve())] + [[str(f), f.stat().st_size, f.stat().st_mtime_ns]
                                 for f in files]).encode()).hexdigest()
    if memo is not None and (known := memo.get_meta(f"dir:{stat_key}")):
        return known
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(b"\0")
        with file.open("rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(block)
    if memo is not None:
        memo.put_meta(f"dir:{stat_key}", digest.hexdigest())
    return digest.hexdigest()


@dataclass
class _Worker:
    """One running worker process and what it owes us."""

    proc: subprocess.Popen
    stderr: Path
    pending: set[int]
    shard: list[int]  # position in the parent's list of each item sent
    buffer: bytes = b""
    last: float = field(default_factory=time.monotonic)
    finished: bool = False


class NeuralMetric(MeanSegmentMetric):
    """Base of the neural metrics; subclasses say how to start the worker and what it needs."""

    kind: str = ""
    worker_script: Path = WORKER_SCRIPT

    def __init__(self, key: str, name: str, options: Mapping[str, Any], *,
                 higher_is_better: bool, allowed: set[str]) -> None:
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise MetricError(f"metrics.{key}: unknown option(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(sorted(allowed))}")
        if not isinstance(options.get("model"), str) or not options["model"]:
            raise MetricError(f"metrics.{key}: option 'model' (a local directory or hub id) "
                              "is required")
        self.key, self.name, self.higher_is_better = key, name, higher_is_better
        self.options = dict(options)
        self.batch_size = self._int("batch_size", 16)
        self.timeout = float(self.options.get("timeout", 600))
        if self.timeout <= 0:
            raise MetricError(f"metrics.{key}.timeout: must be > 0 seconds, got {self.timeout}")
        device = str(self.options.get("device", "auto"))
        if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
            raise MetricError(f"metrics.{key}.device: expected auto, cpu, cuda or cuda:N, "
                              f"got {device!r}")
        self.device = device
        self._fingerprint: str | None = None
        self._checkpoint: dict[str, str] = {}
        self._versions: dict[str, str] = {}
        self._cache: ScoreCache | None = None
        self._cache_path: Path | None = None
        self._details: dict[str, dict[str, list[Any]]] = {}
        self.stats: dict[str, int] = {}

    def _int(self, option: str, default: int) -> int:
        value = self.options.get(option, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise MetricError(f"metrics.{self.key}.{option}: expected an integer >= 1, "
                              f"got {value!r}")
        return value

    # -- what subclasses provide --------------------------------------------------
    def python(self) -> str:
        """Return the interpreter that runs the worker."""
        return sys.executable

    def resolve_checkpoint(self) -> dict[str, str]:
        """Return {"path": what the worker loads, "id": revision or sha256} (may raise)."""
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        """Return the versions of the packages that compute the scores."""
        raise NotImplementedError

    def score_options(self) -> dict[str, Any]:
        """Return the options that change scores (they enter the fingerprint and signature)."""
        return {}

    def uses_references(self) -> bool:
        """Tell whether the worker is sent references."""
        return True

    # -- protocol -----------------------------------------------------------------
    def attach_cache(self, path: str | Path | None) -> None:
        """Use the segment-score cache file at ``path`` (``None``: no cache)."""
        self._cache_path = Path(path) if path is not None and self.options.get("cache", True) \
            else None

    def load(self) -> None:
        """Resolve the checkpoint and versions (the model itself loads in the worker)."""
        if self._fingerprint is not None:
            return
        if self._cache_path is not None and self._cache is None:
            self._cache = ScoreCache(self._cache_path)
        self._checkpoint = self.resolve_checkpoint()
        self._versions = self.versions()
        blob = json.dumps({"kind": self.kind, "checkpoint": self._checkpoint["id"],
                           "versions": self._versions, "options": self.score_options()},
                          sort_keys=True)
        self._fingerprint = hashlib.sha256(blob.encode()).hexdigest()

    def close(self) -> None:
        """Close the cache."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def describe(self) -> dict[str, Any]:
        """Key, name, checkpoint, versions and options (for the manifest)."""
        return {"key": self.key, "name": self.name, "options": dict(self.options),
                "checkpoint": dict(self._checkpoint), "versions": dict(self._versions),
                "fingerprint": self._fingerprint, "segments": dict(self.stats)}

    def signature(self, *, references: ReferenceStreams, segment: bool = False,
                  **extra: Any) -> str:
        """Return ``name|model:…|checkpoint:…|<package>:<version>…|<options>|refs:…``."""
        parts = [f"{self.name}", f"model:{self.options['model']}",
                 f"checkpoint:{self._checkpoint.get('id', '?')}"]
        parts += [f"{k}:{v}" for k, v in sorted(self._versions.items())]
        parts += [f"{k}:{v}" for k, v in sorted(self.score_options().items())]
        parts.append(f"refs:{len(references) if self.uses_references() else 0}")
        parts += [f"{k}:{v}" for k, v in extra.items()]
        return "|".join(parts)

    def segment_details(self) -> dict[str, dict[str, list[Any]]]:
        """Per system, the per-segment extras of the last call (XCOMET: ``error_spans``)."""
        return self._details

    def segment_scores(self, *, sources: Sequence[str], hypotheses: Mapping[str, Sequence[str]],
                       references: ReferenceStreams) -> dict[str, list[float]]:
        """Score every system: cached triples from the cache, the rest in worker processes."""
        self.load()
        refs = [next((r for r in seg if r is not None), None) for seg in zip(*references,
                                                                            strict=True)]
        if self.uses_references() and any(r is None for r in refs):
            raise MetricError(f"{self.name}: segment {refs.index(None)} has no reference")
        if all(not s for s in sources):
            raise MetricError(f"{self.name}: needs the source segments (none were given; "
                              "evalmt score: --src FILE)")
        triples = {system: [(s, h, r if self.uses_references() else None)
                            for s, h, r in zip(sources, hyps, refs, strict=True)]
                   for system, hyps in hypotheses.items()}
        unique = list(dict.fromkeys(t for ts in triples.values() for t in ts))
        fp = self._fingerprint or ""
        done: dict[Item, tuple[float, Any]] = self._cache.get_many(fp, unique) \
            if self._cache is not None else {}
        todo = [t for t in unique if t not in done]
        self.stats = {"segments": sum(len(t) for t in triples.values()),
                      "unique": len(unique), "cached": len(done), "scored": len(todo)}
        if todo:
            done.update(self._run_workers(todo))
        self._details = {}
        for system, ts in triples.items():
            details = [done[t][1] for t in ts]
            if any(d is not None for d in details):
                keys = sorted({k for d in details if d for k in d})
                self._details[system] = {k: [(d or {}).get(k) for d in details] for k in keys}
        return {system: [done[t][0] for t in ts] for system, ts in triples.items()}

    # -- workers ------------------------------------------------------------------
    def _devices(self) -> list[str]:
        if self.device not in ("auto", "cuda"):
            return [self.device]
        import torch  # only to count GPUs

        count = torch.cuda.device_count()
        if count == 0:
            return ["cpu"] if self.device == "auto" else ["cuda"]
        return [f"cuda:{i}" for i in range(count)]

    def _run_workers(self, todo: list[Item]) -> dict[Item, tuple[float, Any]]:
        devices = self._devices()
        shards = [list(range(i, len(todo), len(devices))) for i in range(len(devices))]
        results: dict[Item, tuple[float, Any]] = {}
        with tempfile.TemporaryDirectory(prefix="evalmt-metric-") as tmp:
            workers = []
            try:
                for k, (device, shard) in enumerate(zip(devices, shards, strict=True)):
                    if shard:
                        workers.append(self._start(Path(tmp), k, device,
                                                   [todo[i] for i in shard], shard))
                self._collect(workers, todo, results)
            finally:
                for w in workers:
                    if w.proc.poll() is None:
                        _kill(w.proc)
                    for stream in (w.proc.stdout,):
                        if stream is not None:
                            stream.close()
        return results

    def _start(self, tmp: Path, k: int, device: str, items: list[Item],
               shard: list[int]) -> _Worker:
        request = {"kind": self.kind, "model": self._checkpoint["path"], "device": device,
                   "batch_size": self.batch_size, "items": [list(t) for t in items],
                   "options": {**self.score_options(),
                               "local_files_only": bool(self.options.get("local_files_only",
                                                                         False))}}
        path = tmp / f"request-{k}.json"
        path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        stderr = tmp / f"stderr-{k}.txt"
        with stderr.open("wb") as err:
            # -I: the worker's folder (holding evalmt's comet.py) must not shadow packages
            proc = subprocess.Popen([self.python(), "-I", str(self.worker_script), str(path)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=err, start_new_session=True)
        return _Worker(proc, stderr, set(range(len(items))), shard)

    def _collect(self, workers: list[_Worker], todo: list[Item],
                 results: dict[Item, tuple[float, Any]]) -> None:
        selector = selectors.DefaultSelector()
        for w in workers:
            os.set_blocking(w.proc.stdout.fileno(), False)
            selector.register(w.proc.stdout, selectors.EVENT_READ, w)
        while any(not w.finished for w in workers):
            for key, _ in selector.select(timeout=1.0):
                w: _Worker = key.data
                chunk = _read(key.fileobj)
                if chunk is None:
                    continue
                if chunk:
                    w.last = time.monotonic()
                    w.buffer += chunk
                    *lines, w.buffer = w.buffer.split(b"\n")
                    for line in lines:
                        if line.strip():
                            self._event(w, line, todo, results)
                else:  # end of output: the worker exited
                    selector.unregister(key.fileobj)
                    self._finish(w)
            for w in workers:
                if not w.finished and time.monotonic() - w.last > self.timeout:
                    _kill(w.proc)
                    raise MetricUnavailable("timeout", f"{self.name} worker gave no output for "
                                            f"{self.timeout:g} s")

    def _event(self, w: _Worker, line: bytes, todo: list[Item],
               results: dict[Item, tuple[float, Any]]) -> None:
        try:
            event = json.loads(line)
            kind = event["event"]
            if kind == "scores":
                index, scores = event["index"], event["scores"]
                detail = event.get("detail") or [None] * len(index)
                if not (len(index) == len(scores) == len(detail)) or \
                        not set(index) <= w.pending or \
                        not all(isinstance(s, (int, float)) and s == s for s in scores):
                    raise ValueError("indices, scores and details do not match")
        except (ValueError, KeyError, TypeError) as exc:
            _kill(w.proc)
            raise MetricUnavailable("malformed output",
                                    f"{self.name} worker wrote {line[:200]!r}: {exc}") from exc
        if kind == "error":
            _kill(w.proc)
            raise MetricUnavailable(str(event.get("reason") or "failed"),
                                    str(event.get("detail", ""))[-500:])
        if kind == "scores":
            rows = [(todo[w.shard[i]], float(s), d) for i, s, d in zip(index, scores, detail,
                                                                       strict=True)]
            if self._cache is not None:
                self._cache.put_many(self._fingerprint or "", rows)
            for item, score, d in rows:
                results[item] = (score, d)
            w.pending -= set(index)
        elif kind == "done":
            w.finished = not w.pending or w.finished
            if w.pending:
                _kill(w.proc)
                raise MetricUnavailable("malformed output", f"{self.name} worker finished "
                                        f"with {len(w.pending)} segment(s) unscored")

    def _finish(self, w: _Worker) -> None:
        code = w.proc.wait()
        w.finished = True
        if code == 0 and not w.pending:
            return
        tail = w.stderr.read_text(encoding="utf-8", errors="replace").strip()[-500:]
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            raise MetricUnavailable(f"crashed ({name})", tail)
        if code == 0:
            raise MetricUnavailable("malformed output", f"{self.name} worker exited with "
                                    f"{len(w.pending)} segment(s) unscored")
        raise MetricUnavailable(f"crashed (exit {code})", tail)


def _read(stream: IO[bytes]) -> bytes | None:
    """Read what is there (b"" at end of output, None on a spurious wake-up)."""
    try:
        return os.read(stream.fileno(), 1 << 16)
    except BlockingIOError:
        return None


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker's whole process group (it may have started helpers) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
