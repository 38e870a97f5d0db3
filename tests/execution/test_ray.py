"""The ``ray`` executor on a real local Ray instance: same results as ``local``, failures.

Ray tests are few on purpose (each run starts replica processes); they share
one Ray instance per session (``ray_cluster``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from evalmt.config import load_config
from evalmt.errors import ConfigError, TranslationError
from evalmt.runner import RunOptions, run

REPO = Path(__file__).resolve().parents[2]
SOURCES = [f"sentence number {i} of the test" for i in range(12)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_config(folder: Path, *, systems: list[dict], plugins: list[str] = (),
                 data: list[dict] | None = None, execution: dict | None = None,
                 name: str = "t") -> Path:
    if data is None:
        rows = [{"doc_id": f"d{i // 4}", "src": s, "ref": s.upper()} for i, s in
                enumerate(SOURCES)]
        (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                           encoding="utf-8")
        data = [{"name": "set1", "reader": "jsonl", "path": "data.jsonl",
                 "doc_id_field": "doc_id", "src_lang": "de", "tgt_lang": "en"}]
    config = {"name": name, "plugins": [str(p) for p in plugins], "data": data,
              "systems": systems, "metrics": ["bleu", "chrf"],
              "confidence": {"samples": 20, "seed": 1},
              "significance": {"samples": 20, "seed": 1},
              "output": str(folder / "results"), "cache": str(folder / "cache.sqlite")}
    if execution:
        config["execution"] = execution
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def outputs(run_dir: Path) -> dict[str, list[str]]:
    return {p.stem: [r["hyp"] for r in read_jsonl(p)]
            for p in sorted((run_dir / "hypotheses").glob("*.jsonl"))}


def scores(run_dir: Path) -> dict:
    doc = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    return {(r["system"], r["metric"]): (r["score"], r.get("ci_low"), r.get("ci_high"))
            for r in doc["scores"]}


@pytest.mark.slow
def test_ray_and_local_agree_on_the_demo_and_a_tiny_marian(tmp_path, ray_cluster,
                                                           tiny_marian):
    demo = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    systems = [*demo["systems"],
               {"name": "marian", "type": "hf-seq2seq", "model": str(tiny_marian),
                "num_beams": 2, "max_new_tokens": 8, "batch_tokens": 64, "device": "cpu"}]
    runs = {}
    for engine in ("local", "ray"):
        folder = tmp_path / engine
        folder.mkdir()
        execution = {"engine": "ray", "replicas": 2} if engine == "ray" else None
        path = write_config(folder, systems=systems, data=demo["data"], execution=execution)
        runs[engine] = run(load_config(path), RunOptions(progress=False)).run_dir
    assert outputs(runs["ray"]) == outputs(runs["local"])
    assert set(outputs(runs["ray"])) == {"dictionary-gloss", "copy-source", "marian"}
    assert scores(runs["ray"]) == scores(runs["local"])
    manifest = json.loads((runs["ray"] / "manifest.json").read_text(encoding="utf-8"))
    marian = manifest["systems"]["marian"]["directions"]["zh-en"]
    assert marian["execution"] == {"engine": "ray", "replicas": 2, "restarted_replicas": 0,
                                   "retried_batches": 0}
    assert manifest["results"]["sample"]["marian"]["timing"]["calls"] > 1  # batches spread


def test_a_dying_replica_has_its_batch_retried_then_fails_visibly(tmp_path, ray_cluster,
                                                                  replica_doubles):
    log = tmp_path / "calls.log"
    system = {"name": "upper", "type": "replica-double", "max_batch_size": 1, "log": str(log),
              "die_on": "number 5 ", "die_marker": str(tmp_path / "died-once")}
    path = write_config(tmp_path, systems=[system], plugins=[replica_doubles],
                        execution={"engine": "ray", "replicas": 2})
    run_dir = run(load_config(path), RunOptions(progress=False)).run_dir
    assert outputs(run_dir) == {"upper": [s.upper() for s in SOURCES]}
    assert (tmp_path / "died-once").exists()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    described = manifest["systems"]["upper"]["directions"]["de-en"]["execution"]
    assert described["retried_batches"] >= 1 and described["restarted_replicas"] == 1
    assert len({line.split("\t")[0] for line in log.read_text().splitlines()}) >= 2

    # A batch that kills every replica it reaches: bounded tries, then a visible failure.
    always = {**system, "die_on": "number 7 ", "die_marker": None, "name": "doomed"}
    folder = tmp_path / "doomed"  # its own cache
    folder.mkdir()
    path = write_config(folder, systems=[always], plugins=[replica_doubles], name="t2",
                        execution={"engine": "ray", "replicas": 2, "max_attempts": 2})
    with pytest.raises(TranslationError, match=r"system 'doomed': 1 batch\(es\) \(1 piece\(s\)\) "
                                               r"failed after 2 attempt\(s\): replica died"):
        run(load_config(path), RunOptions(progress=False))
    manifest = json.loads((folder / "results/t2/manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "incomplete"
    (cell,) = manifest["cells"].values()
    assert cell["status"] == "failed" and "replica died" in cell["reason"]
    assert cached_rows(folder / "cache.sqlite") == len(SOURCES) - 1  # the rest was kept


def test_missing_gpu_fails_at_once(tmp_path, ray_cluster, replica_doubles):
    system = {"name": "upper", "type": "replica-double"}
    path = write_config(tmp_path, systems=[system], plugins=[replica_doubles],
                        execution={"engine": "ray", "gpus_per_replica": 1, "replicas": 2})
    with pytest.raises(ConfigError, match=r"^execution: the Ray cluster lacks resources: 2 GPU "
                                          r"\(2 replica\(s\) × 1\) asked, the cluster has 0"):
        run(load_config(path), RunOptions(progress=False))


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.mark.slow
def test_killed_driver_resumes_from_the_cache(tmp_path, ray_cluster, replica_doubles):
    log = tmp_path / "calls.log"
    system = {"name": "upper", "type": "replica-double", "max_batch_size": 1,
              "delay": 0.3, "log": str(log)}
    path = write_config(tmp_path, systems=[system], plugins=[replica_doubles],
                        execution={"engine": "ray", "replicas": 2, "address": ray_cluster})
    command = [sys.executable, "-m", "evalmt", "run", str(path), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,  # noqa: S603
                              stderr=subprocess.PIPE, start_new_session=True)
    cache = tmp_path / "cache.sqlite"
    deadline = time.monotonic() + 120
    while cached_rows(cache) < 3 and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert driver.poll() is None, driver.communicate()
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and nothing else of the cluster
    driver.wait(timeout=30)
    committed = cached_rows(cache)
    assert 3 <= committed < len(SOURCES)
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "incomplete"

    again = subprocess.run(command, env=env, capture_output=True,  # noqa: S603
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    run_dir = tmp_path / "results" / "t"
    assert outputs(run_dir) == {"upper": [s.upper() for s in SOURCES]}
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["results"]["set1"]["upper"]["timing"]["cached_pieces"] >= committed
    # Reference: the same config on the local executor, from an empty cache.
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(tmp_path / "data.jsonl", local / "data.jsonl")
    local_path = write_config(local, systems=[{**system, "delay": 0.0, "log": None}],
                              plugins=[replica_doubles])
    local_dir = run(load_config(local_path), RunOptions(progress=False)).run_dir
    assert outputs(run_dir) == outputs(local_dir)
    assert scores(run_dir) == scores(local_dir)
