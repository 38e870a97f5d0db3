"""``human:`` in a run config: agreement.csv, scores.json/md and the HTML report carry it."""

import csv
import json

import pytest
import scipy.stats
import yaml

from evalmt.cli import main
from evalmt.config import load_config
from evalmt.errors import ConfigError

REFS = ["the cat sat on the mat", "a dog barked at night", "rain fell all day long",
        "he reads a book", "we walk to school"]
#: system -> outputs; their BLEU order is s0 > s1 > s2 > s3 (more words replaced each time)
OUTPUTS = {f"s{k}": [" ".join("x" if i < k else w for i, w in enumerate(r.split()))
                     for r in REFS] for k in range(4)}
HUMAN = "system,score,ranks\ns0,0.2,2-3\ns1,0.9,1\ns2,0.1,2-3\ns3,-0.5,4\nnot-run,0.0,5\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("agree")
    (root / "src.zh").write_text("一\n二\n三\n四\n五\n", encoding="utf-8")
    (root / "ref.en").write_text("\n".join(REFS) + "\n", encoding="utf-8")
    (root / "outs").mkdir()
    for system, lines in OUTPUTS.items():
        (root / "outs" / f"hyp.{system}.en").write_text("\n".join(lines) + "\n", "utf-8")
    (root / "human.csv").write_text(HUMAN, encoding="utf-8")
    config = {"name": "agree", "output": str(root / "results"),
              "data": [{"name": "t", "reader": "text", "source": "src.zh",
                        "references": ["ref.en"]}],
              "systems": [{"name": "{system}", "type": "hypotheses",
                           "path": "outs/hyp.*.en"}],
              "metrics": ["bleu", "chrf", "ter"], "confidence": None,
              "significance": {"samples": 200},
              "human": {"path": "human.csv", "label": "toy"}}
    (root / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(root / "c.yaml"), "--no-progress"]) == 0
    return root / "results" / "agree"


def test_agreement_files(run_dir):
    scores = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    rows = {a["metric"]: a for a in scores["human_agreement"]}
    assert set(rows) == {"BLEU", "chrF2", "TER"}
    bleu = {r["system"]: r["score"] for r in scores["scores"] if r["metric"] == "BLEU"}
    human = {"s0": 0.2, "s1": 0.9, "s2": 0.1, "s3": -0.5}
    systems = sorted(human)
    tau = scipy.stats.kendalltau([bleu[s] for s in systems], [human[s] for s in systems])
    assert rows["BLEU"]["kendall_tau"] == pytest.approx(tau.statistic, abs=1e-12)
    assert rows["BLEU"]["not_scored"] == ["not-run"]
    ter = {r["system"]: r["score"] for r in scores["scores"] if r["metric"] == "TER"}
    tau_ter = scipy.stats.kendalltau([-ter[s] for s in systems], [human[s] for s in systems])
    assert rows["TER"]["kendall_tau"] == pytest.approx(tau_ter.statistic, abs=1e-12)
    with open(run_dir / "agreement.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["metric"] for r in table] == ["BLEU", "chrF2", "TER"]
    assert float(table[0]["kendall_tau"]) == rows["BLEU"]["kendall_tau"]
    md = (run_dir / "scores.md").read_text(encoding="utf-8")
    assert "### Agreement with human judgements (toy)" in md
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '"agreement":[{"metric":"BLEU"' in page and "summary-agreement" in page


@pytest.mark.parametrize(("human", "message"), [
    ({"path": "h.csv", "dataset": "nope"}, "human.0.dataset: no data set 'nope'"),
    ({"path": "h.csv", "format": "xml"}, "human.0.format"),
])
def test_human_config_errors(tmp_path, human, message):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "name": "x", "data": [{"reader": "text", "source": "s", "references": ["r"]}],
        "systems": [{"name": "c", "type": "copy"}], "human": human}), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("fmt", ["json", "md", "csv"])
def test_compare_human(run_dir, capsys, fmt):
    human = run_dir.parents[1] / "human.csv"
    assert main(["compare", str(run_dir), "--human", str(human), "--format", fmt]) == 0
    out = capsys.readouterr().out
    scores = json.loads((run_dir / "scores.json").read_text(encoding="utf-8"))
    expected = {a["metric"]: a for a in scores["human_agreement"]}
    if fmt == "json":
        def same(a):  # the label is the file name here, "toy" in the run; order may differ
            return {**a, "human": None, "systems": sorted(a["systems"]),
                    "contradictions": sorted(a["contradictions"])}

        got = {a["metric"]: same(a) for a in json.loads(out)["human_agreement"]}
        # one run: the same scores and clusters as the run's own table
        assert got == {m: same(a) for m, a in expected.items()}
    elif fmt == "md":
        assert "### Agreement with human judgements (human.csv)" in out
    else:
        assert "metric,systems,kendall_tau" in out


def test_compare_human_refuses_a_system_in_two_runs(run_dir, capsys):
    human = run_dir.parents[1] / "human.csv"
    assert main(["compare", str(run_dir), str(run_dir), "--human", str(human)]) == 2
    assert "agreement needs one score per system" in capsys.readouterr().err
