"""Fault injection: kill -9, Ctrl-C, two runs at once, a failing model, a full disk.

The subprocess tests run the real ``evalmt run`` over the tiny Marian model
(``type: hf-seq2seq``, one segment per batch) and count translations through
the sqlite cache: a piece is translated at most once when the rerun's
``cached_pieces`` equals the rows left by the killed run and ``translated_pieces``
is the rest. In-process tests use the runner test doubles of tests/testkit/runner_doubles.py.

"Byte-identical to an uninterrupted run" means: every file of the run folder
has the same bytes, except ``manifest.json`` and the manifest copy embedded in
``report.html``, which must be equal once these run-specific fields are removed:
``started``, ``finished`` and ``results.<data set>.<system>.timing`` (wall-clock
times and the cached/translated counts, which differ by design), with the
absolute path of each run's own working folder (it appears in the data files'
hashes and sources) replaced by ``<folder>``.
"""

from __future__ import annotations

import errno
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from testkit.runner_doubles import DOCS, logged, write_config

from evalmt.cli import main

#: Twelve distinct Chinese sources (characters the tiny vocabulary knows) in three documents.
SOURCES = ["我们今天去北京。", "天气很好。", "我们很高兴。", "这是一个测试句子。",
           "机器翻译评估需要参考译文。", "中文和英文的文档放在同一个文件里。", "自动指标很重要。",
           "今天天气很好。", "我们去北京开会。", "这是第十个句子。", "参考译文和自动指标。",
           "文件里有中文。"]
REFERENCES = [f"Reference sentence number {i}." for i in range(1, len(SOURCES) + 1)]
COMMAND = [sys.executable, "-m", "evalmt", "run", "run.yaml", "--no-progress"]


def write_marian_run(folder: Path, model: Path, *, cache: str = "cache.sqlite") -> Path:
    """A run config over the tiny Marian model, translating one segment per batch."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "data.jsonl", "w", encoding="utf-8") as fh:
        for i, (src, ref) in enumerate(zip(SOURCES, REFERENCES, strict=True)):
            fh.write(json.dumps({"doc": f"d{i // 4}", "src": src, "ref": ref},
                                ensure_ascii=False) + "\n")
    path = folder / "run.yaml"
    path.write_text(f"""\
name: k
data:
  - {{name: s, reader: jsonl, path: data.jsonl, doc_id_field: doc, src_lang: zh, tgt_lang: en}}
systems:
  - {{name: marian, type: hf-seq2seq, model: '{model}', num_beams: 1, max_new_tokens: 6,
     batch_tokens: 1, device: cpu}}
metrics: [bleu, chrf]
confidence: {{samples: 20, seed: 1}}
significance: null
output: results
cache: '{cache}'
""", encoding="utf-8")
    return path


def cache_rows(path: Path) -> int:
    """Rows in the translations table, read without locking out the writer (0 before it exists)."""
    if not path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("select count(*) from translations").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # created but no table yet
        return 0


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def comparable(doc: dict, folder: Path) -> dict:
    """A manifest without its run-specific fields (see the module docstring)."""
    doc = json.loads(json.dumps(doc).replace(json.dumps(str(folder))[1:-1], "<folder>"))
    doc.pop("started", None)
    doc.pop("finished", None)
    for systems in doc.get("results", {}).values():
        for entry in systems.values():
            entry.pop("timing", None)
    return doc


def embedded_manifest(report: Path, folder: Path) -> tuple[str, dict]:
    """Split report.html into (page without its data, data with a comparable manifest)."""
    page = report.read_text(encoding="utf-8")
    match = re.search(r'(<script type="application/json" id="report-data">)(.*?)(</script>)',
                      page, re.S)
    assert match is not None
    data = json.loads(match.group(2))
    data["manifest"] = comparable(data["manifest"], folder)
    return page[:match.start(2)] + page[match.end(2):], data


def assert_same_results(a: Path, b: Path) -> None:
    """Run folders ``a`` and ``b`` hold the same files with the same contents (see above).

    Each is ``<working folder>/results/<run>``.
    """
    home_a, home_b = a.parents[1], b.parents[1]
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert not [f for f in files_a if f.name.endswith(".tmp")]
    for rel in files_a:
        if rel.name == "manifest.json":
            assert comparable(manifest(a), home_a) == comparable(manifest(b), home_b)
        elif rel.name == "report.html":
            assert embedded_manifest(a / rel, home_a) == embedded_manifest(b / rel, home_b)
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


#: Seconds every hf-seq2seq batch waits before translating, in the subprocess runs only.
#: The tiny model translates a segment in ~20 ms on an idle machine, faster than a test
#: can react; with the wait, "after k cached segments + up to 0.2 s" is always inside
#: batch k + 1, however loaded the machine is. Outputs are unchanged.
BATCH_DELAY = 0.25
SLOW_HOOK = f"""\
# Loaded by Python at start-up (sitecustomize) in the reliability fault tests only.
import time
import evalmt.systems.hf_seq2seq as _module

