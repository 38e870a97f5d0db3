"""evalmt compare: leaderboards across runs, mismatch checks, document diffs, LaTeX output.

Synthetic run folders carry hand-chosen numbers, so every expected value
below is written by hand; one test compares two real demo runs against the
numbers in their own scores.csv.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from testkit.tools import require_tool

from evalmt.cli import main
from evalmt.errors import DataError
from evalmt.report.compare import (
    CLUSTER_NOTE,
    build_leaderboard,
    ci_free_signature,
    document_diff,
    load_run,
    render_diff,
    render_leaderboard,
)

BLEU_SIG = "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
TER_SIG = "nrefs:1|bs:1000|seed:12345|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0"


def make_run(root: Path, name: str, systems: dict[str, dict[str, float]], *,
             docs: dict[str, dict[str, float]] | None = None, data_hash: str = "abc",
             signatures: dict[str, str] | None = None, status: str = "complete",
             clusters: dict[str, int] | None = None) -> Path:
    """A finished-run folder with the files compare reads: manifest, scores.json, documents.csv.

    ``systems``: system → metric → score; ``docs``: system → doc_id → BLEU score.
    """
    signatures = signatures or {"BLEU": BLEU_SIG, "TER": TER_SIG}
    path = root / name
    path.mkdir(parents=True)
    manifest = {"status": status, "run": name,
                "datasets": {"sample": {"folder": ".", "content_sha256": data_hash}}}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    metrics = list(signatures)
    scores = [{"system": s, "metric": m, "score": v[m], "signature": signatures[m],
               "ci_low": v[m] - 1, "ci_high": v[m] + 1,
               "cluster": (clusters or {}).get(s)} for s, v in systems.items() for m in metrics]
    (path / "scores.json").write_text(json.dumps(
        {"systems": list(systems), "metrics": metrics, "scores": scores}), encoding="utf-8")
    with (path / "documents.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["system", "metric", "doc_id", "score", "num_segments", "signature"])
        for system, per_doc in (docs or {}).items():
            for doc_id, score in per_doc.items():
                writer.writerow([system, "BLEU", doc_id, score, 2, BLEU_SIG])
    return path


@pytest.fixture
def two_runs(tmp_path):
    a = make_run(tmp_path, "run-a", {"big": {"BLEU": 30.0, "TER": 50.0},
                                     "small": {"BLEU": 20.0, "TER": 70.0}},
                 docs={"big": {"d1": 30.0, "d2": 10.0, "d3": 50.0},
                       "small": {"d1": 31.0, "d2": 40.0, "d3": 20.0}},
                 clusters={"big": 1, "small": 2})
    b = make_run(tmp_path, "run-b", {"mid": {"BLEU": 25.0, "TER": 45.0}},
                 docs={"mid": {"d1": 25.0, "d2": 25.0, "d3": 25.0}}, clusters={"mid": 1})
    return a, b


@pytest.mark.parametrize(("metric", "expected"), [
    (None, [("run-a", "big"), ("run-b", "mid"), ("run-a", "small")]),   # BLEU, higher first
    ("BLEU", [("run-a", "big"), ("run-b", "mid"), ("run-a", "small")]),
    ("TER", [("run-b", "mid"), ("run-a", "big"), ("run-a", "small")]),  # TER, lower first
])
def test_leaderboard_merges_runs_and_sorts(two_runs, metric, expected):
    board = build_leaderboard([load_run(p) for p in two_runs], metric=metric)
    assert [(r.run, r.system) for r in board.rows] == expected
    assert [r.rank for r in board.rows] == [1, 2, 3]
    assert board.metrics == ("BLEU", "TER")
    assert CLUSTER_NOTE in board.notes  # clusters come from two different runs


def test_leaderboard_cells_keep_ci_and_cluster(two_runs):
    board = build_leaderboard([load_run(two_runs[0])])
    big = board.rows[0]
    assert (big.cells[0].score, big.cells[0].ci_low, big.cells[0].ci_high, big.cells[0].cluster) \
        == (30.0, 29.0, 31.0, 1)
    assert CLUSTER_NOTE not in board.notes  # one run: its clusters are exact


def test_different_data_is_refused_unless_allowed(tmp_path):
    a = make_run(tmp_path, "a", {"x": {"BLEU": 1.0, "TER": 2.0}}, data_hash="1111")
    b = make_run(tmp_path, "b", {"y": {"BLEU": 1.0, "TER": 2.0}}, data_hash="2222")
    runs = [load_run(a), load_run(b)]
    with pytest.raises(DataError, match=r"test data differs.*--allow-mismatch") as err:
        build_leaderboard(runs)
    assert "\n" not in str(err.value)
    board = build_leaderboard(runs, allow_mismatch=True)
    assert {r.system: r.mismatch for r in board.rows} == {"x": (), "y": ("data",)}
    assert "⚠ data" in render_leaderboard(board, "md")


@pytest.mark.parametrize(("sig_b", "mismatch"), [
    (BLEU_SIG, False),
    (BLEU_SIG.replace("bs:1000|seed:12345", "bs:200|seed:7"), False),  # CI settings only
    (BLEU_SIG.replace("tok:13a", "tok:intl"), True),
    (BLEU_SIG.replace("version:2.6.0", "version:2.4.0"), True),
])
def test_signature_mismatch_ignores_ci_fields(tmp_path, sig_b, mismatch):
    a = make_run(tmp_path, "a", {"x": {"BLEU": 1.0}}, signatures={"BLEU": BLEU_SIG})
    b = make_run(tmp_path, "b", {"y": {"BLEU": 2.0}}, signatures={"BLEU": sig_b})
    runs = [load_run(a), load_run(b)]
    if mismatch:
        with pytest.raises(DataError, match="BLEU signature"):
            build_leaderboard(runs)
        rows = build_leaderboard(runs, allow_mismatch=True).rows
        assert [r.mismatch for r in rows] == [("sig:BLEU",), ()]
    else:
        assert [r.system for r in build_leaderboard(runs).rows] == ["y", "x"]


@pytest.mark.parametrize(("signature", "expected"), [
    ("nrefs:1|bs:1000|seed:12345|tok:13a", "nrefs:1|tok:13a"),
    ("nrefs:1|tok:13a", "nrefs:1|tok:13a"),
])
def test_ci_free_signature(signature, expected):
    assert ci_free_signature(signature) == expected


@pytest.mark.parametrize(("status", "message"), [("incomplete", "not 'complete'")])
def test_unfinished_run_is_refused(tmp_path, status, message):
    path = make_run(tmp_path, "r", {"x": {"BLEU": 1.0, "TER": 1.0}}, status=status)
    with pytest.raises(DataError, match=message):
        load_run(path)
    with pytest.raises(DataError, match="manifest.json: missing"):
        load_run(tmp_path / "nowhere")


def test_diff_sorted_by_disagreement(two_runs):
    runs = [load_run(p) for p in two_runs]
    diff = document_diff(runs, "big", "small", metric="BLEU")
    # hand-computed: small - big = d1 +1, d2 +30, d3 -30 → |30| ties broken by doc id
    assert [(r.doc_id, r.delta) for r in diff.rows] == [("d2", 30.0), ("d3", -30.0), ("d1", 1.0)]
    assert (diff.b_better, diff.a_better) == (2, 1)
    assert diff.mean_delta == pytest.approx(1.0 / 3)
    across = document_diff(runs, "run-a:big", "run-b:mid", metric="BLEU")
    assert [(r.doc_id, r.delta) for r in across.rows] == [("d3", -25.0), ("d2", 15.0),
                                                          ("d1", -5.0)]
    top = render_diff(across, "md", top=1)
    assert "| d3 | 50.00 | 25.00 | -25.00 | 2 |" in top and "| d2 " not in top


def test_diff_system_lookup_errors(tmp_path):
    a = make_run(tmp_path, "a", {"x": {"BLEU": 1.0, "TER": 1.0}}, docs={"x": {"d": 1.0}})
    b = make_run(tmp_path, "b", {"x": {"BLEU": 2.0, "TER": 1.0}}, docs={"x": {"d": 3.0}})
    runs = [load_run(a), load_run(b)]
    with pytest.raises(DataError, match="several runs; write RUN:SYSTEM"):
        document_diff(runs, "x", "b:x")
    with pytest.raises(DataError, match="no system 'zzz'"):
        document_diff(runs, "a:x", "zzz")
    assert [r.delta for r in document_diff(runs, "a:x", "b:x").rows] == [2.0]


# ---------- LaTeX: parsed, and compiled when pdflatex exists ----------

def _strip_escapes(text: str) -> str:
    return re.sub(r"\\[{}&%$#_]", "", text)


def check_booktabs(tex: str) -> None:
    """Balanced braces; toprule/midrule/bottomrule in order; every row has the spec's columns."""
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    depth = 0
    for ch in _strip_escapes(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    lines = body.splitlines()
    spec = re.match(r"\\begin\{tabular\}\{([lrc]+)\}", lines[0]).group(1)
    assert [ln for ln in lines if ln in (r"\toprule", r"\midrule", r"\bottomrule")] == \
        [r"\toprule", r"\midrule", r"\bottomrule"]
    assert lines[-1] == r"\end{tabular}"
    rows = [ln for ln in lines[1:-1] if ln.endswith(r"\\")]
    assert rows
    for row in rows:
        assert _strip_escapes(row).count("&") + 1 == len(spec), row


@pytest.fixture
def awkward_run(tmp_path):
    return make_run(tmp_path, "run_1 & 50%", {"sys_#1 {x}": {"BLEU": 12.5, "TER": 60.0},
                                              "b~$^": {"BLEU": 10.0, "TER": 70.0}},
                    docs={"sys_#1 {x}": {"doc_&1": 1.0}, "b~$^": {"doc_&1": 3.0}})


def test_latex_leaderboard_and_diff_parse(awkward_run):
    runs = [load_run(awkward_run)]
    board_tex = render_leaderboard(build_leaderboard(runs), "tex")
    check_booktabs(board_tex)
    assert r"sys\_\#1 \{x\}" in board_tex and r"run\_1 \& 50\%" in board_tex
    check_booktabs(render_diff(document_diff(runs, "sys_#1 {x}", "b~$^"), "tex"))


def test_latex_compiles_with_pdflatex(awkward_run, tmp_path):
    pdflatex = require_tool("pdflatex", install="apt-get install texlive-latex-base "
                            "texlive-latex-recommended")
    runs = [load_run(awkward_run)]
    tables = (render_leaderboard(build_leaderboard(runs), "tex")
              + render_diff(document_diff(runs, "sys_#1 {x}", "b~$^"), "tex"))
    doc = tmp_path / "t.tex"
    doc.write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs}"
                   f"\\begin{{document}}\n{tables}\\end{{document}}\n", encoding="utf-8")
    out = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", doc.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]


