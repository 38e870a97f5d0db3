"""Neural metric workers: faults are "n/a (reason)", the cache scores only what is new,
inputs are deduplicated across systems, shards are merged, OOM halves the batch."""

import json
import sys
from pathlib import Path

import pytest

from evalmt.metrics import SignificanceOptions, build_metrics, score_systems
from evalmt.metrics.neural import COMMON_OPTIONS, NeuralMetric
from evalmt.metrics.neural_worker import run_batches

FAKE = Path(__file__).with_name("fake_worker.py")
SOURCES = ["s1", "s2", "s3", "s4", "s5"]
REFS = [["r one", "r two", "r three", "r four", "r five"]]
HYPS = {"a": ["aa", "bbb", "c", "dddd", "aa"], "b": ["aa", "x", "yy", "zzz", "w"]}
IDS = {"doc_ids": ["d1", "d1", "d1", "d2", "d2"], "seg_ids": ["1", "2", "3", "1", "2"]}


class Fake(NeuralMetric):
    kind = "fake"
    worker_script = FAKE

    def __init__(self, mode, **options):
        super().__init__("fake", "FAKE", {"model": mode, **options}, higher_is_better=True,
                         allowed=COMMON_OPTIONS)

    def resolve_checkpoint(self):
        return {"path": self.options["model"], "id": "fake-1"}

    def versions(self):
        return {"fake": "1"}


def expected(system):
    return [len(h) / 10 + len(r) / 100 for h, r in zip(HYPS[system], REFS[0], strict=True)]


def score(*metrics, hyps=HYPS):
    return score_systems(hypotheses=hyps, references=REFS, sources=SOURCES, **IDS,
                         metrics=[*build_metrics(["chrf"], tgt_lang="en"), *metrics],
                         significance=SignificanceOptions(samples=20))


def test_worker_scores_reach_every_table():
    report = score(Fake("ok"))
    assert report.metrics == ("chrF2", "FAKE") and not report.unavailable
    for system in HYPS:
        got = [r.score for r in report.segments if r.system == system and r.metric == "FAKE"]
        assert got == pytest.approx(expected(system))
        assert report.corpus_score(system, "FAKE").score == pytest.approx(
            sum(expected(system)) / 5)
    sig = report.corpus_score("a", "FAKE").signature
    assert "checkpoint:fake-1" in sig and "fake:1" in sig and "refs:1" in sig


@pytest.mark.parametrize(("mode", "reason"), [
    ("oom", "out of memory"),
    ("sigkill", "crashed (SIGKILL)"),
    ("garbage", "malformed output"),
    ("short", "malformed output"),
    ("exit3", "crashed (exit 3)"),
])
def test_fault_is_na_and_other_metrics_survive(mode, reason):
    report = score(Fake(mode))
    assert report.unavailable == (("FAKE", reason),)
    assert report.metrics == ("chrF2",)
    assert len([r for r in report.corpus if r.metric == "chrF2"]) == 2


def test_hang_is_a_timeout():
    report = score(Fake("hang", timeout=2))
    assert report.unavailable == (("FAKE", "timeout"),)


def test_cache_scores_only_new_inputs_and_dedupes(tmp_path):
    log = tmp_path / "calls.log"
    cache = tmp_path / "scores.sqlite"

    def run(hyps):
        metric = Fake(f"log:{log}")
        metric.attach_cache(cache)
        try:
            return score(metric, hyps=hyps), dict(metric.stats)
        finally:
            metric.close()

    first, stats = run({"a": HYPS["a"]})
    # "aa" appears twice in system a, but with different sources/references: 5 distinct
    assert stats == {"segments": 5, "unique": 5, "cached": 0, "scored": 5}
    again, stats = run({"a": HYPS["a"]})
    assert stats["scored"] == 0
    assert [r.score for r in again.segments] == [r.score for r in first.segments]
    _, stats = run(HYPS)  # an added system: only its new triples (its first is system a's)
    assert stats == {"segments": 10, "unique": 9, "cached": 5, "scored": 4}
    assert log.read_text().split() == ["5", "4"]


def test_killed_worker_keeps_finished_batches_in_cache(tmp_path):
    cache = tmp_path / "scores.sqlite"
    metric = Fake("sigkill")
    metric.attach_cache(cache)
    assert score(metric).unavailable == (("FAKE", "crashed (SIGKILL)"),)
    metric.close()
    resumed = Fake(f"log:{tmp_path / 'log'}")
    resumed.attach_cache(cache)
    report = score(resumed)
    resumed.close()
    assert not report.unavailable
    assert resumed.stats["cached"] == 2 and resumed.stats["scored"] == 7