_translate = _module.HFSeq2SeqSystem.translate


def _slow_translate(self, batch):
    time.sleep({BATCH_DELAY})
    return _translate(self, batch)


_module.HFSeq2SeqSystem.translate = _slow_translate
"""


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hook")
    (folder / "sitecustomize.py").write_text(SLOW_HOOK, encoding="utf-8")
    return folder


def subprocess_env(hook: Path) -> dict[str, str]:
    path = os.pathsep.join([str(hook), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}


def wait_for_rows(proc: subprocess.Popen, cache: Path, rows: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while cache_rows(cache) < rows:
        if proc.poll() is not None:
            pytest.fail(f"run ended (exit {proc.returncode}) before {rows} rows were cached: "
                        f"{proc.stderr.read().decode() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def reference_run(tiny_marian, hook_dir, tmp_path_factory) -> Path:
    """An uninterrupted run; its folder is what every interrupted run must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    write_marian_run(folder, tiny_marian)
    done = subprocess.run(COMMAND, cwd=folder, env=subprocess_env(hook_dir), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert cache_rows(folder / "cache.sqlite") == len(SOURCES)
    timing = manifest(folder / "results" / "k")["results"]["s"]["marian"]["timing"]
    assert timing["calls"] == len(SOURCES)  # one segment per batch
    assert timing["model_seconds"] >= BATCH_DELAY * len(SOURCES)  # the start-up hook is active
    return folder / "results" / "k"


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "third"), [(1, 0), (2, 1), (3, 2)])
def test_sigkill_at_a_random_point_then_resume(seed, third, reference_run, tiny_marian, hook_dir,
                                               tmp_path):
    # one seeded point in each third of the run (0-2, 3-5 or 6-8 segments cached)
    rng = random.Random(seed)
    kill_after = rng.randrange(3 * third, 3 * third + 3)  # cached rows before the kill
    extra_sleep = rng.uniform(0.0, 0.2)  # then somewhere inside the next batch
    write_marian_run(tmp_path, tiny_marian)
    cache = tmp_path / "cache.sqlite"
    proc = subprocess.Popen(COMMAND, cwd=tmp_path, env=subprocess_env(hook_dir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_rows(proc, cache, kill_after)
        time.sleep(extra_sleep)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    left = cache_rows(cache)
    assert kill_after <= left < len(SOURCES)
    run_dir = tmp_path / "results" / "k"
    if (run_dir / "manifest.json").exists():
        assert manifest(run_dir)["status"] == "incomplete"

    again = subprocess.run(COMMAND, cwd=tmp_path, env=subprocess_env(hook_dir), capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    timing = manifest(run_dir)["results"]["s"]["marian"]["timing"]
    assert (timing["cached_pieces"], timing["translated_pieces"]) == (left, len(SOURCES) - left)
    assert cache_rows(cache) == len(SOURCES)
    assert manifest(run_dir)["status"] == "complete"
    assert_same_results(run_dir, reference_run)


@pytest.mark.slow
def test_sigint_stops_cleanly_with_130(reference_run, tiny_marian, hook_dir, tmp_path):
    write_marian_run(tmp_path, tiny_marian)
    cache = tmp_path / "cache.sqlite"
    proc = subprocess.Popen(COMMAND, cwd=tmp_path, env=subprocess_env(hook_dir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_rows(proc, cache, 3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines()[-1] == "evalmt: interrupted"
    assert "Traceback" not in err.decode()
    run_dir = tmp_path / "results" / "k"
    doc = manifest(run_dir)
    assert doc["status"] == "incomplete" and doc["error"].startswith("KeyboardInterrupt")
    assert not (run_dir / "scores.json").exists()
    # the cache is consistent: sqlite's own check passes and every row is a known source
    conn = sqlite3.connect(cache)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        sources = [r[0] for r in conn.execute("select source from translations")]
    finally:
        conn.close()
    assert 3 <= len(sources) < len(SOURCES) and set(sources) <= set(SOURCES)
    again = subprocess.run(COMMAND, cwd=tmp_path, env=subprocess_env(hook_dir), capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert manifest(run_dir)["results"]["s"]["marian"]["timing"]["cached_pieces"] == len(sources)
    assert_same_results(run_dir, reference_run)


@pytest.mark.slow
def test_two_runs_at_once_share_the_cache(reference_run, tiny_marian, hook_dir, tmp_path):
    write_marian_run(tmp_path, tiny_marian)
    procs = [subprocess.Popen([*COMMAND, "--set", f"name={name}"], cwd=tmp_path,
                              env=subprocess_env(hook_dir), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for name in ("a", "b")]
    errs = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert cache_rows(tmp_path / "cache.sqlite") == len(SOURCES)
    a, b = tmp_path / "results" / "a", tmp_path / "results" / "b"
    for run_dir in (a, b):
        assert manifest(run_dir)["status"] == "complete"
        for name in ("scores.json", "segments.csv", "documents.csv", "hypotheses/marian.jsonl"):
            assert (run_dir / name).read_bytes() == (reference_run / name).read_bytes(), name
    names = {p.name for p in (tmp_path / "results").iterdir()}
    assert names == {"a", "b"}


# -- in-process faults (runner test doubles) --------------------------------------------------


def test_failing_batch_names_system_and_segments_and_keeps_finished_work(tmp_path, doubles_dir,
                                                                        capsys):
    log = tmp_path / "calls.log"
    sources = [s for pairs in DOCS.values() for s, _ in pairs]
    failing = "tea is hot"  # document d2, segment 3
    systems = (f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1, "
               f"fail_on: '{failing}'}}\n")
    path = write_config(tmp_path, doubles_dir, systems=systems)
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("evalmt: error: system 'upper' failed on a batch of 1 piece(s) "
                          "from segment(s) [d2:3] (first source: 'tea is hot'): RuntimeError: "
                          "deliberate failure")
    done = logged(tmp_path)
    assert failing not in done and done  # batches before the failure were translated
    assert manifest(tmp_path / "results" / "t")["status"] == "incomplete"
    # rerun without the fault: only what was not finished is translated
    assert main(["run", str(path), "--no-progress", "--set", "systems.0.fail_on=null"]) == 0
    assert sorted(logged(tmp_path)) == sorted(sources)
    timing = manifest(tmp_path / "results" / "t")["results"]["set1"]["upper"]["timing"]
    assert timing["cached_pieces"] == len(done)


@pytest.fixture
def disk_full(monkeypatch):
    """Make ``fsync`` of the named result file (and matching content) fail with ENOSPC."""
    from evalmt.report import run_dir as run_dir_module
    from evalmt.report import tables

    hits: list[str] = []

    def arm(name: str, contains: str = "") -> list[str]:
        real = os.fsync

        def fsync(fd: int) -> None:
            path = os.readlink(f"/proc/self/fd/{fd}")
            target = Path(path).name
            if target.startswith(f".{name}.") and contains in Path(path).read_text("utf-8"):
                hits.append(name)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd)

        fake_os = SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
        fake_os.fsync = fsync
        for module in (run_dir_module, tables):
            if hasattr(module, "os"):
                monkeypatch.setattr(module, "os", fake_os)
        return hits

    return arm


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    ("name", "contains", "written_before"),
    [
        ("upper.jsonl", "", []),
        ("scores.json", "", ["hypotheses/upper.jsonl", "hypotheses/copy.jsonl"]),
        ("segments.csv", "", ["hypotheses/upper.jsonl", "hypotheses/copy.jsonl"]),
        ("report.html", "", ["scores.json", "segments.csv", "hygiene.csv"]),
        ("manifest.json", '"status": "complete"',
         ["hypotheses/upper.jsonl", "hypotheses/copy.jsonl", "scores.json"]),
    ],
)
def test_disk_full_while_writing_results(tmp_path, doubles_dir, capsys, disk_full, name,
                                         contains, written_before):
    path = write_config(tmp_path, doubles_dir)
    hits = disk_full(name, contains)
    assert main(["run", str(path), "--no-progress"]) == 2
    assert hits == [name]
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(rf"evalmt: error: \S*{re.escape(name)}: cannot write: "
                        r"No space left on device", err), err
    run_dir = tmp_path / "results" / "t"
    doc = manifest(run_dir)
    assert doc["status"] == "incomplete"
    if name != "manifest.json":  # when the manifest itself cannot be written, the last one stays
        assert "No space left on device" in doc["error"]
    files = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}
    assert not [f for f in files if f.endswith(".tmp")]  # no temporary left behind
    if name != "manifest.json":
        assert not [f for f in files if f.endswith(name)]  # never a half-written file
    for rel in written_before:  # what was written before the fault is whole
        assert rel in files
        if rel.endswith(".jsonl"):
            rows = (run_dir / rel).read_text(encoding="utf-8").splitlines()
            assert len(rows) == 7 and all(json.loads(r) for r in rows)


class _FullDisk:
    """A sqlite connection whose inserts fail as on a full disk, after ``allowed`` of them."""

    def __init__(self, conn, allowed: int) -> None:
        self._conn, self.allowed = conn, allowed

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def executemany(self, sql, rows):
        return self.execute(sql, None, rows)

    def execute(self, sql, params=(), _many=None):
        if sql.lstrip().upper().startswith("INSERT") and "translations" in sql:
            if self.allowed <= 0:
                raise sqlite3.OperationalError("database or disk is full")
            self.allowed -= 1
        if _many is not None:
            return self._conn.executemany(sql, _many)
        return self._conn.execute(sql, params)


def test_disk_full_while_writing_the_cache(tmp_path, doubles_dir, capsys, monkeypatch):
    from evalmt import cache as cache_module

    real_init = cache_module.TranslationCache.__init__

    def init(self, path):
        real_init(self, path)
        self._conn = _FullDisk(self._conn, allowed=2)  # two batches fit, the third does not

    monkeypatch.setattr(cache_module.TranslationCache, "__init__", init)
    log = tmp_path / "calls.log"
    systems = f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1}}\n"
    path = write_config(tmp_path, doubles_dir, systems=systems)
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"evalmt: error: \S+translations\.sqlite: cannot write translation "
                        r"cache: database or disk is full\n", err), err
    run_dir = tmp_path / "results" / "t"
    assert manifest(run_dir)["status"] == "incomplete"
    assert not (run_dir / "hypotheses" / "upper.jsonl").exists()
    monkeypatch.setattr(cache_module.TranslationCache, "__init__", real_init)
    assert main(["run", str(path), "--no-progress"]) == 0  # space again: resumes
    timing = manifest(run_dir)["results"]["set1"]["upper"]["timing"]
    assert timing["cached_pieces"] == 2  # the two committed batches were kept
    assert sorted(set(logged(tmp_path))) == sorted(s for pairs in DOCS.values() for s, _ in pairs)


def test_interrupted_overwrite_keeps_usable_run_folders(tmp_path, doubles_dir, monkeypatch):
    """``--overwrite`` interrupted (a) mid-run and (b) while deleting the old run it set aside.

    (a) the old finished run survives until the new one completes; (b) is simulated
    in the middle of the removal (the old manifest gone, other files left, then
    KeyboardInterrupt); neither leaves a folder that a later run refuses.
    """
    import shutil

    from evalmt.report import run_dir as run_dir_module

    log = tmp_path / "calls.log"
    systems = f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1}}\n"
    path = write_config(tmp_path, doubles_dir, systems=systems)
    results = tmp_path / "results"
    assert main(["run", str(path), "--no-progress"]) == 0
    first = (results / "t" / "scores.json").read_bytes()

    # (a) interrupted mid-run: the finished run is kept aside, the new one resumes
    assert main(["run", str(path), "--no-progress", "--overwrite", "--set",
                 "systems.0.uppercase=false", "--set", "systems.0.interrupt_on=good night"]) == 130
    assert (results / ".t.previous" / "scores.json").read_bytes() == first
    assert manifest(results / "t")["status"] == "incomplete"
    assert main(["run", str(path), "--no-progress", "--set", "systems.0.uppercase=false"]) == 0
    assert not (results / ".t.previous").exists()

    # (b) interrupted while removing the run set aside
    def interrupted_rmtree(folder, *args, **kwargs):
        for manifest_file in Path(folder).rglob("manifest.json"):
            manifest_file.unlink()
        raise KeyboardInterrupt

    real_rmtree = shutil.rmtree
    monkeypatch.setattr(run_dir_module.shutil, "rmtree", interrupted_rmtree)
    assert main(["run", str(path), "--no-progress", "--overwrite"]) == 130
    monkeypatch.setattr(run_dir_module.shutil, "rmtree", real_rmtree)
    assert manifest(results / "t")["status"] == "complete"  # the new run had finished
    assert main(["run", str(path), "--no-progress", "--overwrite"]) == 0
    assert sorted(p.name for p in results.iterdir() if p.name != ".cache") == ["t"]
