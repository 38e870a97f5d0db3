"""Config loading: every problem named with file and key path, overrides, plugins, pkg:// paths."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evalmt.config import apply_overrides, load_config, resolve_pkg_path
from evalmt.core import safe_name
from evalmt.errors import ConfigError

BASE = """\
name: t
data:
  - name: sample
    reader: bilingual-txt
    path: pkg://samples/*.txt
systems:
  - {name: copy-source, type: copy}
  - name: gloss
    type: dictionary
metrics: [bleu, chrf]
"""


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_config_resolves_defaults_and_base_dir(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.name == "t"
    assert [s.name for s in config.systems] == ["copy-source", "gloss"]
    assert [m.name for m in config.metrics] == ["bleu", "chrf"]
    assert config.base_dir == tmp_path.resolve()
    assert config.run_dir == Path("results") / "t"
    assert config.cache_path == Path("results") / ".cache" / "translations.sqlite"
    assert config.significance is not None and config.significance.seed == 12345
    # pkg:// resolves to the installed package's resources folder
    import evalmt

    expected = Path(evalmt.__file__).parent / "resources" / "samples" / "*.txt"
    assert config.data[0].path == str(expected)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # unknown key at top level, with did-you-mean
        ("metrix: [bleu]\n", r"run\.yaml: metrix: unknown key; did you mean 'metrics'\?"),
        # unknown key inside a system
        ("systems:\n  - {name: c, type: copy, beams: 4}\n",
         r"run\.yaml: systems\.0\.beams: unknown key"),
        # wrong type
        ("significance: {samples: five}\n",
         r"run\.yaml: significance\.samples: Input should be a valid integer.*got 'five'"),
        # missing field in a reader config
        ("data:\n  - {name: s, reader: bilingual-txt}\n",
         r"run\.yaml: data\.0\.path: Field required"),
        # missing discriminator
        ("systems:\n  - {name: c}\n", r"run\.yaml: systems\.0\.type: Field required"),
        # unknown system type with did-you-mean
        ("systems:\n  - {name: c, type: dictionry}\n",
         r"run\.yaml: systems\.0\.type: unknown system 'dictionry'; did you mean 'dictionary'\?"),
        # unknown reader
        ("data:\n  - {name: s, reader: bilingual, path: x}\n",
         r"run\.yaml: data\.0\.reader: unknown reader 'bilingual'; did you mean 'bilingual-txt'\?"),
        # duplicate names
        ("systems:\n  - {name: c, type: copy}\n  - {name: c, type: copy}\n",
         r"run\.yaml: systems\.1\.name: duplicate name 'c' \(also systems\.0\)"),
        ("data:\n  - {reader: bilingual-txt, path: a}\n  - {reader: bilingual-txt, path: b}\n",
         r"run\.yaml: data\.1\.name: duplicate name 'test'"),
        # names that collide once made file-safe
        ("systems:\n  - {name: a/b, type: copy}\n  - {name: a_b, type: copy}\n",
         r"systems\.1\.name: name 'a_b' clashes with 'a/b'"),
        # unknown metric and bad metric option
        ("metrics: [bleu, chrff]\n",
         r"run\.yaml: metrics\.1: unknown metric 'chrff'; did you mean 'chrf'"),
        ("metrics: [{name: chrf, options: {colour: 1}}]\n", r"run\.yaml: metrics\.0: .*colour"),
        ("metrics: [bleu, bleu]\n", r"run\.yaml: metrics: .*duplicate"),
        # enum value
        ("significance: {method: t-test}\n", r"significance\.method: Input should be"),
        # the confidence/significance sections are the metrics' option records
        ("significance: {sampels: 10}\n",
         r"significance\.sampels: unknown key; did you mean 'samples'\? \(allowed: alpha, also, "
         r"correction, method, rank_ranges, samples, seed, unit\)"),
        ("significance: {alpha: 1.5}\n",
         r"run\.yaml: significance: significance\.alpha must be in \(0, 1\), got 1\.5"),
        ("significance: {also: [approximate-randomization]}\n",
         r"significance: significance\.also repeats a test"),
        ("significance: {correction: bonferroni}\n", r"significance\.correction: Input should be"),
        ("confidence: {samples: 1}\n", r"confidence: confidence\.samples must be >= 2, got 1"),
        ("confidence: {unit: paragraph}\n", r"confidence\.unit: Input should be"),
        # empty system list
        ("systems: []\n", r"run\.yaml: systems: Tuple should have at least 1 item"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path, edit, expected):
    lines = BASE.splitlines(keepends=True)
    key = edit.split(":")[0]
    kept = []
    skipping = False
    for line in lines:  # drop the top-level block being replaced
        if not line.startswith(" "):
            skipping = line.startswith(key + ":")
        if not skipping:
            kept.append(line)
    path = write(tmp_path, "".join(kept) + edit)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path, BASE.replace("metrics: [bleu, chrf]", "metrics: [bleu]\nbogus: 1\n")
                 .replace("type: dictionary", "type: dictionary\n    unknown: maybe"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"2 problems in {path}")
    assert f"{path}: systems.1.unknown: Input should be 'keep' or 'drop'" in message
    assert f"{path}: bogus: unknown key" in message
    assert "systems.1.unknown: Input should be 'keep' or 'drop', got 'maybe' (line 10)" in message


def test_metric_problems_are_reported_with_the_others(tmp_path):
    path = write(tmp_path, BASE.replace("metrics: [bleu, chrf]", "metrics: [bleu, chrF, bleuu]")
                 .replace("name:", "nme:", 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"4 problems in {path}")
    assert "nme: unknown key; did you mean 'name'?" in message
    assert "metrics.1: unknown metric 'chrF'; did you mean 'chrf'?" in message
    assert "metrics.2: unknown metric 'bleuu'; did you mean 'bleu'?" in message


def test_problems_are_listed_in_line_order(tmp_path):
    # checked in a different order (items, then the header, then metrics): listed by line
    path = write(tmp_path, BASE.replace("name: t", "name: [t]")
                 .replace("metrics: [bleu, chrf]", "metrics: [bleuu]")
                 .replace("type: dictionary", "type: dictionary\n    unknown: maybe"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    keys = [line.split(": ")[1] for line in str(info.value).splitlines()[1:]]
    assert keys == ["name", "systems.1.unknown", "metrics.0"]


READER_ITEMS = {
    "text": "{name: s, reader: text, source: s.txt, references: [r.txt]}",
    "tsv": "{name: s, reader: tsv, path: d.tsv}",
    "jsonl": "{name: s, reader: jsonl, path: d.jsonl}",
    "wmt-xml": "{name: s, reader: wmt-xml, path: t.xml}",
    "hf-datasets": "{name: s, reader: hf-datasets, dataset: d.jsonl}",
    "bilingual-txt": "{name: s, reader: bilingual-txt, path: p.txt}",
}


@pytest.mark.parametrize("reader", sorted(READER_ITEMS))
def test_unknown_cleaning_step_is_a_config_error_for_every_reader(tmp_path, reader):
    item = READER_ITEMS[reader].replace("}", ", clean: [normalize-space, strip-pinyn]}")
    path = write(tmp_path, f"name: t\ndata:\n  - {item}\nsystems:\n  - {{name: c, type: copy}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: data.0.clean: Value error, unknown cleaning step 'strip-pinyn'; did you mean "
        "'strip-pinyin'? available: normalize-space, strip-pinyin, t2s, got "
        "['normalize-space', 'strip-pinyn'] (line 3)")


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo hi']\n",
        "!!python/object:collections.OrderedDict {}\n",
    ],
)
def test_python_yaml_tags_are_rejected(tmp_path, text):
    expected = r"run\.yaml:1: invalid YAML: could not determine a constructor"
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config is empty"),
        ("- a\n- b\n", "config must be a mapping of keys, got list"),
        ("name: [unclosed\n", r"run\.yaml:2: invalid YAML"),
    ],
)
def test_malformed_files(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")


RAW = {"name": "t", "flag": True, "systems": [{"name": "a", "type": "copy", "n": 1},
                                              {"name": "opus-mt", "type": "x", "n": 2}]}


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ("systems.1.n=5", ("systems", 1, "n"), 5),
        ("systems.opus-mt.n=7", ("systems", 1, "n"), 7),
        ("systems.-1.n=8", ("systems", 1, "n"), 8),
        ("flag=false", ("flag",), False),  # an explicit false overrides true
        ("flag=0", ("flag",), 0),
        ("name=12", ("name",), 12),
        ("name='12'", ("name",), "12"),
        ("name=", ("name",), ""),
        ("new.key=1.5", ("new", "key"), 1.5),
        ("systems.0=[1, 2]", ("systems", 0), [1, 2]),
    ],
)
def test_overrides(override, path, expected):
    out = apply_overrides(RAW, [override])
    node = out
    for part in path:
        node = node[part]
    assert node == expected and type(node) is type(expected)
    assert RAW["systems"][1]["n"] == 2 and RAW["flag"] is True  # input untouched


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("systems.5.n=1", r"--set systems\.5\.n: systems has no item '5'"),
        ("systems.nope.n=1", r"--set systems\.nope\.n: systems has no item 'nope'"),
        ("name.x=1", r"--set name\.x: name is 't', not a mapping or list"),
        ("novalue", r"expected KEY\.PATH=VALUE"),
        ("=3", r"expected KEY\.PATH=VALUE"),
    ],
)
def test_bad_overrides(override, expected):
    with pytest.raises(ConfigError, match=expected):
        apply_overrides(RAW, [override])


def test_override_is_validated_like_the_file(tmp_path):
    path = write(tmp_path, BASE)
    config = load_config(path, ["systems.gloss.unknown=drop", "significance.samples=10",
                                "significance=null"])
    assert config.system("gloss").unknown == "drop"
    assert config.significance is None
    with pytest.raises(ConfigError, match=r"systems\.1\.unknown: Input should be 'keep' or 'drop'"):
        load_config(path, ["systems.1.unknown=5"])


def test_only_system_restricts_and_checks_names(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert [s.name for s in config.restricted(only_systems=["gloss"]).systems] == ["gloss"]
    assert config.restricted(only_systems=["gloss"]).base_dir == config.base_dir
    with pytest.raises(ConfigError, match="unknown system 'glos'; did you mean 'gloss'"):
        config.restricted(only_systems=["glos"])


PLUGIN = '''\
from typing import Literal
from evalmt.systems.base import SYSTEMS, SystemConfig, Translator

class ShoutConfig(SystemConfig):
    type: Literal["shout-{tag}"] = "shout-{tag}"
    volume: int = 1

class Shout(Translator):
    config_model = ShoutConfig
    def translate(self, batch):
        return [s.upper() for s in batch]

SYSTEMS.add("shout-{tag}", Shout)
'''


@pytest.mark.parametrize("form", ["file", "module"])
def test_plugins_register_systems_before_validation(tmp_path, monkeypatch, form):
    tag = f"{form}-{tmp_path.name}"
    (tmp_path / f"plug_{form}_{tmp_path.name}.py").write_text(PLUGIN.format(tag=tag))
    if form == "file":
        plugin = f"plug_{form}_{tmp_path.name}.py"  # relative to the config's folder
    else:
        monkeypatch.syspath_prepend(str(tmp_path))
        plugin = f"plug_{form}_{tmp_path.name}"
    text = BASE.replace("metrics:", f"plugins: [{plugin}]\nmetrics:").replace(
        "type: dictionary", f"type: shout-{tag}\n    volume: 3")
    path = write(tmp_path, text)
    config = load_config(path)
    assert config.system("gloss").volume == 3
    assert load_config(path).plugins == (plugin,)  # a second load does not re-register


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        ("no_such_module_xyz", r"plugins\.0: cannot import plugin 'no_such_module_xyz'"),
        ("missing.py", r"plugins\.0: plugin file .*missing\.py' not found"),
        ("broken.py", r"plugins\.0: plugin 'broken\.py' failed while importing: ZeroDivisionError"),
    ],
)
def test_plugin_errors(tmp_path, plugin, expected):
    (tmp_path / "broken.py").write_text("x = 1 / 0\n")
    path = write(tmp_path, BASE.replace("metrics:", f"plugins: [{plugin}]\nmetrics:"))
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo-zh-en", "demo-zh-en"),
        ("../../etc", "etc"),
        ("..", "_"),
        ("a/b\\c", "a_b_c"),
        (".hidden", "hidden"),
        ("opus mt:v2", "opus_mt_v2"),
        ("模型", "_"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_resolve_pkg_path_leaves_other_paths_alone():
    assert resolve_pkg_path("data/x.txt") == "data/x.txt"
    assert resolve_pkg_path("pkg://samples/a.txt").endswith("evalmt/resources/samples/a.txt")
