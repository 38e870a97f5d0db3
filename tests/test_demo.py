"""The demo config end to end, through the CLI, from a fresh folder.

The run is made once per session by the ``demo_folder`` fixture (tests/conftest.py).

Expected scores come from sacrebleu itself, recomputed from the written
hypotheses; references and sources are checked against the bundled sample.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sacrebleu

import evalmt

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "configs" / "demo.yaml"
SAMPLE = Path(evalmt.__file__).parent / "resources" / "samples" / "000_1fbc44d11a2c24ea.txt"


def run_cli(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalmt", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_demo_writes_every_result_file(demo_folder):
    run_dir = demo_folder / "results" / "demo-zh-en"
    for name in ("manifest.json", "scores.json", "scores.csv", "scores.md", "scores.tex",
                 "documents.csv", "segments.csv", "significance.csv", "hygiene.csv",
                 "hypotheses/dictionary-gloss.jsonl", "hypotheses/copy-source.jsonl"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    files = manifest["datasets"]["sample"]["files_sha256"]
    assert list(files.values()) == [hashlib.sha256(SAMPLE.read_bytes()).hexdigest()]


def test_demo_segments_match_the_sample(demo_folder):
    rows = read_jsonl(demo_folder / "results/demo-zh-en/hypotheses/copy-source.jsonl")
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    english = [line.strip() for line in lines if line.isascii()]
    assert [r["ref"] for r in rows] == english  # the sample: 3 zh paragraphs, then 3 en
    assert [r["hyp"] for r in rows] == [r["src"] for r in rows]  # source copy
    assert "(yīng)" in lines[0] and all("(yīng)" not in r["src"] for r in rows)  # pinyin cleaned
    assert rows[0]["src"].startswith("5月14日,應市委外辦邀請")


def test_demo_scores_equal_sacrebleu(demo_folder):
    run_dir = demo_folder / "results" / "demo-zh-en"
    scores = json.loads((run_dir / "scores.json").read_text())
    got = {(s["system"], s["metric"]): s["score"] for s in scores["scores"]}
    for system in ("dictionary-gloss", "copy-source"):
        rows = read_jsonl(run_dir / "hypotheses" / f"{system}.jsonl")
        hyps, refs = [r["hyp"] for r in rows], [[r["ref"] for r in rows]]
        assert got[(system, "BLEU")] == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score)
        assert got[(system, "chrF2")] == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score)
        assert got[(system, "chrF2++")] == pytest.approx(
            sacrebleu.corpus_chrf(hyps, refs, word_order=2).score)
        assert got[(system, "TER")] == pytest.approx(sacrebleu.corpus_ter(hyps, refs).score)
    # the gloss baseline is a real, non-trivial lower bound; copying Chinese is not
    assert got[("dictionary-gloss", "BLEU")] > 1 and got[("dictionary-gloss", "chrF2")] > 30
    assert got[("copy-source", "BLEU")] < 0.01


def test_demo_significance_between_the_two_systems(demo_folder):
    with open(demo_folder / "results/demo-zh-en/significance.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["metric"] for r in rows) == sorted(["BLEU", "chrF2", "chrF2++", "TER"])
    for row in rows:
        assert {row["system_a"], row["system_b"]} == {"dictionary-gloss", "copy-source"}
        assert row["method"] == "approximate-randomization" and row["samples"] == "10000"
        assert row["unit"] == "segment"  # one document: segments, with a note
        # 3 segments: 2 of the 2^3 swap patterns (none, all) reproduce |Δ|, so p >= 1/4
        assert 0.2 < float(row["p_value"]) <= 1 and row["significant"] == "False"


def test_demo_rerun_is_cached_and_refused(demo_folder):
    dry = run_cli(["run", "demo.yaml", "--dry-run"], cwd=demo_folder)
    assert dry.returncode == 0, dry.stderr
    assert [line.split()[-1] for line in dry.stdout.splitlines()[1:3]] == ["3/3", "3/3"]
    again = run_cli(["run", "demo.yaml", "--no-progress"], cwd=demo_folder)
    assert again.returncode == 2
    assert "a finished run exists; pass --overwrite" in again.stderr


@pytest.mark.slow
def test_demo_runs_from_an_installed_wheel(tmp_path):
    """Build and install the package elsewhere: pkg:// must resolve to the installed copy."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "evalmt", src / "evalmt",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheels")], check=True, timeout=300)
    wheel = next((tmp_path / "wheels").glob("evalmt-*.whl"))
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    work = tmp_path / "fresh"
    work.mkdir()
    shutil.copy(DEMO, work / "demo.yaml")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = run_cli(["run", "demo.yaml", "--no-progress"], cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((work / "results/demo-zh-en/manifest.json").read_text())
    (data_file,) = manifest["datasets"]["sample"]["files_sha256"]
    assert Path(data_file).is_relative_to(site / "evalmt" / "resources" / "samples")
