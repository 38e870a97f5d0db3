"""Security: no unpickling of untrusted data, remote code only when asked, safe YAML, escaped HTML.

Static checks walk the syntax tree of every module under ``evalmt/``; behavioural
checks load the tiny Marian model through our systems with ``torch.load`` and the
``from_pretrained`` entry points recorded, and render a report from hostile text.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

import evalmt
from evalmt.cli import main
from evalmt.errors import ConfigError, TranslationError

PACKAGE = Path(evalmt.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))
SENTENCE = "我们今天去北京。"


def calls(module: Path):
    """Yield (dotted name of the callee, call node) for every call in ``module``."""
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def keywords(node: ast.Call) -> dict[str | None, ast.expr]:
    return {k.arg: k.value for k in node.keywords}


# -- static ------------------------------------------------------------------------------------


ALLOWED_YAML = {"yaml.safe_load", "yaml.safe_dump", "yaml.safe_load_all", "yaml.compose"}


def unsafe_calls(module: Path) -> list[str]:
    """Calls in ``module`` that could deserialise or run untrusted input, as ``line: callee``."""
    problems = []
    for name, node in calls(module):
        where = f"{node.lineno}: {name}"
        kw = keywords(node)
        if name.startswith("yaml.") and name not in ALLOWED_YAML:
            problems.append(where)
        if name == "yaml.compose" and ast.unparse(kw.get("Loader", ast.Constant(None))) not in (
                "yaml.SafeLoader", "yaml.CSafeLoader"):
            problems.append(f"{where} without Loader=yaml.SafeLoader")
        if name in ("eval", "exec", "builtins.eval", "builtins.exec"):
            problems.append(where)
        if re.fullmatch(r"(c?pickle|dill|marshal|shelve|joblib)\.\w*load\w*|\w*Unpickler", name):
            problems.append(where)
        allow = kw.get("allow_pickle")
        if isinstance(allow, ast.Constant) and allow.value:
            problems.append(f"{where} with allow_pickle=True")
        if name == "torch.load":
            value = kw.get("weights_only")
            if not (isinstance(value, ast.Constant) and value.value is True):
                problems.append(f"{where} without weights_only=True")
        shell = kw.get("shell")
        if name.split(".")[-1] in ("run", "Popen", "call", "check_output") and \
                isinstance(shell, ast.Constant) and shell.value:
            problems.append(f"{where} with shell=True")
    return problems


def test_the_scan_finds_each_unsafe_call(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(
        "yaml.load(text)\n"
        "yaml.compose(text)\n"
        "eval(code)\n"
        "pickle.loads(blob)\n"
        "np.load(path, allow_pickle=True)\n"
        "torch.load(path)\n"
        "torch.load(path, weights_only=False)\n"
        "subprocess.run(cmd, shell=True)\n"
        "yaml.safe_load(text)\n"
        "torch.load(path, weights_only=True)\n", encoding="utf-8")
    assert unsafe_calls(module) == [
        "1: yaml.load", "2: yaml.compose without Loader=yaml.SafeLoader", "3: eval",
        "4: pickle.loads", "5: np.load with allow_pickle=True",
        "6: torch.load without weights_only=True", "7: torch.load without weights_only=True",
        "8: subprocess.run with shell=True"]


def test_no_unsafe_deserialisation_or_eval_anywhere():
    problems = {str(m.relative_to(PACKAGE)): unsafe_calls(m) for m in MODULES}
    assert {m: p for m, p in problems.items() if p} == {}
    assert len(problems) > 30  # the whole package was scanned


def test_remote_code_only_from_the_config():
    """Every loader that can run downloaded code gets ``trust_remote_code`` from a variable.

    ``GenerationConfig.from_pretrained`` reads one JSON file and takes no such
    argument; ``datasets.load_dataset`` no longer runs scripts (the hf-datasets
    reader refuses the key, tested below).
    """
    checked, problems = [], []
    for module in MODULES:
        source = module.read_text(encoding="utf-8")
        for name, node in calls(module):
            last = name.split(".")[-1]
            if last not in ("from_pretrained", "Converter", "TransformersConverter",
                            "load_dataset"):
                continue
            where = f"{module.relative_to(PACKAGE)}:{node.lineno}: {name}"
            checked.append(where)
            kw = keywords(node)
            if name == "GenerationConfig.from_pretrained" or last == "load_dataset":
                assert "trust_remote_code" not in kw, where
                continue
            value = kw.get("trust_remote_code")
            if value is None and None in kw:  # **common: the dict must carry the flag through
                assert '"trust_remote_code": trust_remote_code' in source, where
                continue
            if not (isinstance(value, ast.Name | ast.Attribute) and
                    ast.unparse(value).endswith("trust_remote_code")):
                shown = ast.unparse(value) if value else None
                problems.append(f"{where}: trust_remote_code={shown}")
    assert problems == []
    assert len(checked) >= 5  # tokenizer, config, two model loads, datasets, ...


def test_every_trust_remote_code_option_defaults_to_false():
    from evalmt.data.base import READERS
    from evalmt.systems.base import SYSTEMS

    found = []
    for registry in (READERS, SYSTEMS):
        for name in registry.names():
            try:
                model = registry.get(name).config_model
            except ImportError:  # an optional back end that is not installed
                continue
            field = model.model_fields.get("trust_remote_code")
            if field is not None:
                found.append(name)
                assert field.default is False, name
    assert {"hf-seq2seq", "hf-causal", "hf-datasets"} <= set(found)


def test_report_script_never_builds_html_from_strings():
    script = (PACKAGE / "report" / "report.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in script, sink


# -- behavioural: model loading ------------------------------------------------------------------


@pytest.fixture
def recorded_loads(monkeypatch):
    """Record every ``torch.load`` and ``from_pretrained`` call made while the test runs."""
    import torch
    import transformers

    record: list[tuple[str, dict]] = []
    real_load = torch.load

    def load(*args, **kwargs):
        record.append(("torch.load", kwargs))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    for cls_name in ("AutoTokenizer", "AutoConfig", "AutoModelForSeq2SeqLM",
                     "AutoModelForCausalLM", "AutoModel"):
        cls = getattr(transformers, cls_name)
        real = cls.from_pretrained

        def wrapper(*args, _real=real, _name=cls_name, **kwargs):
            record.append((f"{_name}.from_pretrained", kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", wrapper)
    return record


def build_marian(model: Path, **options):
    from evalmt.systems.hf_seq2seq import HFSeq2SeqConfig, HFSeq2SeqSystem

    config = HFSeq2SeqConfig(name="m", model=str(model), device="cpu", num_beams=1,
                             max_new_tokens=4, **options)
    return HFSeq2SeqSystem(config, src_lang="zh", tgt_lang="en")


@pytest.mark.parametrize("trust", [False, True])
def test_safetensors_loaded_without_pickle_and_flag_passed_through(tiny_marian, recorded_loads,
                                                                  trust):
    system = build_marian(tiny_marian, trust_remote_code=trust)
    assert len(system.translate([SENTENCE])) == 1
    assert [k for name, k in recorded_loads if name == "torch.load"] == []  # safetensors only
    loaders = [(name, k["trust_remote_code"]) for name, k in recorded_loads
               if name.endswith("from_pretrained")]
    assert {name for name, _ in loaders} == {"AutoTokenizer.from_pretrained",
                                             "AutoConfig.from_pretrained",
                                             "AutoModelForSeq2SeqLM.from_pretrained"}
    assert all(value is trust for _, value in loaders)
    notices = [w for w in system.describe()["warnings"] if "trust_remote_code" in w]
    assert len(notices) == (1 if trust else 0)


def test_causal_and_ct2_back_ends_load_without_pickle(tiny_marian, tiny_qwen2, tmp_path,
                                                       recorded_loads):
    """hf-causal (tiny Qwen2) and ctranslate2 (tiny Marian, converted here) never unpickle."""
    from evalmt.systems.ct2 import CTranslate2Config, CTranslate2System
    from evalmt.systems.hf_causal import HFCausalConfig, HFCausalSystem

    causal = HFCausalSystem(HFCausalConfig(name="llm", model=str(tiny_qwen2), device="cpu",
                                           max_new_tokens=4), src_lang="zh", tgt_lang="en")
    ct2 = CTranslate2System(CTranslate2Config(name="ct2", model=str(tiny_marian), device="cpu",
                                              convert_dir=str(tmp_path / "ct2"), num_beams=1,
                                              max_new_tokens=4, compute_type="float32"),
                            src_lang="zh", tgt_lang="en")
    for system in (causal, ct2):
        assert len(system.translate([SENTENCE])) == 1
        system.close()
    assert all(k.get("weights_only") is True for name, k in recorded_loads
               if name == "torch.load")
    loaders = [(name, k.get("trust_remote_code")) for name, k in recorded_loads
               if name.endswith("from_pretrained")]
    assert "AutoModelForCausalLM.from_pretrained" in {name for name, _ in loaders}
    # CTranslate2's converter omits the argument when it is off (None: transformers' default,
    # which never runs repository code without an explicit True)
    assert all(value in (False, None) for _, value in loaders), loaders


def bin_copy(tiny_marian: Path, folder: Path, state) -> Path:
    """The tiny model with its weights replaced by ``torch.save(state)`` as a legacy .bin."""
    import torch

    shutil.copytree(tiny_marian, folder)
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    return folder


def test_legacy_bin_is_read_with_weights_only(tiny_marian, tmp_path, recorded_loads):
    from safetensors.torch import load_file

    model = bin_copy(tiny_marian, tmp_path / "bin", load_file(tiny_marian / "model.safetensors"))
    system = build_marian(model)
    assert len(system.translate([SENTENCE])) == 1
    loads = [k for name, k in recorded_loads if name == "torch.load"]
    assert loads and all(k.get("weights_only") is True for k in loads)
    assert f"model {str(model)!r}: no safetensors weights; loaded .bin with weights_only" in \
        system.describe()["warnings"]


class _Payload:
    """Unpickling this runs ``os.system`` (what a malicious checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_bin_is_refused_and_never_executed(tiny_marian, tmp_path, recorded_loads):
    marker = tmp_path / "pwned"
    model = bin_copy(tiny_marian, tmp_path / "evil", {"weight": _Payload(marker)})
    system = build_marian(model)
    with pytest.raises(TranslationError, match=r"cannot load weights: Weights only load failed"):
        system.translate([SENTENCE])
    assert not marker.exists()
    assert all(k.get("weights_only") is True for name, k in recorded_loads if name == "torch.load")


def test_trust_remote_code_is_logged_in_the_manifest(tiny_marian, tmp_path):
    config = {"name": "trust", "output": str(tmp_path / "results"),
              "cache": str(tmp_path / "cache.sqlite"), "confidence": None, "significance": None,
              "data": [{"name": "s", "reader": "tsv", "path": "d.tsv", "src_lang": "zh",
                        "tgt_lang": "en"}],
              "systems": [{"name": "plain", "type": "hf-seq2seq", "model": str(tiny_marian),
                           "device": "cpu", "num_beams": 1, "max_new_tokens": 4},
                          {"name": "trusting", "type": "hf-seq2seq", "model": str(tiny_marian),
                           "device": "cpu", "num_beams": 1, "max_new_tokens": 4,
                           "trust_remote_code": True}]}
    (tmp_path / "d.tsv").write_text(f"src\tref\n{SENTENCE}\tWe go to Beijing today.\n",
                                    encoding="utf-8")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                       encoding="utf-8")
    assert main(["run", str(tmp_path / "run.yaml"), "--no-progress"]) == 0
    manifest = json.loads((tmp_path / "results/trust/manifest.json").read_text(encoding="utf-8"))
    configs = {s["name"]: s["trust_remote_code"] for s in manifest["config"]["systems"]}
    assert configs == {"plain": False, "trusting": True}
    entries = {name: entry["directions"]["zh-en"] for name, entry in manifest["systems"].items()}
    assert entries["plain"]["warnings"] == []
    assert entries["trusting"]["warnings"] == [
        f"system 'trusting': trust_remote_code is enabled; Python code shipped with "
        f"{str(tiny_marian)!r} will run on this machine"]


