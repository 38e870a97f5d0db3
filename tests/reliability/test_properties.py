"""Property tests that extend tests/data/test_reader_properties.py (which feeds every reader
arbitrary bytes): run configs and overrides, the hypotheses system, structured bilingual pages
and the banded aligner. Each either returns a value or raises the documented EvalMTError."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalmt.config import RunConfig, load_config
from evalmt.data import read_testset
from evalmt.data.align import BAND, PRIOR_RATIO, _path, _Scorer, align
from evalmt.data.model import Segment
from evalmt.errors import ConfigError, DataError

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

VALID = """\
name: demo
data:
  - {name: s, reader: jsonl, path: d.jsonl, src_lang: zh, tgt_lang: en}
systems:
  - {name: copy, type: copy}
  - {name: hyp, type: hypotheses, path: h.txt}
metrics: [bleu, chrf]
confidence: {samples: 10, seed: 1}
significance: {method: paired-bootstrap, samples: 10}
output: results
"""
assert isinstance(yaml.safe_load(VALID), dict)

TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)),
                         st.sampled_from(list(":-[]{}&*!|>'\"%@`#,\n \t"))),
               max_size=80)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                   st.text(max_size=12))
# plugins are left out on purpose: a random plugin name would import an arbitrary module
KEYS = ["name", "data", "systems", "metrics", "confidence", "significance", "output", "cache",
        "reader", "type", "path", "src_lang", "tgt_lang", "samples", "seed", "method", "unit",
        "alpha", "options", "clean", "references", "source", "model", "num_beams"]
STRUCTURE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner,
                                                                max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw, text: str = VALID) -> str:
    """The valid config with a few random cuts and insertions."""
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 10)))
        text = text[:i] + draw(TEXT) + text[j:]
    return text


CONFIG_TEXT = st.one_of(
    TEXT,
    mutated(),
    st.dictionaries(st.sampled_from(KEYS), STRUCTURE, max_size=6).map(yaml.safe_dump),
    st.binary(max_size=60),
).filter(lambda t: b"plugins" not in (t if isinstance(t, bytes) else t.encode("utf-8", "replace")))


def load_or_error(content: str | bytes, overrides: tuple[str, ...] = ()) -> RunConfig | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.yaml"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        try:
            return load_config(path, overrides)
        except ConfigError as exc:
            assert str(path) in str(exc) or str(exc).startswith("--set"), str(exc)
            return None


@SETTINGS
@given(text=CONFIG_TEXT)
def test_any_yaml_is_a_config_or_a_config_error(text):
    config = load_or_error(text)
    if config is not None:
        assert config.name and config.data and config.systems


OVERRIDE = st.tuples(
    st.lists(st.sampled_from(["systems", "data", "0", "1", "copy", "hyp", "name", "metrics",
                              "num_beams", "samples", "confidence", "x", "-1", "9"]),
             min_size=1, max_size=3).map(".".join),
    st.sampled_from(["=", "", "=="]),
    st.one_of(TEXT.filter(lambda t: "\n" not in t), st.sampled_from(["null", "false", "[1, 2]",
                                                                      "{a: 1}", "3"])),
).map("".join).filter(lambda o: "plugins" not in o)


@SETTINGS
@given(overrides=st.lists(OVERRIDE, max_size=3))
def test_any_override_is_a_config_or_a_config_error(overrides):
    config = load_or_error(VALID, tuple(overrides))
    if not overrides:
        assert config is not None  # the base config is valid: only overrides can break it
    if config is not None:
        assert config.name and config.data and config.systems
        assert len({s.name for s in config.systems}) == len(config.systems)
        for override in overrides:  # a plain top-level name=VALUE that loaded is applied
            key, _, value = override.partition("=")
            if key == "name" and override == [o for o in overrides if o.startswith("name=")][-1]:
                loaded = yaml.safe_load(value) if value.strip() else None
                if isinstance(loaded, str):
                    assert config.name == loaded


# -- the hypotheses system -------------------------------------------------------------------

SEGMENTS = [Segment("d", "1", "一", ("one",)), Segment("d", "2", "二", ("two",))]
HYP_CONTENT = st.one_of(
    TEXT, st.binary(max_size=60),
    st.lists(st.fixed_dictionaries({"doc_id": st.sampled_from(["d", "e", 1]),
                                    "seg_id": st.sampled_from(["1", "2", 2, None]),
                                    "hyp": st.one_of(st.text(max_size=8), st.none(),
                                                     st.integers())}),
             max_size=3).map(lambda rows: "\n".join(yaml.safe_dump(r, default_flow_style=True,
                                                                   width=1000).strip()
                                                    for r in rows)),
)


@SETTINGS
@given(content=HYP_CONTENT, layout=st.sampled_from(["lines", "jsonl"]))
def test_any_hypotheses_file_gives_outputs_or_a_data_error(content, layout):
    from evalmt.systems.hypotheses import HypothesesConfig, HypothesesSystem

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.out"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        system = HypothesesSystem(HypothesesConfig(name="h", type="hypotheses", path=str(path),
                                                   format=layout), src_lang="zh", tgt_lang="en")
        try:
            outputs = system.precomputed_outputs(SEGMENTS)
        except DataError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            return
    assert len(outputs) == len(SEGMENTS) and all(isinstance(o, str) for o in outputs)
    assert all("\n" not in o and "\r" not in o for o in outputs)


# -- bilingual pages built from real paragraphs ------------------------------------------------

ZH = ["我們今天去北京開會。", "天氣很好,大家都很高興。", "這是一個測試句子,應(yīng)該翻譯成英文。",
      "外交部政策規劃司司長在重慶作專題報告,引起了強烈反響,與會人員一致表示受益匪淺。", "短。"]
EN = ["We went to Beijing for a meeting today.", "The weather was fine and everyone was happy.",
      "This is a test sentence that should be translated into English.",
      "The director-general of the policy planning department gave a report in Chongqing, "
      "which drew a strong response; all participants said they had learned a great deal.",
      "Short."]
PAGE = st.lists(st.one_of(st.sampled_from(ZH).map(lambda t: ("zh", t)),
                          st.sampled_from(EN).map(lambda t: ("en", t)),
                          st.just(("blank", ""))), min_size=1, max_size=14)


@SETTINGS
@given(page=PAGE)
def test_bilingual_pages_are_never_mispaired(page):
    """Every paragraph is in exactly one segment, in order, or named in a warning."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "p.txt").write_text("\n".join(t for _, t in page) + "\n", encoding="utf-8")
        try:
            testset = read_testset({"reader": "bilingual-txt", "path": "p.txt"}, base_dir=tmp)
        except DataError as exc:
            assert "p.txt" in str(exc)
            kinds = {k for k, _ in page}
            assert not {"zh", "en"} <= kinds  # only pages lacking a language are refused
            return
    doc = testset.documents[0]
    lines = {kind: [i for i, (k, _) in enumerate(page, start=1) if k == kind]
             for kind in ("zh", "en")}
    warned = {int(n) for w in testset.warnings for n in re.findall(r"line (\d+):", w)}
    warned |= {n for d in doc.meta["alignment"] if d["flagged"]  # flagged pairs, warned
               for n in d["src_lines"] + d["ref_lines"]}
    for kind, key in (("zh", "src_lines"), ("en", "ref_lines")):
        used = [n for seg in doc.segments for n in seg.meta[key]]
        assert used == sorted(used) and len(used) == len(set(used))  # in order, once
        assert set(used) <= set(lines[kind])
        assert set(lines[kind]) <= set(used) | warned


