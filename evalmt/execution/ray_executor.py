"""The ``ray`` executor: one Ray actor per system replica, batches handed out by this process.

Each replica (:class:`Replica`) builds the system once and translates the
batches it is given. This process (the driver) keeps everything that decides
the results, exactly as the local executor does it: sentence chunking (asked
of one replica, which holds the tokenizer), the cache lookup, the length-sorted
token-budget packing of ``evalmt.translate.pack_batches``, the commit of each
finished batch to the sqlite cache (the one writer), and the join back into
segments in segment order, whatever order batches arrive in. So a run gives
the same outputs on either executor, and killing the driver then rerunning
resumes from the cache.

A replica that dies takes its in-flight batches with it: they go back to the
queue for the surviving replicas (and a replacement replica is started, at
most ``replicas`` times in a run) up to ``max_attempts`` tries per batch;
then the batch is recorded as failed with the reason, the other batches
finish, and the cell ends with a ``TranslationError`` that says what failed
and that everything else is cached. Resources are checked against
``ray.cluster_resources()`` before any actor is requested: Ray would wait
forever for GPUs the cluster does not have.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import ConfigError, TranslationError
from evalmt.execution import Executor, SystemRun
from evalmt.execution.local import (
    DEFAULT_BATCH_TOKENS,
    DEFAULT_MAX_BATCH_SIZE,
    LocalExecutor,
    segment_ids,
)
from evalmt.systems.base import SYSTEMS, SystemConfig, is_out_of_memory

if TYPE_CHECKING:
    from evalmt.cache import TranslationCache
    from evalmt.config import ExecutionConfig
    from evalmt.data.model import TestSet

#: Batches queued on one replica at a time (one running, one ready), so none idles.
IN_FLIGHT_PER_REPLICA = 2


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError('execution.engine: ray is not installed; pip install "evalmt[ray]"') \
            from None
    return ray


class Replica:
    """One replica of a system: built once in a Ray worker, translates batches."""

    def __init__(self, spec: dict[str, Any]) -> None:
        """Import the config's plugins, validate the system config and build the system."""
        from evalmt.config import import_plugin
        from evalmt.execution.local import build_system

        base_dir = Path(spec["base_dir"])
        for plugin in spec["plugins"]:
            problem = import_plugin(plugin, base_dir=base_dir)
            if problem:
                raise TranslationError(f"replica of {spec['config']['name']!r}: {problem}")
        config = SYSTEMS.get(spec["config"]["type"]).config_model.model_validate(spec["config"])
        self.system = build_system(config, src_lang=spec["src_lang"], tgt_lang=spec["tgt_lang"],
                                   base_dir=base_dir)
        self.size_cap = spec["max_batch_size"]

    def ready(self) -> dict[str, Any]:
        """Return the system's manifest description (called once the model is loaded)."""
        return self.system.describe()

    def describe(self) -> dict[str, Any]:
        """Return the system's manifest description, with counts gathered so far."""
        return self.system.describe()

    def prepare(self, sources: list[str]) -> tuple[list[list[str]], dict[int, int], dict]:
        """Chunk ``sources`` as the local executor does; return pieces, splits, piece lengths."""
        from evalmt.translate import split_segments

        pieces, chunks = split_segments(self.system, sources)
        lengths = {p: self.system.num_tokens(p) for ps in pieces for p in ps}
        return pieces, chunks, lengths

    def translate(self, texts: list[str]) -> tuple[list[str], dict[str, float]]:
        """Translate one batch; on out-of-memory halve it (and later ones), down to one piece."""
        outputs: list[str] = []
        stats = {"calls": 0, "oom_retries": 0, "model_seconds": 0.0}
        queue = deque(texts[i:i + self.size_cap] for i in range(0, len(texts), self.size_cap))
        while queue:
            chunk = queue.popleft()
            stats["calls"] += 1
            started = time.perf_counter()
            try:
                got = self.system.translate(list(chunk))
            except Exception as exc:
                if not (is_out_of_memory(exc) and len(chunk) > 1):
                    raise
                got = None
            finally:
                stats["model_seconds"] += time.perf_counter() - started
            if got is None:
                stats["oom_retries"] += 1
                _free_accelerator_memory()
                self.size_cap = max(1, len(chunk) // 2)
                queue.extendleft(reversed([chunk[i:i + self.size_cap]
                                           for i in range(0, len(chunk), self.size_cap)]))
                continue
            if not isinstance(got, (list, tuple)) or len(got) != len(chunk):
                return got, stats  # the driver names the batch in its error
            outputs.extend(got)
        return outputs, stats

    def close(self) -> None:
        """Release the model."""
        self.system.close()


def _free_accelerator_memory() -> None:
    from evalmt.translate import _free_accelerator_memory as free

    free()


class RayExecutor(Executor):
    """Run each model system as ``replicas`` Ray actors; cheap systems stay in this process."""

    engine = "ray"

    def __init__(self, config: ExecutionConfig) -> None:
        self.config = config
        self._started_ray = False
        self._resources: dict[str, float] | None = None

    def connect(self) -> Any:
        """Connect to (or start) Ray once and check the cluster can hold the replicas."""
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.config.address, include_dashboard=False,
                         logging_level="warning", log_to_driver=False)
            except Exception as exc:  # noqa: BLE001  (Ray raises many kinds; one line here)
                where = self.config.address or "a new local instance"
                raise ConfigError(f"execution.address: cannot connect to Ray at {where}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            self._started_ray = self.config.address is None
        if self._resources is None:
            self._resources = {k: float(v) for k, v in ray.cluster_resources().items()
                               if k in ("CPU", "GPU", "memory")}
            check_resources(self.config, self._resources)
        return ray

    def open_system(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                    base_dir: Path, plugins: tuple[str, ...] = ()) -> SystemRun:
        """Start the replicas of a model system; build other systems here."""
        cls = SYSTEMS.get(config.type)
        if not cls.runs_in_replicas or getattr(cls, "schedules_own_batches", False):
            return LocalExecutor().open_system(config, src_lang=src_lang, tgt_lang=tgt_lang,
                                               base_dir=base_dir)
        ray = self.connect()
        spec = {"config": config.model_dump(mode="json"), "src_lang": src_lang,
                "tgt_lang": tgt_lang, "base_dir": str(base_dir), "plugins": list(plugins),
                "max_batch_size": getattr(config, "max_batch_size", None)
                or DEFAULT_MAX_BATCH_SIZE}
        return RayRun(ray, self.config, config, spec)

    def close(self) -> None:
        """Shut down the Ray instance this executor started (a cluster it joined stays up)."""
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False


def check_resources(config: ExecutionConfig, resources: dict[str, float]) -> None:
    """Raise a one-line ``ConfigError`` when the cluster cannot hold every replica at once."""
    missing = []
    for key, per in (("GPU", config.gpus_per_replica), ("CPU", config.cpus_per_replica)):
        need, have = per * config.replicas, resources.get(key, 0.0)
        if need > have:
            missing.append(f"{need:g} {key} ({config.replicas} replica(s) × {per:g}) asked, "
                           f"the cluster has {have:g}")
    if missing:
        raise ConfigError("execution: the Ray cluster lacks resources: " + "; ".join(missing)
                          + " (lower execution.replicas or execution.gpus_per_replica / "
                            "cpus_per_replica, or add nodes)")


class RayRun(SystemRun):
    """A system running as Ray actors; this process batches, caches and orders."""

    def __init__(self, ray: Any, execution: ExecutionConfig, config: SystemConfig,
                 spec: dict[str, Any]) -> None:
        self.ray, self.execution, self.config, self.spec = ray, execution, config, spec
        self.remote = ray.remote(Replica).options(
            num_cpus=execution.cpus_per_replica, num_gpus=execution.gpus_per_replica,
            max_restarts=0)
        self.replicas = [self._start() for _ in range(execution.replicas)]
        self.replacements = execution.replicas  # how many dead replicas may be replaced
        try:
            self._describe = ray.get([r.ready.remote() for r in self.replicas])[0]
        except Exception as exc:
            self.close()
            raise TranslationError(f"system {config.name!r}: a replica failed to start: "
                                   f"{_reason(exc)}") from exc
        self.restarts = 0
        self.retried_batches = 0

    def _start(self) -> Any:
        return self.remote.remote(self.spec)

    def describe(self) -> dict[str, Any]:
        """Return the description of replica 0 (all replicas run the same config)."""
        if self.replicas:
            try:
                self._describe = self.ray.get(self.replicas[0].describe.remote())
            except Exception:  # noqa: BLE001,S110  (a dead replica: keep the last description)
                pass
        return {**self._describe,
                "execution": {"engine": "ray", "replicas": self.execution.replicas,
                              "restarted_replicas": self.restarts,
                              "retried_batches": self.retried_batches}}

    def fingerprint(self) -> str:
        """Return the fingerprint the replicas reported."""
        return self._describe["fingerprint"]

    def outputs(self, testset: TestSet, *, full: TestSet, cache: TranslationCache | None,
                progress: bool) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Translate ``testset`` on the replicas; outputs in segment order, plus timings."""
        from evalmt.execution.dispatch import translate_on_replicas

        if not self.replicas:
            raise TranslationError(f"system {self.config.name!r}: no replica left")
        pieces, chunks, lengths = self.ray.get(self.replicas[0].prepare.remote(
            testset.sources()))
        outcome = translate_on_replicas(
            self, pieces=pieces, chunks=chunks, lengths=lengths, cache=cache,
            batch_tokens=getattr(self.config, "batch_tokens", None) or DEFAULT_BATCH_TOKENS,
            max_batch_size=self.spec["max_batch_size"], progress=progress,
            segment_ids=segment_ids(testset), tgt_lang=self.spec["tgt_lang"])
        return outcome.hypotheses, {"precomputed": False, **outcome.as_dict()}

    def replace(self, dead: Any) -> Any | None:
        """Drop a dead replica; start a replacement while the run's budget allows."""
        if dead in self.replicas:
            self.replicas.remove(dead)
        if self.replacements <= 0:
            return None
        self.replacements -= 1
        self.restarts += 1
        fresh = self._start()
        self.replicas.append(fresh)
        return fresh

    def close(self) -> None:
        """Stop every replica (their models go with them)."""
        for replica in self.replicas:
            self.ray.kill(replica)
        self.replicas = []


def _reason(exc: BaseException) -> str:
    """One line for a Ray error: the replica's own exception when there is one."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
