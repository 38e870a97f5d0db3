"""The runner's test doubles and data: a plugin system that logs every source it translates.

``DOUBLES_SOURCE`` is written to a file and loaded through ``plugins:`` (the
``doubles_dir`` fixture in tests/conftest.py), like a researcher's own system.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The test-double plugin (also used by test_cli_run.py, in-process and in subprocesses).
DOUBLES_SOURCE = '''\
"""Test-double systems for evalmt run tests."""
import json, os, time
from typing import Literal, Optional
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator


class CountingConfig(SystemConfig):
    type: Literal["counting"] = "counting"
    log: str
    delay: float = 0.0
    max_batch_size: int = 64
    fail_on: Optional[str] = None
    interrupt_on: Optional[str] = None
    uppercase: bool = True
    max_input: Optional[int] = None


class CountingSystem(Translator):
    """Upper-case each source; append each translated source to ``log`` (one JSON line)."""

    config_model = CountingConfig

    def __init__(self, config, *, src_lang, tgt_lang, base_dir=None):
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.max_input_tokens = config.max_input

    def fingerprint(self):
        # log, delay and failure switches do not change outputs
        return f"counting-v1-uppercase={self.config.uppercase}"

    def translate(self, batch):
        time.sleep(self.config.delay)
        for src in batch:
            if self.config.fail_on and self.config.fail_on in src:
                raise RuntimeError("deliberate failure")
            if self.config.interrupt_on and self.config.interrupt_on in src:
                raise KeyboardInterrupt
        with open(self.config.log, "a", encoding="utf-8") as fh:
            for src in batch:
                fh.write(json.dumps(src) + "\\n")
            fh.flush()
            os.fsync(fh.fileno())
        return [s.upper() if self.config.uppercase else s for s in batch]


if "counting" not in SYSTEMS:
    SYSTEMS.add("counting", CountingSystem)
'''

#: doc id -> [(source, reference)]; all sources distinct.
DOCS = {
    "d1": [("the cat sat on the mat", "THE CAT SAT ON THE MAT"),
           ("a dog barked", "A DOG BARKED LOUDLY")],
    "d2": [("it rains today", "IT RAINS TODAY"),
           ("we stay inside", "WE STAY AT HOME"),
           ("tea is hot", "THE TEA IS HOT")],
    "d3": [("good night", "GOOD NIGHT EVERYONE"),
           ("see you tomorrow", "SEE YOU TOMORROW")],
}


def write_data(folder: Path, name: str = "data.jsonl", docs: dict = DOCS) -> Path:
    rows = [{"doc_id": d, "src": s, "ref": r} for d, pairs in docs.items() for s, r in pairs]
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_config(folder: Path, doubles_dir: Path, *, name: str = "t", extra: str = "",
                 systems: str | None = None, datasets: str | None = None,
                 output: str | None = None, plugin: str | None = None) -> Path:
    write_data(folder)
    log = folder / "calls.log"
    systems = systems or f"""\
  - {{name: upper, type: counting, log: '{log}'}}
  - {{name: copy, type: copy}}
"""
    datasets = datasets or """\
  - {name: set1, reader: jsonl, path: data.jsonl, doc_id_field: doc_id,
     src_lang: de, tgt_lang: en}
"""
    text = f"""\
name: '{name}'
plugins: ['{plugin or doubles_dir / "evalmt_run_doubles.py"}']
data:
{datasets}systems:
{systems}metrics: [bleu, chrf, ter]
confidence: {{samples: 50, seed: 1}}
significance: {{samples: 50, seed: 1}}
output: '{output or folder / "results"}'
{extra}"""
    path = folder / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def logged(folder: Path) -> list[str]:
    log = folder / "calls.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
