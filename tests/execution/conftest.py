"""A real local Ray instance for the executor tests (started once per session: ~18 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Systems for the executor tests, loaded through ``plugins:`` by the driver and by every
#: Ray replica. ``die_on``: a replica whose batch holds that text exits at once (the
#: process dies, as when a node is lost) — once if ``die_marker`` names a file it may
#: create, every time otherwise.
DOUBLES_SOURCE = '''\
"""Test-double systems for the executor tests."""
import os, time
from typing import Literal, Optional
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator


class ReplicaDoubleConfig(SystemConfig):
    type: Literal["replica-double"] = "replica-double"
    delay: float = 0.0
    max_batch_size: int = 64
    die_on: Optional[str] = None
    die_marker: Optional[str] = None
    log: Optional[str] = None


class ReplicaDouble(Translator):
    """Upper-case each source; log each translated source with the process id."""

    config_model = ReplicaDoubleConfig

    def fingerprint(self):
        return "replica-double-v1"  # delay and failure switches do not change outputs

    def translate(self, batch):
        if self.config.die_on and any(self.config.die_on in s for s in batch):
            marker = self.config.die_marker
            if marker is None or not os.path.exists(marker):
                if marker is not None:
                    open(marker, "w").close()
                os._exit(1)
        time.sleep(self.config.delay)
        if self.config.log:
            with open(self.config.log, "a", encoding="utf-8") as fh:
                fh.writelines(f"{os.getpid()}\\t{s}\\n" for s in batch)
        return [s.upper() for s in batch]


if "replica-double" not in SYSTEMS:
    SYSTEMS.add("replica-double", ReplicaDouble)
'''


@pytest.fixture(scope="session")
def ray_cluster():
    """Start Ray with 2 CPUs for the session; yield its address for subprocess drivers."""
    import ray  # the [ray] extra; scripts/install.sh --dev installs it
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def replica_doubles(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("doubles") / "evalmt_replica_doubles.py"
    path.write_text(DOUBLES_SOURCE, encoding="utf-8")
    return path