def test_hf_datasets_refuses_trust_remote_code(tmp_path):
    from evalmt.data import read_testset

    (tmp_path / "d.jsonl").write_text('{"src": "a", "ref": "b"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="trust_remote_code: datasets no longer runs"):
        read_testset({"reader": "hf-datasets", "dataset": "d.jsonl", "split": "train",
                      "trust_remote_code": True, "cache_dir": str(tmp_path / "c")},
                     base_dir=tmp_path)


# -- behavioural: YAML and HTML --------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch {marker}']",
                                 "!!python/object/new:os.system ['touch {marker}']",
                                 "!!python/name:os.system",
                                 "!!python/module:os"])
def test_python_tags_never_construct_objects(tmp_path, capsys, tag):
    marker = tmp_path / "pwned"
    config = tmp_path / "run.yaml"
    config.write_text(f"name: {tag.format(marker=marker)}\ndata: []\nsystems: []\n",
                      encoding="utf-8")
    assert main(["validate", str(config)]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"evalmt: error: \S+run\.yaml:1: invalid YAML: could not determine a "
                        r"constructor for the tag 'tag:yaml\.org,2002:python/\S+'\n", err), err
    assert not marker.exists()


HOSTILE = {
    "src": "<script>alert('src')</script>我们",
    "ref": "<img src=x onerror=alert('ref')> & </script><script>alert(2)</script>",
    "hyp": "</script><script>alert('hyp')</script>\u2028<!--",
    "doc": "\"><svg onload=alert('doc')>",
}


