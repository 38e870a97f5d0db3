"""Named text-cleaning steps applied by readers: ``strip-pinyin``, ``t2s``, ``normalize-space``.

Each step is a function ``(text) -> (text, changes)`` registered in ``CLEANERS``.
``clean_text`` applies a validated list of steps and returns per-step change
counts so that readers can record them on segments and documents.

Policy (DESIGN.md, "Readers"): ``strip-pinyin`` and ``t2s`` touch only
Chinese text that is not a reference; ``normalize-space`` applies to every
text; references are otherwise left exactly as written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

from evalmt.core import is_chinese
from evalmt.data.langid import HAN_RANGES
from evalmt.registry import Registry

CleanStep = Callable[[str], tuple[str, int]]

CLEANERS: Registry[CleanStep] = Registry("cleaning step")

# Steps that only make sense on (non-reference) Chinese text.
CHINESE_SOURCE_ONLY = frozenset({"strip-pinyin", "t2s"})

# --- pinyin syllable inventory ---------------------------------------------
# Standard Mandarin syllables written as initial + final (tone marks removed,
# ü kept as "ü"; "v" and plain "u" after n/l are accepted as its spellings).
# Grouped by initials that combine with the same finals; compiled from the
# Hanyu Pinyin syllable table (GB/T 16159 / the Xinhua Zidian table). A
# slight over-generation is harmless: the set only has to reject English
# words and random letter runs, which it does.
_FINALS_BY_INITIALS: dict[str, str] = {
    "": "a o e ai ei ao ou an en ang eng er yi ya yao ye you yan yin yang ying yong "
        "yu yue yuan yun wu wa wo wai wei wan wen wang weng",
    "b": "a o ai ei ao an en ang eng i iao ie ian in ing u",
    "p": "a o ai ei ao ou an en ang eng i iao ie ian in ing u",
    "m": "a o e ai ei ao ou an en ang eng i iao ie iu ian in ing u",
    "f": "a o ei ou an en ang eng u",
    "d": "a e ai ei ao ou an en ang eng ong i ia iao ie iu ian ing u uo ui uan un",
    "t": "a e ai ao ou an ang eng ong i iao ie ian ing u uo ui uan un",
    "n": "a e ai ei ao ou an en ang eng ong i iao ie iu ian in iang ing u uo uan ü üe ue",
    "l": "a o e ai ei ao ou an ang eng ong i ia iao ie iu ian in iang ing u uo uan un ü "
         "üe ue",
    "g k h": "a e ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "j q x": "i ia iao ie iu ian in iang ing iong u ue uan un",
    "zh ch sh": "a e i ai ei ao ou an en ang eng ong u ua uo uai ui uan un uang",
    "r": "e i ao ou an en ang eng ong u ua uo ui uan un",
    "z c s": "a e i ai ei ao ou an en ang eng ong u uo ui uan un",
}
PINYIN_SYLLABLES: frozenset[str] = frozenset(
    (initial + final)
    for initials, finals in _FINALS_BY_INITIALS.items()
    for initial in (initials.split() or [""])
    for final in finals.split()
)

# Tone-marked vowels → (bare vowel); ü keeps its diaeresis.
_TONE_VOWELS = {
    **dict.fromkeys("āáǎà", "a"), **dict.fromkeys("ēéěè", "e"), **dict.fromkeys("īíǐì", "i"),
    **dict.fromkeys("ōóǒò", "o"), **dict.fromkeys("ūúǔù", "u"), **dict.fromkeys("ǖǘǚǜ", "ü"),
    "ń": "n", "ň": "n", "ǹ": "n", "ḿ": "m",
}
_PINYIN_LETTERS = "a-zü" + "".join(_TONE_VOWELS)
# A Han character, then "(" or "（", optional spaces, a lowercase letter run,
# then ")" or "）". Only the parenthesis part is removed, and only when the
# letter run is a legal syllable (checked in ``_strip_pinyin``).
_CANDIDATE = re.compile(
    rf"(?<=[{HAN_RANGES}])[(（]\s*([{_PINYIN_LETTERS}]{{1,6}})\s*[)）]"
)


def bare_syllable(word: str) -> str:
    """Remove tone marks from a pinyin syllable (``yīng`` → ``ying``; ``lǜ`` → ``lü``)."""
    return "".join(_TONE_VOWELS.get(ch, ch) for ch in word).replace("v", "ü")


def is_pinyin_syllable(word: str) -> bool:
    """Tell whether ``word`` is one legal Hanyu Pinyin syllable (lowercase, tone marks optional)."""
    if not word or word != word.lower():
        return False
    bare = bare_syllable(word)
    # A one-letter run without a tone mark is far more often a list marker
    # such as "(a)" than a neutral-tone syllable.
    if len(word) == 1 and bare == word:
        return False
    return bare in PINYIN_SYLLABLES


def _has_tone_mark(word: str) -> bool:
    return any(ch in _TONE_VOWELS for ch in word)


def _strip_pinyin(text: str) -> tuple[str, int]:
    removed = 0
    # A toneless run such as "(he)", "(men)" or "(hui)" is both a neutral-tone
    # syllable and an English word. Artifact pages annotate nearly every
    # character, so a text with the artifact has tone-marked syllables too;
    # without one, toneless runs are kept as genuine parentheticals.
    toned = any(_has_tone_mark(m.group(1)) and is_pinyin_syllable(m.group(1))
                for m in _CANDIDATE.finditer(text))

    def replace(match: re.Match[str]) -> str:
        nonlocal removed
        word = match.group(1)
        if is_pinyin_syllable(word) and (toned or _has_tone_mark(word)):
            removed += 1
            return ""
        return match.group(0)

    # Repeat until stable so that "國(guó)(guó)" loses both artifacts and the
    # step is idempotent (a second run never finds anything to remove).
    while True:
        before = removed
        text = _CANDIDATE.sub(replace, text)
        if removed == before:
            return text, removed


@functools.lru_cache(maxsize=1)
def _t2s_converter():  # opencc has no type stubs
    import opencc  # imported on first use: building the converter reads its dictionaries

    return opencc.OpenCC("t2s")


def _t2s(text: str) -> tuple[str, int]:
    converted = _t2s_converter().convert(text)
    if len(converted) != len(text):  # t2s is character-to-character for nearly all input
        return converted, int(converted != text)
    return converted, sum(a != b for a, b in zip(text, converted, strict=True))


_SPACE_RUN = re.compile(r"[ \t\u00a0\u3000\u2000-\u200b\u202f\u205f\ufeff]+")


def _normalize_space(text: str) -> tuple[str, int]:
    # NFC only so that composed and decomposed tone marks compare equal; no
    # compatibility folding (NFKC would rewrite full-width punctuation).
    out = unicodedata.normalize("NFC", text)
    changes = int(out != text)
    lines = []
    for line in out.split("\n"):
        squeezed = _SPACE_RUN.sub(" ", line).strip()
        changes += int(squeezed != line)
        lines.append(squeezed)
    return "\n".join(lines), changes


CLEANERS.add("strip-pinyin", _strip_pinyin)
CLEANERS.add("t2s", _t2s)
CLEANERS.add("normalize-space", _normalize_space)


def validate_steps(steps: Sequence[str]) -> tuple[str, ...]:
    """Check every step name (did-you-mean ``ConfigError`` for unknown ones); return a tuple."""
    for step in steps:
        CLEANERS.get(step)
    return tuple(steps)


def applies_to(step: str, *, lang: str, is_reference: bool) -> bool:
    """Whether ``step`` touches a text in language ``lang`` on the given side."""
    if step in CHINESE_SOURCE_ONLY:
        return is_chinese(lang) and not is_reference
    return True


def clean_text(
    text: str, steps: Sequence[str], *, lang: str, is_reference: bool
) -> tuple[str, dict[str, int]]:
    """Apply ``steps`` in order; return the cleaned text and the change count of each step.

    Steps that do not apply to this text (see ``applies_to``) are reported with 0.
    """
    counts: dict[str, int] = {}
    for step in validate_steps(steps):
        if applies_to(step, lang=lang, is_reference=is_reference):
            text, n = CLEANERS.get(step)(text)
        else:
            n = 0
        counts[step] = counts.get(step, 0) + n
    return text, counts
