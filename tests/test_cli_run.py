"""``evalmt run`` and ``evalmt validate``: exit codes, dry run, options, interrupt and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from testkit.runner_doubles import DOCS, logged, read_jsonl, write_config

from evalmt.cli import main

SOURCES = [s for pairs in DOCS.values() for s, _ in pairs]


def cli(*args: str) -> int:
    return main([*args])


def test_validate_ok(tmp_path, doubles_dir, capsys):
    path = write_config(tmp_path, doubles_dir)
    assert cli("validate", str(path)) == 0
    out = capsys.readouterr().out
    assert "ok — run 't': 1 data set(s) × 2 system(s) [upper, copy]" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "systems.0.max_batch_size=many"],
         r"run\.yaml: systems\.0\.max_batch_size: Input should be a valid integer"),
        (["--set", "systems.9.delay=1"], r"--set systems\.9\.delay: systems has no item '9'"),
        (["--set", "colour=blue"], r"run\.yaml: colour: unknown key"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_invalid_config_exits_2_with_one_message(tmp_path, doubles_dir, capsys, command, args,
                                                 expected):
    path = write_config(tmp_path, doubles_dir)
    assert cli(command, str(path), *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalmt: error: ")
    assert re.search(expected, err)
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_dry_run_prints_job_matrix_and_writes_nothing(tmp_path, doubles_dir, capsys):
    path = write_config(tmp_path, doubles_dir)
    words = sum(len(s.split()) for s in SOURCES)
    assert cli("run", str(path), "--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["data", "set", "system", "segments", "tokens", "cached"]
    assert lines[1].split() == ["set1", "upper", "7", str(words), "0/7"]
    assert lines[2].split() == ["set1", "copy", "7", str(words), "0/7"]
    assert lines[3].startswith("2 job(s); 14 segment(s) to translate")
    assert not (tmp_path / "results").exists()
    assert cli("run", str(path), "--limit", "1", "--no-progress") == 0
    capsys.readouterr()
    assert cli("run", str(path), "--dry-run", "--only-system", "upper") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["set1", "upper", "7", str(words), "2/7"]
    assert len(lines) == 3 and lines[2].startswith("1 job(s); 5 segment(s) to translate")


def test_dry_run_never_touches_the_network(tmp_path, doubles_dir):
    """A hub model and no offline switches: the hub (a local stand-in) gets no request."""
    import http.server
    import threading

    requests: list[str] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            requests.append(self.path)
            self.send_error(500)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        path = write_config(tmp_path, doubles_dir, systems="""\
  - {name: copy, type: copy}
  - {name: hub, type: hf-seq2seq, model: some-org/not-downloaded-model}
""")
        env = {k: v for k, v in os.environ.items()
               if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")}
        env.update(HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
                   HF_HOME=str(tmp_path / "hf-home"))
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "evalmt", "run", str(path), "--dry-run"],
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        elapsed = time.monotonic() - start
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["set1", "copy", "7", str(sum(len(s.split()) for s in SOURCES)),
                                "0/7"]
    assert lines[2].split() == ["set1", "hub", "7", "?", "?"]
    assert lines[4].startswith("unresolved offline: hub (set1): system 'hub': model: cannot "
                               "fetch config.json of hub model 'some-org/not-downloaded-model'")
    assert requests == []
    assert not (tmp_path / "results").exists()
    print(f"dry run took {elapsed:.1f}s")  # no hub retries (they took ~25 s)


def test_run_prints_scores_and_refuses_overwrite(tmp_path, doubles_dir, capsys):
    path = write_config(tmp_path, doubles_dir)
    assert cli("run", str(path), "--no-progress") == 0
    out = capsys.readouterr().out
    assert "| system | BLEU | chrF2 | TER |" in out
    assert f"results: {tmp_path / 'results' / 't'}" in out
    assert cli("run", str(path), "--no-progress") == 2
    assert "a finished run exists; pass --overwrite" in capsys.readouterr().err
    assert cli("run", str(path), "--no-progress", "--overwrite") == 0


def test_explicit_false_override_and_only_system(tmp_path, doubles_dir):
    path = write_config(tmp_path, doubles_dir)
    assert cli("run", str(path), "--no-progress", "--only-system", "upper",
               "--set", "systems.upper.uppercase=false") == 0
    rows = read_jsonl(tmp_path / "results/t/hypotheses/upper.jsonl")
    assert [r["hyp"] for r in rows] == SOURCES  # uppercase: false reached the system
    assert sorted(p.name for p in (tmp_path / "results/t/hypotheses").iterdir()) == ["upper.jsonl"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "expected a positive integer, got 0"),
        (["--limit", "x"], "expected a positive integer, got 'x'"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, doubles_dir, capsys, args, message):
    path = write_config(tmp_path, doubles_dir)
    with pytest.raises(SystemExit) as info:
        cli("run", str(path), *args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_only_system_exits_2(tmp_path, doubles_dir, capsys):
    path = write_config(tmp_path, doubles_dir)
    assert cli("run", str(path), "--only-system", "uper") == 2
    assert "unknown system 'uper'; did you mean 'upper'?" in capsys.readouterr().err


def test_keyboard_interrupt_exits_130_and_resumes(tmp_path, doubles_dir, capsys):
    log = tmp_path / "calls.log"
    systems = f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1, " \
              "interrupt_on: 'good night'}\n"
    path = write_config(tmp_path, doubles_dir, systems=systems)
    assert cli("run", str(path), "--no-progress") == 130
    assert "interrupted" in capsys.readouterr().err
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["error"].startswith("KeyboardInterrupt")
    done = logged(tmp_path)
    assert 0 < len(done) < len(SOURCES)
    assert cli("run", str(path), "--no-progress", "--set", "systems.0.interrupt_on=null") == 0
    assert sorted(logged(tmp_path)) == sorted(SOURCES)  # nothing translated twice
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["status"] == "complete" and "error" not in manifest
    assert manifest["results"]["set1"]["upper"]["timing"]["cached_pieces"] == len(done)


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, doubles_dir, monkeypatch):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    killed.mkdir()
    reference.mkdir()
    for folder in (killed, reference):
        log = folder / "calls.log"
        systems = f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1, " \
                  "delay: 0.3}\n  - {name: copy, type: copy}\n"
        write_config(folder, doubles_dir, systems=systems, plugin="evalmt_run_doubles")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(doubles_dir), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, "-m", "evalmt", "run", "run.yaml", "--no-progress"]

    # 1. an uninterrupted run
    done = subprocess.run(command, cwd=reference, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr

    # 2. the same run, killed with SIGKILL after three segments
    proc = subprocess.Popen(command, cwd=killed, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(logged(killed)) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)
    time.sleep(0.1)  # now inside the next segment's delay, before it is logged
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    manifest = json.loads((killed / "results/t/manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    translated_before_kill = len(logged(killed))
    assert 3 <= translated_before_kill < len(SOURCES)

    # 3. rerun: resumes from the cache, translating only what is left
    again = subprocess.run(command, cwd=killed, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert sorted(logged(killed)) == sorted(SOURCES)  # every segment translated exactly once
    manifest = json.loads((killed / "results/t/manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["results"]["set1"]["upper"]["timing"]["cached_pieces"] == \
        translated_before_kill

    a, b = killed / "results" / "t", reference / "results" / "t"
    assert json.loads((a / "scores.json").read_text()) == \
        json.loads((b / "scores.json").read_text())
    for name in ("upper.jsonl", "copy.jsonl"):
        assert (a / "hypotheses" / name).read_bytes() == (b / "hypotheses" / name).read_bytes()
    for name in ("segments.csv", "documents.csv", "significance.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
