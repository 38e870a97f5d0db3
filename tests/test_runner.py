"""The runner: results folder, cache reuse, limits, safe paths, manifest, hygiene.

The translation system is a test double registered through ``plugins:`` like
a researcher's own system: it upper-cases its input and appends every source
it translates to a log file, so tests can count model calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sacrebleu
from testkit.runner_doubles import DOCS, logged, read_jsonl, write_config, write_data

from evalmt.config import load_config
from evalmt.errors import ConfigError, TranslationError
from evalmt.hygiene import check_outputs
from evalmt.runner import RunOptions, plan, run


def quiet(**kwargs) -> RunOptions:
    return RunOptions(progress=False, **kwargs)


def test_run_writes_results_equal_to_sacrebleu(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    result = run(config, quiet())
    run_dir = tmp_path / "results" / "t"
    assert result.run_dir == run_dir
    for name in ("manifest.json", "scores.json", "scores.csv", "scores.md", "scores.tex",
                 "documents.csv", "segments.csv", "significance.csv", "hygiene.csv",
                 "hypotheses/upper.jsonl", "hypotheses/copy.jsonl"):
        assert (run_dir / name).is_file(), name
    sources = [s for pairs in DOCS.values() for s, _ in pairs]
    refs = [r for pairs in DOCS.values() for _, r in pairs]
    rows = read_jsonl(run_dir / "hypotheses" / "upper.jsonl")
    assert [r["hyp"] for r in rows] == [s.upper() for s in sources]
    assert [(r["doc_id"], r["seg_id"], r["src"], r["ref"], r["refs"]) for r in rows][:2] == [
        ("d1", "1", sources[0], refs[0], [refs[0]]), ("d1", "2", sources[1], refs[1], [refs[1]])]
    scores = json.loads((run_dir / "scores.json").read_text())
    got = {(s["system"], s["metric"]): s["score"] for s in scores["scores"]}
    for system, hyps in (("upper", [s.upper() for s in sources]), ("copy", sources)):
        assert got[(system, "BLEU")] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
        assert got[(system, "chrF2")] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
        assert got[(system, "TER")] == pytest.approx(sacrebleu.corpus_ter(hyps, [refs]).score)
    assert {h["system"] for h in scores["hygiene"]} == {"upper", "copy"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["datasets"]["set1"]["segments"] == 7
    assert manifest["datasets"]["set1"]["files_sha256"] == {
        str(tmp_path / "data.jsonl"): __import__("hashlib").sha256(
            (tmp_path / "data.jsonl").read_bytes()).hexdigest()}
    assert manifest["systems"]["upper"]["directions"]["de-en"]["fingerprint"] == \
        "counting-v1-uppercase=True"
    assert manifest["results"]["set1"]["upper"]["timing"]["translated_pieces"] == 7
    assert manifest["environment"]["packages"]["sacrebleu"] == sacrebleu.__version__
    assert manifest["config"]["plugins"] == [str(doubles_dir / "evalmt_run_doubles.py")]
    assert {m["name"] for m in manifest["datasets"]["set1"]["metrics"]} == {"BLEU", "chrF2", "TER"}
    # one translate cell per data set × system × direction, each done, each named by its hash
    cells = manifest["cells"]
    assert sorted((c["dataset"], c["system"], c["direction"], c["status"])
                  for c in cells.values()) == [("set1", "copy", "de-en", "done"),
                                               ("set1", "upper", "de-en", "done")]
    assert all(len(key) == 64 for key in cells)
    assert {manifest["results"]["set1"][c["system"]]["cell"] for c in cells.values()} == set(cells)


def test_second_run_translates_nothing(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    run(config, quiet())
    first = logged(tmp_path)
    assert sorted(first) == sorted(s for pairs in DOCS.values() for s, _ in pairs)
    hyps = (tmp_path / "results/t/hypotheses/upper.jsonl").read_text()
    run(config, quiet(overwrite=True))
    assert logged(tmp_path) == first  # no new model calls
    assert (tmp_path / "results/t/hypotheses/upper.jsonl").read_text() == hyps
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["results"]["set1"]["upper"]["timing"]["cached_pieces"] == 7
    assert manifest["results"]["set1"]["upper"]["timing"]["calls"] == 0


def test_finished_run_is_not_overwritten(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    run(config, quiet())
    with pytest.raises(ConfigError, match=r"results/t: a finished run exists; pass --overwrite"):
        run(config, quiet())
    (tmp_path / "results" / "t" / "stale.txt").write_text("x")
    run(config, quiet(overwrite=True))
    assert not (tmp_path / "results" / "t" / "stale.txt").exists()


def test_foreign_folder_is_refused(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    (tmp_path / "results" / "t").mkdir(parents=True)
    (tmp_path / "results" / "t" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="holds no evalmt manifest; refusing"):
        run(config, quiet(overwrite=True))
    assert (tmp_path / "results" / "t" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize(
    ("run_name", "system_name", "run_folder", "hyp_file"),
    [
        ("../../etc", "../../passwd", "etc", "passwd.jsonl"),
        ("/abs/path", "a/b", "abs_path", "a_b.jsonl"),
        ("..", "..", "_", "_.jsonl"),
    ],
)
def test_names_cannot_escape_output(tmp_path, doubles_dir, run_name, system_name, run_folder,
                                    hyp_file):
    path = write_config(tmp_path, doubles_dir, name=run_name,
                        systems=f"  - {{name: '{system_name}', type: copy}}\n")
    run(load_config(path), quiet())
    out = tmp_path / "results"
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert Path(run_folder, "hypotheses", hyp_file) in written
    assert all(p.parts[0] in (run_folder, ".cache") for p in written)
    assert {p.name for p in tmp_path.iterdir()} == {"run.yaml", "data.jsonl", "results"}


def test_limit_keeps_first_documents(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    run(config, quiet(limit=2))
    rows = read_jsonl(tmp_path / "results/t/hypotheses/copy.jsonl")
    assert [r["doc_id"] for r in rows] == ["d1", "d1", "d2", "d2", "d2"]
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["datasets"]["set1"]["limit_documents"] == 2
    assert manifest["options"]["limit"] == 2


def test_only_system(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir)).restricted(only_systems=["copy"])
    run(config, quiet())
    assert logged(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "results/t/hypotheses").iterdir()) == ["copy.jsonl"]


def test_several_datasets_get_one_folder_each(tmp_path, doubles_dir):
    write_data(tmp_path, "other.jsonl", {"x": [("hello world", "HELLO WORLD")]})
    datasets = """\
  - {name: set1, reader: jsonl, path: data.jsonl, doc_id_field: doc_id, src_lang: de}
  - {name: 'set 2', reader: jsonl, path: other.jsonl, doc_id_field: doc_id, src_lang: fr}