# -- the banded aligner ---------------------------------------------------------------------------

LENGTHS = st.lists(st.integers(1, 60), min_size=0, max_size=2 * BAND + 20)


def _scorer(zh, en):
    return _Scorer(zh, en, ratio=PRIOR_RATIO, evidence=None, zh_headings=frozenset(),
                   en_headings=frozenset(), zh_cut=frozenset(), en_cut=frozenset())


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(zh=LENGTHS, en=LENGTHS)
def test_alignment_covers_every_paragraph_once_in_order(zh, en):
    _, beads = _path(_scorer(zh, en), 0, len(zh), 0, len(en))
    assert [i for b in beads for i in b.zh] == list(range(len(zh)))
    assert [j for b in beads for j in b.en] == list(range(len(en)))
    assert all((len(b.zh), len(b.en)) in {(1, 1), (1, 0), (0, 1), (2, 1), (1, 2)}
               for b in beads)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(offset=st.integers(0, 40), n=st.integers(BAND + 1, 2 * BAND))
def test_band_keeps_the_diagonal_when_extra_paragraphs_lead(offset, n):
    """A page with ``offset`` unmatched leading English paragraphs still pairs the rest 1-1."""
    zh = [20 + (7 * i) % 50 for i in range(n)]
    en = [5] * offset + [round(PRIOR_RATIO * z) for z in zh]
    result = align(zh, en)
    pairs = [(b.zh[0], b.en[0]) for b in result.beads if b.kind == "1-1"]
    half = n // 2
    assert pairs[-half:] == [(i, i + offset) for i in range(n - half, n)]


def exact_alignment_score(zh: list[int], en: list[int]) -> tuple[float, list[tuple[int, int]]]:
    """Best alignment score over the whole grid, and its path (an independent, unbanded DP)."""
    scorer = _scorer(zh, en)
    steps = {"1-1": (1, 1), "1-0": (1, 0), "0-1": (0, 1), "2-1": (2, 1), "1-2": (1, 2)}
    n, m = len(zh), len(en)
    best = {(0, 0): (0.0, None)}
    for i in range(n + 1):
        for j in range(m + 1):
            if (i, j) not in best:
                continue
            here = best[(i, j)][0]
            for kind, (di, dj) in steps.items():
                if i + di > n or j + dj > m:
                    continue
                score = here + scorer.score(kind, i, j)
                if (i + di, j + dj) not in best or score > best[(i + di, j + dj)][0]:
                    best[(i + di, j + dj)] = (score, (i, j))
    path, cell = [], (n, m)
    while cell is not None:
        path.append(cell)
        cell = best[cell][1]
    return best[(n, m)][0], path


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(zh=st.lists(st.integers(1, 60), min_size=BAND + 1, max_size=BAND + 40),
       drop=st.lists(st.integers(0, BAND), max_size=5))
def test_banded_search_finds_the_exact_optimum_within_the_band(zh, drop):
    """Pages longer than the band: the banded score equals the full search whenever the
    optimal path stays within the band, and is never higher than it."""
    en = [round(PRIOR_RATIO * z) + 1 for i, z in enumerate(zh) if i not in set(drop)]
    exact, path = exact_alignment_score(zh, en)
    banded, _ = _path(_scorer(zh, en), 0, len(zh), 0, len(en))
    assert banded <= exact + 1e-9
    n, m = len(zh), len(en)
    if all(abs(j * n - i * m) <= BAND * max(n, m) for i, j in path):
        assert abs(banded - exact) < 1e-6
