"""``evalmt run`` with an ``openai`` system against the fault-injecting server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from testkit.fake_api import FakeAPI

from evalmt.cache import TranslationCache
from evalmt.cli import main
from evalmt.config import load_config
from evalmt.report.html import report_payload
from evalmt.runner import build_system

SOURCES = ["一", "二", "三", "四", "五", "六"]
REFS = ["one", "two", "three", "four", "five", "six"]


@pytest.fixture(scope="module")
def server():
    api = FakeAPI(max_sleep=8.0)
    yield api
    api.close()


@pytest.fixture
def api(server):
    server.reset()
    return server


def write_config(folder: Path, api: FakeAPI, **system) -> Path:
    rows = [{"doc_id": f"d{i // 2}", "src": s, "ref": r}
            for i, (s, r) in enumerate(zip(SOURCES, REFS, strict=True))]
    (folder / "data.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                               for r in rows), encoding="utf-8")
    config = {
        "name": "api-run",
        "data": [{"name": "set", "reader": "jsonl", "path": "data.jsonl",
                  "doc_id_field": "doc_id", "src_lang": "zh", "tgt_lang": "en"}],
        "systems": [{"name": "api", "type": "openai", "base_url": api.base_url, "model": "m",
                     "prompt": "{source}", "cleanup": False, "backoff": 0.01,
                     "max_backoff": 0.05, "prices": {"prompt": 2.0, "completion": 8.0},
                     **system}],
        "metrics": ["bleu"],
        "output": str(folder / "results"),
        "cache": str(folder / "cache.sqlite"),
    }
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "results" / "api-run" / "manifest.json").read_text("utf-8"))


def test_failed_segment_makes_the_run_incomplete_and_a_rerun_retries_only_it(
        api, tmp_path, capsys):
    api.reset({"三": ["400"]})
    config = write_config(tmp_path, api)
    assert main(["run", str(config), "--no-progress"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "incomplete" in err and "1 of 6 segment(s) failed" in err and "HTTP 400" in err
    manifest = manifest_of(tmp_path)
    assert manifest["status"] == "incomplete"
    result = manifest["results"]["set"]["api"]
    cell = manifest["cells"][result["cell"]]
    assert cell["status"] == "failed" and cell["reason"].startswith("1 segment(s) failed")
    assert list(result["timing"]["failures"]) == ["2"]
    assert result["hygiene"]["failed"] == 1
    rows = [json.loads(line) for line in (tmp_path / "results" / "api-run" / "hypotheses"
                                          / "api.jsonl").read_text("utf-8").splitlines()]
    assert "HTTP 400" in rows[2]["failed"] and "failed" not in rows[0]
    assert [r["hyp"] for r in rows] == [f"EN[{s}]" if s != "三" else "" for s in SOURCES]

    api.reset()
    assert main(["run", str(config), "--no-progress", "--overwrite"]) == 0
    assert [r["source"] for r in api.requests] == ["三"]
    manifest = manifest_of(tmp_path)
    assert manifest["status"] == "complete"
    usage = manifest["results"]["set"]["api"]["usage"]
    assert (usage["requests"], usage["saved_by_cache"]["requests"]) == (1, 5)
    # 10 prompt tokens (4 cached, at the prompt price as no cached price is set), 5 completion.
    assert usage["cost"] == pytest.approx((10 * 2.0 + 5 * 8.0) / 1e6)
    run_dir = tmp_path / "results" / "api-run"
    assert "### API usage and cost" in (run_dir / "scores.md").read_text("utf-8")
    usage_csv = (run_dir / "usage.csv").read_text("utf-8").splitlines()
    assert usage_csv[0].startswith("system,requests,failed,retries") and len(usage_csv) == 2
    scores = json.loads((run_dir / "scores.json").read_text("utf-8"))
    assert scores["usage"][0]["cache_hits"] == 5
    assert report_payload(run_dir)["datasets"][0]["usage"] == scores["usage"]

    api.reset()
    assert main(["run", str(config), "--dry-run"]) == 0
    assert "6/6" in capsys.readouterr().out and api.requests == []


def test_allow_partial_scores_failed_segments_as_empty(api, tmp_path, capsys):
    api.reset({"三": ["quota"]})
    config = write_config(tmp_path, api, allow_partial=True, concurrency=1)
    assert main(["run", str(config), "--no-progress"]) == 0
    manifest = manifest_of(tmp_path)
    assert manifest["status"] == "complete"
    assert any("scored as empty (allow_partial)" in w and "out of quota" in w
               for w in manifest["warnings"])
    # out of quota stops sending: the segments after it failed unsent
    assert manifest["results"]["set"]["api"]["hygiene"]["failed"] == 4
    assert len(api.requests) == 3


def test_api_key_is_never_written(api, tmp_path, monkeypatch, capsys):
    secret = "sk-test-4f8a1c9e2b7d"
    monkeypatch.setenv("EVALMT_TEST_KEY", secret)
    api.reset({"三": ["echo-key"], "四": ["length"]})
    config = write_config(tmp_path, api, api_key_env="EVALMT_TEST_KEY", allow_partial=True)
    assert main(["run", str(config), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert all(r["authorization"] == f"Bearer {secret}" for r in api.requests)
    manifest = manifest_of(tmp_path)
    assert "***" in manifest["results"]["set"]["api"]["timing"]["failures"]["2"]
    assert manifest["results"]["set"]["api"]["hygiene"]["truncated"] == 1
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("cache.sqlite") for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in out.out + out.err


@pytest.mark.slow
def test_kill_9_loses_no_finished_answer(api, tmp_path):
    api.reset({"六": ["slow:8"]})
    config = write_config(tmp_path, api, concurrency=8)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "evalmt", "run", str(config), "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    system = build_system(load_config(config).systems[0], src_lang="zh", tgt_lang="en",
                          base_dir=tmp_path)
    cache_file = tmp_path / "cache.sqlite"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cache_file.exists():
                with TranslationCache(cache_file) as cache:
                    if cache.count() >= 5:
                        break
            time.sleep(0.1)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with TranslationCache(cache_file) as cache:
        kept = cache.get_many(system.fingerprint(), SOURCES)
    assert kept == {s: f"EN[{s}]" for s in SOURCES[:5]}
    assert manifest_of(tmp_path)["status"] == "incomplete"
    api.reset()
    assert main(["run", str(config), "--no-progress", "--overwrite"]) == 0
    assert [r["source"] for r in api.requests] == ["六"]


def test_bench_script_runs_end_to_end(tmp_path):
    """scripts/bench/api.py completes a small run and reports the ratios it prints."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "api.json"
    proc = subprocess.run(
        [sys.executable, str(root / "scripts" / "bench" / "api.py"), "--requests", "12",
         "--latency", "0", "--concurrency", "4", "--json", str(out)],
        env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    numbers = json.loads(out.read_text("utf-8"))
    assert numbers["requests"] == 12 and numbers["concurrency"] == 4
    assert numbers["speedup"] == pytest.approx(numbers["serial_s"] / numbers["parallel_s"],
                                               rel=0.05)
    assert "speedup" in proc.stdout and "cached rerun" in proc.stdout


def test_missing_api_key_fails_before_any_output(api, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EVALMT_TEST_KEY", raising=False)
    config = write_config(tmp_path, api, api_key_env="EVALMT_TEST_KEY")
    assert main(["run", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "systems.0.api_key_env: environment variable EVALMT_TEST_KEY is not set" in err
    assert not (tmp_path / "results").exists() and api.requests == []


def test_shipped_api_config_runs(api, tmp_path):
    """configs/zh-en-api.yaml, pointed at the fake server, runs end to end."""
    config = Path(__file__).resolve().parents[2] / "configs" / "zh-en-api.yaml"
    overrides = ["--set", f"systems.1.base_url={api.base_url}",
                 "--set", f"output={tmp_path / 'results'}", "--set", f"cache={tmp_path / 'c.db'}",
                 "--set", "confidence.samples=20", "--set", "significance.samples=20"]
    assert main(["run", str(config), "--no-progress", *overrides]) == 0
    manifest = json.loads((tmp_path / "results" / "zh-en-api" / "manifest.json")
                          .read_text("utf-8"))
    usage = manifest["results"]["sample"]["qwen2.5-7b-instruct"]["usage"]
    assert usage["requests"] == len(api.requests) > 0 and usage["failed"] == 0
