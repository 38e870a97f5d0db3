"""A whole run with neural metrics (test doubles of the worker, registered as plugins):
a crashed metric is "n/a (reason)" in the tables and manifest while the run completes
with the other metrics and the translations; error spans reach the report; a rerun
scores nothing again (segment-score cache next to the translation cache)."""

import json
from pathlib import Path

import pytest

from evalmt.config import load_config
from evalmt.report.html import report_payload
from evalmt.runner import RunOptions, run

FAKE = Path(__file__).with_name("fake_worker.py")
PLUGIN = f"""
from evalmt.metrics.base import METRICS
from evalmt.metrics.neural import COMMON_OPTIONS, NeuralMetric


class Fake(NeuralMetric):
    kind = "fake"
    worker_script = {str(FAKE)!r}

    def resolve_checkpoint(self):
        return {{"path": self.options["model"], "id": "fake-" + self.options["model"][:4]}}

    def versions(self):
        return {{"fake": "1"}}


for key, name in (("fake-spans", "SPANS"), ("fake-crash", "CRASH")):
    if key not in METRICS:  # the plugin is imported once per config load
        METRICS.add(key, lambda lang, o, key=key, name=name: Fake(
            key, name, o, higher_is_better=True, allowed=COMMON_OPTIONS))
"""


def _config(tmp_path: Path, log: Path) -> Path:
    rows = [{"doc_id": f"d{i // 3}", "src": f"源 {i}", "ref": f"reference {i} text"}
            for i in range(7)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "neural_plugin.py").write_text(PLUGIN)
    path = tmp_path / "run.yaml"
    path.write_text(f"""\
name: neural
plugins: ['{tmp_path / "neural_plugin.py"}']
data:
  - {{name: set1, reader: jsonl, path: data.jsonl, doc_id_field: doc_id, src_lang: zh,
     tgt_lang: en}}
systems:
  - {{name: copy, type: copy}}
metrics:
  - bleu
  - {{name: fake-spans, options: {{model: 'spans-log:{log}'}}}}
  - {{name: fake-crash, options: {{model: sigkill}}}}
confidence: {{samples: 20, seed: 1}}
significance: null
output: '{tmp_path / "results"}'
""")
    return path


def test_run_with_a_crashing_neural_metric_completes(tmp_path):
    log = tmp_path / "scored.log"
    config = load_config(_config(tmp_path, log))
    run(config, RunOptions(progress=False))
    run_path = Path(config.output_dir) / "neural"
    header, _, row = next(run_path.rglob("scores.md")).read_text().splitlines()[:3]
    assert header == "| system | BLEU | SPANS | CRASH |"
    assert row.endswith("| n/a (crashed (SIGKILL)) |")
    scores = json.loads(next(run_path.rglob("scores.json")).read_text())
    assert scores["metrics"] == ["BLEU", "SPANS"]
    assert scores["unavailable"] == {"CRASH": "crashed (SIGKILL)"}
    manifest = json.loads((run_path / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["datasets"]["set1"]["metrics"]}
    assert entries["CRASH"]["unavailable"] == "crashed (SIGKILL)"
    assert entries["SPANS"]["setup"]["checkpoint"]["id"] == "fake-span"
    assert entries["SPANS"]["setup"]["segments"]["scored"] == 7
    metric_cells = {c["metric"]: c for c in manifest["cells"].values() if c["kind"] == "metric"}
    assert set(metric_cells) == {"SPANS", "CRASH"}  # BLEU runs in-process: no cell
    assert metric_cells["SPANS"]["status"] == "done" and metric_cells["SPANS"]["reason"] is None
    assert metric_cells["CRASH"]["status"] == "failed"
    assert metric_cells["CRASH"]["reason"] == "crashed (SIGKILL)"
    assert metric_cells["SPANS"]["systems"] == ["copy"]
    assert metric_cells["SPANS"]["dataset"] == "set1"
    translate = [c for c in manifest["cells"].values() if c["kind"] == "translate"]
    assert [(c["system"], c["status"]) for c in translate] == [("copy", "done")]
    assert list(run_path.rglob("hypotheses/copy.jsonl"))
    payload = report_payload(run_path)
    spans = payload["datasets"][0]["segments"]["spans"]["copy"]
    assert spans["0"][0]["metric"] == "SPANS" and spans["0"][0]["severity"] == "minor"
    assert log.read_text().split() == ["7"]


def test_rerun_scores_nothing_new(tmp_path):
    log = tmp_path / "scored.log"
    path = _config(tmp_path, log)
    run(load_config(path), RunOptions(progress=False))
    run(load_config(path), RunOptions(progress=False, overwrite=True))
    assert log.read_text().split() == ["7"]  # the second run found every score in the cache
    assert (tmp_path / "results" / ".cache" / "segment_scores.sqlite").is_file()
    # compare --significance re-scores stored outputs: neural scores come from the cache too
    from evalmt.report.compare import load_run
    from evalmt.report.rescore import rescore_runs

    report, _ = rescore_runs([load_run(tmp_path / "results" / "neural")])
    assert "SPANS" in report.metrics and log.read_text().split() == ["7"]


def test_neural_metric_agreement_with_humans_sits_next_to_bleu(tmp_path):
    import scipy.stats
    import yaml

    refs = ["the cat sat on the mat", "a dog barked at night", "rain fell all day long"]
    outputs = {f"s{k}": [" ".join("x" * (k + 1) if i < k else w
                                  for i, w in enumerate(r.split())) for r in refs]
               for k in range(4)}
    (tmp_path / "src.zh").write_text("一\n二\n三\n", encoding="utf-8")
    (tmp_path / "ref.en").write_text("\n".join(refs) + "\n", encoding="utf-8")
    (tmp_path / "outs").mkdir()
    for system, lines in outputs.items():
        (tmp_path / "outs" / f"hyp.{system}.en").write_text("\n".join(lines) + "\n", "utf-8")
    human = {"s0": 0.3, "s1": 0.9, "s2": 0.1, "s3": -0.5}
    (tmp_path / "human.csv").write_text(
        "system,score\n" + "".join(f"{s},{v}\n" for s, v in human.items()), encoding="utf-8")
    (tmp_path / "neural_plugin.py").write_text(PLUGIN)
    config = {"name": "agree", "output": str(tmp_path / "results"),
              "plugins": [str(tmp_path / "neural_plugin.py")],
              "data": [{"name": "t", "reader": "text", "source": "src.zh",
                        "references": ["ref.en"]}],
              "systems": [{"name": "{system}", "type": "hypotheses", "path": "outs/hyp.*.en"}],
              "metrics": ["bleu", {"name": "fake-spans", "options": {"model": "spans"}}],
              "confidence": None, "significance": {"samples": 50},
              "human": {"path": "human.csv", "label": "toy"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run(load_config(tmp_path / "c.yaml"), RunOptions(progress=False))
    scores = json.loads(next((tmp_path / "results").rglob("scores.json")).read_text())
    rows = {a["metric"]: a for a in scores["human_agreement"]}
    assert set(rows) == {"BLEU", "SPANS"}
    systems = sorted(human)
    # the worker double's score: len(hypothesis) / 10 + len(reference) / 100, averaged
    fake = {s: sum(len(h) / 10 + len(r) / 100 for h, r in zip(outputs[s], refs, strict=True))
            / len(refs) for s in systems}
    tau = scipy.stats.kendalltau([fake[s] for s in systems], [human[s] for s in systems])
    assert rows["SPANS"]["kendall_tau"] == pytest.approx(tau.statistic, abs=1e-12)