"""
    result = run(load_config(write_config(tmp_path, doubles_dir, datasets=datasets)), quiet())
    run_dir = tmp_path / "results" / "t"
    assert [d.folder for d in result.datasets] == [run_dir / "set1", run_dir / "set_2"]
    for folder in ("set1", "set_2"):
        assert (run_dir / folder / "scores.json").is_file()
        assert (run_dir / folder / "hypotheses" / "upper.jsonl").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["datasets"]["set 2"]["folder"] == "set_2"
    assert set(manifest["systems"]["upper"]["directions"]) == {"de-en", "fr-en"}
    assert len(logged(tmp_path)) == 8


def test_failure_leaves_manifest_incomplete_and_rerun_resumes(tmp_path, doubles_dir):
    log = tmp_path / "calls.log"
    failing = f"  - {{name: upper, type: counting, log: '{log}', max_batch_size: 1, " \
              "fail_on: 'good night'}\n"
    path = write_config(tmp_path, doubles_dir, systems=failing)
    with pytest.raises(TranslationError, match="system 'upper' failed"):
        run(load_config(path), quiet())
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert "deliberate failure" in manifest["error"]
    cells = {(c["system"], c["status"]): c for c in manifest["cells"].values()}
    assert set(cells) == {("upper", "failed")}
    assert "deliberate failure" in cells[("upper", "failed")]["reason"]
    before = logged(tmp_path)
    assert 0 < len(before) < 7
    # the failure switch does not change the fingerprint; without it the run resumes
    run(load_config(path, ["systems.upper.fail_on=null"]), quiet())
    after = logged(tmp_path)
    assert sorted(after) == sorted(s for pairs in DOCS.values() for s, _ in pairs)
    assert json.loads((tmp_path / "results/t/manifest.json").read_text())["status"] == "complete"


def test_plan_counts_segments_tokens_and_cache_hits(tmp_path, doubles_dir):
    config = load_config(write_config(tmp_path, doubles_dir))
    words = sum(len(s.split()) for pairs in DOCS.values() for s, _ in pairs)
    jobs = plan(config)
    assert [(j.dataset, j.system, j.segments, j.tokens, j.cached) for j in jobs] == [
        ("set1", "upper", 7, words, 0), ("set1", "copy", 7, words, 0)]
    assert not (tmp_path / "results").exists()  # a dry run writes nothing
    run(config, quiet(limit=1))
    assert [j.cached for j in plan(config)] == [2, 2]


def test_plan_counts_split_segments_as_cached(tmp_path, doubles_dir):
    log = tmp_path / "calls.log"
    systems = f"  - {{name: upper, type: counting, log: '{log}', max_input: 3}}\n"
    config = load_config(write_config(tmp_path, doubles_dir, systems=systems))
    run(config, quiet())
    long_ones = [s for pairs in DOCS.values() for s, _ in pairs if len(s.split()) > 3]
    assert long_ones and all(s not in logged(tmp_path) for s in long_ones)  # sent in pieces
    assert [j.cached for j in plan(config)] == [7]


def test_precomputed_outputs_skip_translation(tmp_path, doubles_dir):
    hyps = [f"output {i}" for i in range(7)]
    (tmp_path / "sys.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    systems = "  - {name: given, type: hypotheses, path: sys.txt}\n  - {name: copy, type: copy}\n"
    run(load_config(write_config(tmp_path, doubles_dir, systems=systems)), quiet())
    rows = read_jsonl(tmp_path / "results/t/hypotheses/given.jsonl")
    assert [r["hyp"] for r in rows] == hyps
    manifest = json.loads((tmp_path / "results/t/manifest.json").read_text())
    assert manifest["results"]["set1"]["given"]["timing"]["precomputed"] is True


@pytest.mark.parametrize("fmt", ["lines", "jsonl"])
def test_limit_picks_precomputed_outputs_by_segment(tmp_path, doubles_dir, fmt):
    keys = [(d, str(i)) for d, pairs in DOCS.items() for i in range(1, len(pairs) + 1)]
    hyps = [f"output {d} {i}" for d, i in keys]
    if fmt == "lines":
        text = "\n".join(hyps) + "\n"
    else:  # JSONL in another order: outputs are matched by id, not position
        text = "".join(json.dumps({"doc_id": d, "seg_id": i, "hyp": h}) + "\n"
                       for (d, i), h in reversed(list(zip(keys, hyps, strict=True))))
    (tmp_path / "sys.out").write_text(text, encoding="utf-8")
    systems = f"  - {{name: given, type: hypotheses, path: sys.out, format: {fmt}}}\n"
    config = load_config(write_config(tmp_path, doubles_dir, systems=systems))
    assert [j.segments for j in plan(config, limit=2)] == [5]
    run(config, quiet(limit=2))
    rows = read_jsonl(tmp_path / "results/t/hypotheses/given.jsonl")
    assert [(r["doc_id"], r["seg_id"], r["hyp"]) for r in rows] == \
        [(d, i, h) for (d, i), h in zip(keys, hyps, strict=True) if d in ("d1", "d2")]


def test_overwrite_keeps_the_finished_run_until_the_new_one_completes(tmp_path, doubles_dir):
    (tmp_path / "sys.txt").write_text("".join(f"out {i}\n" for i in range(7)), encoding="utf-8")
    systems = "  - {name: given, type: hypotheses, path: sys.txt}\n"
    config = load_config(write_config(tmp_path, doubles_dir, systems=systems))
    run(config, quiet())
    finished = (tmp_path / "results/t/scores.json").read_text()
    (tmp_path / "sys.txt").write_text("out 0\n", encoding="utf-8")  # now one line for 7
    with pytest.raises(Exception, match="1 lines but the test set has 7 segments"):
        run(config, quiet(overwrite=True))
    assert (tmp_path / "results/.t.previous/scores.json").read_text() == finished
    (tmp_path / "sys.txt").write_text("".join(f"new {i}\n" for i in range(7)), encoding="utf-8")
    run(config, quiet(overwrite=True))
    assert not (tmp_path / "results/.t.previous").exists()
    assert "new 0" in (tmp_path / "results/t/hypotheses/given.jsonl").read_text()


@pytest.mark.parametrize(
    ("hyps", "refs", "tgt", "expected"),
    [
        # empty, CJK left in English output, ratios by non-whitespace characters
        (["", "abc 中", "abcd"], ["xx", "abc", "ab"], "en",
         dict(segments=3, empty=1, untranslated=1, length_ratio=round(8 / 7, 4),
              too_short=1, too_long=0)),
        # hyp 5 chars vs ref 2 chars is > 2x; a missing reference is skipped
        (["abcde", "x"], ["ab", None], "en",
         dict(segments=2, empty=0, untranslated=0, length_ratio=2.5, too_short=0, too_long=1)),
        # Chinese target: CJK is expected, so no "untranslated" count
        (["今天下雨", ""], ["今天下雨了", "好"], "zh-Hans",
         dict(segments=2, empty=1, untranslated=None, length_ratio=round(4 / 6, 4),
              too_short=1, too_long=0)),
        # kana and hangul count as CJK too
        (["ひらがな", "한국어", "ok"], ["a", "b", "ok"], "en",
         dict(segments=3, empty=0, untranslated=2, length_ratio=9 / 4, too_short=0, too_long=2)),
    ],
)
def test_hygiene_counts(hyps, refs, tgt, expected):
    result = check_outputs(system="s", hypotheses=hyps, references=refs, tgt_lang=tgt)
    # Without answer flags (only API systems report them) those columns do not apply.
    assert {k: v for k, v in result.as_dict().items() if k != "system"} == {
        **expected, "failed": 0, "truncated": None, "refused": None}
