"""Tests for the ``dictionary`` (CC-CEDICT gloss) baseline system."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest
import sacrebleu

from evalmt.errors import ConfigError
from evalmt.systems.base import SYSTEMS
from evalmt.systems.dictionary import default_dictionary_path, gloss_for, load_cedict

SAMPLE = Path(__file__).parents[2] / "evalmt" / "resources" / "samples" / "000_1fbc44d11a2c24ea.txt"


@pytest.fixture(scope="module")
def system():
    cls = SYSTEMS.get("dictionary")
    return cls(cls.config_model(name="gloss", type="dictionary", index_cache=None),
               src_lang="zh-Hant", tgt_lang="en")


@pytest.fixture(scope="module")
def cedict_lines() -> dict[str, list[str]]:
    """Headword (Traditional and Simplified) → raw dictionary lines, read independently."""
    lines: dict[str, list[str]] = {}
    with gzip.open(default_dictionary_path(), "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                trad, simp, _ = line.split(" ", 2)
                lines.setdefault(trad, []).append(line)
                lines.setdefault(simp, []).append(line)
    return lines


def first_sense(lines: list[str]) -> str:
    return lines[0].split("/")[1]


@pytest.mark.parametrize(("word", "first", "gloss"), [
    ("外交部", "Ministry of Foreign Affairs", "Ministry of Foreign Affairs"),
    ("會議", "meeting", "meeting"),  # Traditional headword
    ("会议", "meeting", "meeting"),  # Simplified headword
    ("報告", "to inform", "inform"),  # leading "to " of a verb dropped
    ("公司", "company; firm; corporation", "company"),  # first alternative only
    ("你好", "hello", "hello"),
])
def test_first_sense_of_known_words(system, cedict_lines, word, first, gloss):
    assert first_sense(cedict_lines[word]) == first  # the expectation comes from the file
    assert system.translate([word]) == [gloss]


@pytest.mark.parametrize(("text", "expected"), [
    ("ABC公司", "ABC company"),
    ("2019年", "2019"),
    ("5月14日,會議", "May 14, meeting"),
    ("2019年5月14日", "May 14, 2019"),
    ("2019年12月", "December 2019"),
    ("１２月３１日", "December 31"),
    ("13月", "13 moon"),  # not a month: number kept, 月 glossed on its own
    ("３.５%", "3.5%"),  # full-width digits normalised, number kept whole
    ("COVID-19", "COVID-19"),
    ("你好！", "hello!"),
    ("公司，會議。", "company, meeting."),
    ("《會議》", '"meeting"'),
    ("「你好」", '"hello"'),
])
def test_latin_numbers_and_punctuation(system, text, expected):
    assert system.gloss(text) == expected


@pytest.mark.parametrize(("entries", "gloss"), [
    ([("He2", ("surname He",)), ("he2", ("and; together with",))], "and"),
    ([("Ye3", ("surname Ye",)), ("ye3", ("(adverb) also; both ... and ...",))], "also"),
    ([("yu2", ("variant of 歟|欤[yu2]",)), ("yu3", ("and", "to give"))], "and"),
    ([("le5", ("(completed action marker)", "(modal particle)")), ("liao3", ("to finish",))], ""),
    ([("ge3", ("used in 自個兒|自个儿[zi4 ge3 r5]",)),
      ("ge4", ("(classifier used before a noun)", "(bound form) individual"))], ""),
    ([("shi4", ("CL:個|个[ge4]", "market", "city"))], "market"),
    ([("Ri4", ("abbr. for 日本[Ri4 ben3], Japan",)), ("ri4", ("sun", "day"))], "sun"),
    ([("Zhong1 guo2", ("China",))], "China"),
    ([("x", ("to look after sb (formal)",))], "look after somebody"),
    ([("x", ("Chongqing city, formerly in Sichuan, short name 渝[Yu2]",))], "Chongqing city"),
])
def test_sense_rules_on_hand_made_entries(entries, gloss):
    assert gloss_for(entries) == gloss


def test_unknown_characters_kept_or_dropped(tmp_path):
    dictionary = tmp_path / "mini.txt"
    dictionary.write_text("# comment\n會議 会议 [hui4 yi4] /meeting/\n", encoding="utf-8")
    cls = SYSTEMS.get("dictionary")
    keep = cls(cls.config_model(name="k", type="dictionary", dictionary=str(dictionary)),
               src_lang="zh", tgt_lang="en")
    drop = cls(cls.config_model(name="d", type="dictionary", dictionary=str(dictionary),
                                unknown="drop"), src_lang="zh", tgt_lang="en")
    assert keep.gloss("會議甲") == "meeting 甲"
    assert drop.gloss("會議甲") == "meeting"
    assert keep.fingerprint() != drop.fingerprint()


def test_relative_dictionary_path_resolves_against_the_config_folder(tmp_path, monkeypatch):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "mini.txt").write_text("會議 会议 [hui4 yi4] /meeting/\n",
                                               encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the working folder does not hold lab/mini.txt's parent
    cls = SYSTEMS.get("dictionary")
    system = cls(cls.config_model(name="k", type="dictionary", dictionary="mini.txt"),
                 src_lang="zh", tgt_lang="en", base_dir=tmp_path / "lab")
    assert system.path == tmp_path / "lab" / "mini.txt"
    assert system.gloss("會議") == "meeting"


def test_longest_match_prefers_the_longer_word(system, cedict_lines):
    assert "外交部" in cedict_lines and "外交" in cedict_lines and "部" in cedict_lines
    longest = ["外交部長"] if "外交部長" in cedict_lines else ["外交部", "長"]
    assert system.segment("外交部長") == longest
    assert system.segment("外交部") == ["外交部"]


def test_only_zh_to_en():
    cls = SYSTEMS.get("dictionary")
    with pytest.raises(ConfigError, match="'g'.*zh → en only"):
        cls(cls.config_model(name="g", type="dictionary"), src_lang="en", tgt_lang="zh")


def test_describe_records_licence_and_file_hash(system):
    info = system.describe()
    assert "CC BY-SA 4.0" in info["licence"]
    assert len(info["dictionary_sha256"]) == 64
    assert info["dictionary_entries"] > 100_000


def test_index_is_built_once_per_process(system):
    path = str(system.path.resolve())
    t0 = time.perf_counter()
    assert load_cedict(path) is system.index
    assert time.perf_counter() - t0 < 0.1


def test_sample_gets_a_real_gloss(system):
    lines = SAMPLE.read_text(encoding="utf-8").strip().split("\n")
    zh = [re.sub(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)", "", x) for x in lines[:3]]
    en = lines[3:]
    hyps = system.translate(zh)
    for hyp in hyps:
        words = hyp.split()
        assert len(words) > 30
        cjk = sum(bool(re.match(r"[\u4e00-\u9fff]", ch)) for ch in hyp)
        assert cjk / len(hyp) < 0.02
    assert "Ministry of Foreign Affairs" in hyps[0] and "Chongqing" in hyps[0]
    bleu = sacrebleu.corpus_bleu(hyps, [en]).score
    copy = sacrebleu.corpus_bleu(zh, [en]).score
    assert bleu > copy and bleu > 1.0


def test_parsed_index_is_cached_by_file_hash(tmp_path, monkeypatch):
    import json

    from evalmt.systems import dictionary

    (tmp_path / "mini.txt").write_text("#! date=2024-01-01\n會議 会议 [hui4 yi4] /meeting/\n"
                                       "了 了 [le5] /(completed action marker)/\n",
                                       encoding="utf-8")
    cls = SYSTEMS.get("dictionary")

    def build(**options):
        return cls(cls.config_model(name="g", type="dictionary", dictionary="mini.txt",
                                    **options), src_lang="zh", tgt_lang="en", base_dir=tmp_path)

    first = build(index_cache="idx")
    assert first.translate(["会议了"]) == ["meeting"]
    (cached,) = (tmp_path / "idx").iterdir()
    assert cached.name == f"{first._sha256}.rules{dictionary.GLOSS_RULES}.json"
    assert json.loads(cached.read_text(encoding="utf-8"))["glosses"]["會議"] == "meeting"

    def no_parsing(path):
        raise AssertionError("parsed again although the index was cached")

    monkeypatch.setattr(dictionary, "load_cedict", no_parsing)
    second = build(index_cache="idx")
    assert second.translate(["会议了"]) == ["meeting"]
    assert second.describe()["dictionary_date"] == "2024-01-01"
    assert second.describe()["dictionary_entries"] == 2
    # where the cache lives cannot change outputs: same fingerprint as without one
    assert second.fingerprint() == build(index_cache=None).fingerprint()

    monkeypatch.undo()
    cached.write_text("{not json", encoding="utf-8")  # damaged: parsed again and replaced
    assert build(index_cache="idx").translate(["会议"]) == ["meeting"]
    assert json.loads(cached.read_text(encoding="utf-8"))["entries"] == 2
    assert [p.name for p in (tmp_path / "idx").iterdir()] == [cached.name]