# ---------- other formats and the CLI ----------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_machine_formats_round_trip(two_runs, fmt):
    text = render_leaderboard(build_leaderboard([load_run(p) for p in two_runs]), fmt)
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert len(rows) == 3 * 2
        assert (rows[0]["system"], rows[0]["metric"], float(rows[0]["score"])) == \
            ("big", "BLEU", 30.0)
    else:
        doc = json.loads(text)
        assert [r["system"] for r in doc["rows"]] == ["big", "mid", "small"]


def test_cli_compare_and_mismatch_exit_code(two_runs, tmp_path, capsys):
    assert main(["compare", *map(str, two_runs), "--metric", "TER"]) == 0
    out = capsys.readouterr().out
    assert out.index("| 1 | mid |") < out.index("| 2 | big |")
    other = make_run(tmp_path, "other", {"z": {"BLEU": 1.0, "TER": 1.0}}, data_hash="zzz")
    assert main(["compare", str(two_runs[0]), str(other)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalmt: error:") and err.count("\n") == 1
    assert main(["compare", *map(str, two_runs), "--diff", "big", "run-b:mid", "--top", "2",
                 "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 2
    out = tmp_path / "board.tex"
    assert main(["compare", *map(str, two_runs), "--format", "tex", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    check_booktabs(out.read_text(encoding="utf-8"))


def test_compare_two_real_demo_runs(demo_run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(demo_run_dir, copy)
    board = build_leaderboard([load_run(demo_run_dir), load_run(copy)])
    with (demo_run_dir / "scores.csv").open(encoding="utf-8") as fh:
        expected = {(r["system"], r["metric"]): float(r["score"]) for r in csv.DictReader(fh)}
    assert len(board.rows) == 4
    for row in board.rows:
        for metric, cell in zip(board.metrics, row.cells, strict=True):
            assert cell.score == expected[(row.system, metric)]
    assert CLUSTER_NOTE in board.notes


def test_runs_with_the_same_name_are_labelled_by_folder(tmp_path):
    a = make_run(tmp_path / "one", "same", {"x": {"BLEU": 1.0, "TER": 1.0}}, docs={"x": {"d": 1.0}})
    b = make_run(tmp_path / "two", "same", {"x": {"BLEU": 2.0, "TER": 1.0}}, docs={"x": {"d": 4.0}})
    runs = [load_run(a), load_run(b)]
    assert [r.run for r in build_leaderboard(runs).rows] == [str(b), str(a)]
    diff = document_diff(runs, f"{a}:x", f"{b}:x")
    assert (diff.system_a, diff.system_b, diff.rows[0].delta) == (f"{a}:x", f"{b}:x", 3.0)


def test_run_with_several_datasets_needs_dataset(tmp_path):
    path = tmp_path / "multi"
    for k, name in enumerate(("news", "talks")):
        make_run(path, name, {f"sys-{name}": {"BLEU": 10.0 + k, "TER": 1.0}})
    manifest = {"status": "complete", "run": "multi",
                "datasets": {n: {"folder": n, "content_sha256": "abc"} for n in ("news", "talks")}}
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DataError, match="data sets news, talks; choose one with --dataset"):
        load_run(path)
    with pytest.raises(DataError, match="no data set 'films'"):
        load_run(path, dataset="films")
    talks = load_run(path, dataset="talks")
    assert (talks.systems, talks.scores[("sys-talks", "BLEU")]["score"]) == (("sys-talks",), 11.0)


# ---------- --significance: clusters re-computed over the systems of all runs ----------

@pytest.fixture(scope="module")
def copy_only_run_dir(tmp_path_factory):
    from evalmt.config import load_config
    from evalmt.runner import RunOptions, run

    config = load_config(Path(__file__).parents[2] / "configs" / "demo.yaml",
                         overrides=[f"output={tmp_path_factory.mktemp('copy-only')}",
                                    "name=copy-only",
                                    "systems=[{name: copy-source, type: copy}]"])
    return run(config, RunOptions(progress=False)).run_dir


def test_significance_recomputes_clusters_across_runs(demo_run_dir, copy_only_run_dir):
    import sacrebleu

    from evalmt.report.rescore import rescore_runs, rescored_leaderboard

    runs = [load_run(demo_run_dir), load_run(copy_only_run_dir)]
    per_run = build_leaderboard(runs)
    cluster = {(r.run, r.system): r.cells[0].cluster for r in per_run.rows}
    assert cluster[("copy-only", "copy-source")] == 1  # alone in its run
    board = rescored_leaderboard(runs)
    assert CLUSTER_NOTE not in board.notes and "re-computed over all 3 systems" in board.notes[0]
    got = {(r.run, r.system): r.cells[0] for r in board.rows}
    # 3 segments: approximate randomization has 2^3 = 8 swap patterns, two of which (none,
    # all) reproduce |Δ|, so p >= 2/8 for every pair and nothing is separated
    assert {k: c.cluster for k, c in got.items()} == {
        ("demo-zh-en", "dictionary-gloss"): 1, ("demo-zh-en", "copy-source"): 1,
        ("copy-only", "copy-source"): 1}
    assert any(n.startswith("rank clusters: WMT rule") and "approximate-randomization" in n
               for n in board.notes)
    report, _ = rescore_runs(runs)  # systems of different runs are tested against each other
    assert report.p_value("BLEU", "demo-zh-en:copy-source", "copy-only:copy-source") == 1.0
    assert report.p_value("BLEU", "demo-zh-en:dictionary-gloss", "copy-only:copy-source") > 0.2
    for (run_dir, system) in ((demo_run_dir, "dictionary-gloss"), (copy_only_run_dir,
                                                                    "copy-source")):
        rows = [json.loads(line) for line in
                (run_dir / "hypotheses" / f"{system}.jsonl").read_text("utf-8").splitlines()]
        bleu = sacrebleu.corpus_bleu([r["hyp"] for r in rows], [[r["ref"] for r in rows]])
        assert got[(run_dir.name, system)].score == pytest.approx(bleu.score, abs=1e-9)


def test_cli_significance_refuses_allow_mismatch(demo_run_dir, capsys):
    assert main(["compare", str(demo_run_dir), "--significance", "--allow-mismatch"]) == 2
    assert "drop --allow-mismatch" in capsys.readouterr().err


@pytest.mark.parametrize(("metric", "recorded", "expected"), [
    ("BLEU", None, True), ("TER", None, False),
    ("MyErrorRate", {"MyErrorRate": False}, False),  # recorded beats the name
    ("TERish", {"TERish": True}, True),
])
def test_higher_is_better_prefers_what_the_run_recorded(metric, recorded, expected):
    from evalmt.report.compare import higher_is_better

    assert higher_is_better(metric, recorded) is expected