def test_html_report_renders_hostile_text_as_text(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"doc": HOSTILE["doc"], "src": HOSTILE["src"],
                                "ref": HOSTILE["ref"]}) + "\n", encoding="utf-8")
    (tmp_path / "hyp.txt").write_text(HOSTILE["hyp"].replace("\u2028", " ") + "\n",
                                      encoding="utf-8")
    config = {"name": "<b>run</b>", "output": str(tmp_path / "results"),
              "confidence": None, "significance": None,
              "data": [{"name": "s", "reader": "jsonl", "path": "d.jsonl", "doc_id_field": "doc"}],
              "systems": [{"name": "<i>sys</i>", "type": "hypotheses", "path": "hyp.txt"},
                          {"name": "copy", "type": "copy"}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(tmp_path / "run.yaml"), "--no-progress"]) == 0
    page = (tmp_path / "results" / "b_run_b" / "report.html").read_text(encoding="utf-8")
    for markup in ("<script>alert", "<img", "<svg", "<b>run", "<i>sys", "<!--"):
        assert markup not in page, markup
    # the only script elements are the page's own: the data block and the inlined script
    assert len(re.findall(r"<script\b", page)) == len(re.findall(r"</script>", page)) == 2
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                      re.S)
    text = json.dumps(json.loads(match.group(1)), ensure_ascii=False)
    for value in (HOSTILE["src"], HOSTILE["ref"], HOSTILE["doc"], "<b>run</b>", "<i>sys</i>"):
        assert json.dumps(value, ensure_ascii=False)[1:-1] in text  # round trip: shown as text


