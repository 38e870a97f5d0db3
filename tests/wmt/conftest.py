"""Real WMT runs shared by the tests of this folder: one ``evalmt run`` per data set.

The data are the WMT organisers' files in ``../shared/data`` (beside the
clone); without them these tests skip with the reason. CIs are off and the
paired bootstrap draws 100 samples (neither changes a corpus score; the rank
clusters feed the human-agreement tests), and the dictionary baseline is left
out (it is not in the organisers' tables), so each run takes seconds.
"""

import csv
import json
from pathlib import Path

import pytest

from evalmt.cli import main

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def shared_dir(name: str) -> Path:
    """The shared WMT folder ``name``, or skip the test saying it is absent."""
    folder = SHARED / name
    if not (folder / "automatic-scores.zh-en.tsv").is_file():
        pytest.skip(f"real WMT data not found at {folder} (the organisers' files live beside "
                    "the clone in ../shared/data)")
    return folder


def organisers_table(folder: Path) -> dict[tuple[str, str], float]:
    """``automatic-scores.zh-en.tsv`` as {(system, metric column): score}."""
    with open(folder / "automatic-scores.zh-en.tsv", encoding="utf-8", newline="") as f:
        return {(row["system"], row["metric"]): float(row["score"])
                for row in csv.DictReader(f, delimiter="\t")}


def run_config(tmp_root: Path, config: str, systems: list[str], *extra: str,
               samples: int = 100) -> Path:
    """``evalmt run`` the repository config restricted to ``systems``; return the run folder."""
    args = ["run", str(REPO / "configs" / config), "--set", f"output={tmp_root}",
            "--set", "confidence=null", "--set", f"significance.samples={samples}",
            "--no-progress", *extra]
    for system in systems:
        args += ["--only-system", system]
    assert main(args) == 0
    return next(p for p in tmp_root.iterdir() if (p / "manifest.json").is_file())


def corpus_scores(folder: Path) -> dict[tuple[str, str], float]:
    """scores.json of one data set folder as {(system, metric): score}."""
    doc = json.loads((folder / "scores.json").read_text(encoding="utf-8"))
    return {(r["system"], r["metric"]): r["score"] for r in doc["scores"]}


@pytest.fixture(scope="session")
def wmt23_run(tmp_path_factory):
    folder = shared_dir("wmt23-zh-en")
    systems = sorted({s for s, _ in organisers_table(folder)})
    # 3000 AR trials: p >= 1/3001, and Holm over 120 pairs (16 systems) needs N + 1 > 120 / 0.05
    # for any cluster boundary (docs/scoring.md, "Multiplicity"); the clusters meet the
    # organisers' human rank ranges in test_human_agreement. WMT22's file has none: 100 do.
    return run_config(tmp_path_factory.mktemp("wmt23"), "wmt23-zh-en.yaml", systems,
                      samples=3000)


@pytest.fixture(scope="session")
def wmt22_run(tmp_path_factory):
    folder = shared_dir("wmt22-zh-en")
    systems = sorted({s for s, _ in organisers_table(folder)})
    return run_config(tmp_path_factory.mktemp("wmt22"), "wmt22-zh-en.yaml", systems)