def test_shards_are_merged(monkeypatch):
    metric = Fake("ok")
    monkeypatch.setattr(metric, "_devices", lambda: ["cpu", "cpu", "cpu"])
    report = score(metric)
    got = [r.score for r in report.segments if r.system == "b" and r.metric == "FAKE"]
    assert got == pytest.approx(expected("b"))


def test_run_batches_halves_on_out_of_memory_down_to_one():
    calls = []

    def score_batch(chunk):
        calls.append(len(chunk))
        if len(chunk) > 3:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [float(i) for i in chunk], None

    got = {}
    final = run_batches(list(range(10)), 16, score_batch,
                        lambda chunk, scores, _: got.update(zip(chunk, scores, strict=False)))
    assert got == {i: float(i) for i in range(10)} and final == 2
    assert calls[:4] == [10, 8, 4, 2]

    def always(chunk):
        raise MemoryError

    with pytest.raises(Exception, match="batch size 1"):
        run_batches([0, 1], 4, always, lambda *a: None)


def test_options_are_checked_without_loading():
    from evalmt.errors import MetricError

    with pytest.raises(MetricError, match="unknown option"):
        build_metrics(["comet"], tgt_lang="en", options={"comet": {"model": "x", "bogus": 1}})
    with pytest.raises(MetricError, match="'model'"):
        build_metrics(["metricx"], tgt_lang="en")
    with pytest.raises(MetricError, match="batch_size"):
        build_metrics(["metricx"], tgt_lang="en", options={"metricx": {"model": "m",
                                                                      "batch_size": 0}})
    metric, = build_metrics(["xcomet"], tgt_lang="en", options={"xcomet": {"model": "nowhere"}})
    assert metric.name == "XCOMET" and metric._checkpoint == {}


def test_missing_model_is_na(tmp_path):
    metric, = build_metrics(["metricx"], tgt_lang="en",
                            options={"metricx": {"model": str(tmp_path / "absent")}})
    report = score(metric)
    assert report.unavailable == (("MetricX-24", "model not found"),)


def test_worker_script_imports_only_the_standard_library():
    import subprocess

    code = ("import sys, runpy; runpy.run_path(sys.argv[1]); "
            "bad = [m for m in ('torch', 'numpy', 'evalmt', 'transformers') if m in sys.modules];"
            "print(json.dumps(bad))")
    worker = Path(__file__).parents[3] / "evalmt" / "metrics" / "neural_worker.py"
    out = subprocess.run([sys.executable, "-I", "-c", "import json;" + code, str(worker)],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_directory_hash_is_remembered_until_a_file_changes(tmp_path):
    import hashlib

    from evalmt.metrics.neural import directory_sha256
    from evalmt.metrics.score_cache import ScoreCache

    folder = tmp_path / "ckpt"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "hparams.yaml").write_text("a: 1\n")
    (folder / "checkpoints" / "model.ckpt").write_bytes(b"weights")
    want = hashlib.sha256(b"checkpoints/model.ckpt\0weights" b"hparams.yaml\0a: 1\n").hexdigest()
    cache = ScoreCache(tmp_path / "c.sqlite")
    assert directory_sha256(folder, cache) == want
    assert directory_sha256(folder, cache) == want  # from the memo
    (folder / "hparams.yaml").write_text("a: 2\n")
    assert directory_sha256(folder, cache) != want
    cache.close()


def test_cli_score_takes_sources_and_metric_options(tmp_path, capsys):
    from evalmt.cli import main

    for name, lines in (("src.txt", SOURCES), ("ref.txt", REFS[0]), ("a.txt", HYPS["a"])):
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["score", "--hyp", str(tmp_path / "a.txt"), "--ref", str(tmp_path / "ref.txt"),
                 "--src", str(tmp_path / "src.txt"), "-m", "chrf", "metricx", "--format", "md",
                 "--metric-option", f"metricx.model={tmp_path / 'absent'}",
                 "--metric-option", "metricx.qe=true"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == "| system | chrF2 | MetricX-24-QE |"
    assert "n/a (model not found)" in out
    assert main(["score", "--hyp", str(tmp_path / "a.txt"), "--ref", str(tmp_path / "ref.txt"),
                 "--metric-option", "metricx"]) == 2


def test_hub_id_resolves_to_its_cached_snapshot_commit(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from evalmt.metrics.checkpoints import resolve_model

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--Unbabel--tiny-comet"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit / "checkpoints"
    snapshot.mkdir(parents=True)
    (snapshot / "model.ckpt").write_bytes(b"w")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    path, ident = resolve_model("Unbabel/tiny-comet", local_files_only=True)
    assert ident == f"Unbabel/tiny-comet@{commit}" and (path / "checkpoints").is_dir()
    from evalmt.metrics.base import MetricUnavailable

    with pytest.raises(MetricUnavailable, match="model not found"):
        resolve_model("Unbabel/absent", local_files_only=True)