def test_run_folder_symlinked_outside_the_output_is_refused(tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "evil").symlink_to(outside)
    (tmp_path / "d.tsv").write_text("src\tref\na\tb\n", encoding="utf-8")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({
        "name": "evil", "output": str(tmp_path / "results"),
        "data": [{"name": "s", "reader": "tsv", "path": "d.tsv"}],
        "systems": [{"name": "c", "type": "copy"}]}), encoding="utf-8")
    assert main(["run", str(tmp_path / "run.yaml"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    root = (tmp_path / "results").resolve()
    assert err == f"evalmt: error: {root / 'evil'}: path escapes the output folder {root}\n"
    assert list(outside.iterdir()) == []


# -- file modes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_result_files_follow_the_umask(tmp_path, doubles_dir, umask):
    """Every file of a run gets 0o666 less the umask, like any file the user creates."""
    from testkit.runner_doubles import write_config

    from evalmt.config import load_config
    from evalmt.runner import RunOptions, run

    old = os.umask(umask)
    try:
        run_dir = run(load_config(write_config(tmp_path, doubles_dir)),
                      RunOptions(progress=False)).run_dir
    finally:
        os.umask(old)
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"manifest.json", "scores.csv", "report.html"}
    assert {p.relative_to(run_dir).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} \
        == {p.relative_to(run_dir).as_posix(): oct(0o666 & ~umask) for p in files}
