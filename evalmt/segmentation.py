"""Sentence splitting for inputs longer than a system accepts, and joining outputs back.

``split_to_fit`` cuts a segment into pieces of at most ``max_tokens`` (in a
system's own ``num_tokens`` units), trying, in order:

1. sentence boundaries — after Chinese 。！？；… (and full-width ．！？；), and
   after ASCII ``. ! ? ;`` followed by a space, unless the word before the dot
   is a known abbreviation (``Mr.``, ``U.S.``, ``e.g.``) or the dot sits inside
   a number (``3.5``); closing quotes and brackets stay with their sentence;
2. clause marks — ，、,：: (the mark stays with the left part);
3. a hard cut by tokens (whole words for spaced text, characters otherwise, and
   characters of a single word that is over the budget by itself).

``join_pieces`` puts the translated pieces back together: without a separator
for Chinese, Japanese (and other unspaced) targets, with one space otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from evalmt.core import primary_subtag

#: Sentence-final marks of Chinese text; a boundary follows them even without a space.
CJK_SENTENCE_END = "。！？；…．"
#: Closing quotes and brackets that belong to the sentence before a boundary.
CLOSERS = "”’\"'」』）)】]》〉"
#: Clause marks used when a sentence alone is still too long.
CLAUSE_MARKS = "，、,：:"

#: Lower-cased words that end with a dot without ending a sentence (English).
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "gov", "sen", "rep",
    "rev", "hon", "lt", "col", "capt", "sgt", "cmdr", "adm", "vs", "etc", "e.g", "i.e", "cf",
    "al", "approx", "no", "nos", "vol", "vols", "fig", "figs", "p", "pp", "ch", "sec", "art",
    "inc", "ltd", "co", "corp", "dept", "univ", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.u", "p.m", "a.m", "ph.d",
})
#: Target languages written without spaces between sentences.
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "yue", "wuu", "lzh", "th", "lo", "km", "my", "bo"})

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")
# A boundary candidate: CJK end marks (runs like "……" or "！？"), or ASCII .!?; then
# optional closers; the match ends where the next sentence may start.
_CJK_END = re.compile(r"[" + CJK_SENTENCE_END + r"]+[" + re.escape(CLOSERS) + r"]*")
# ASCII marks inside Chinese text: between a Han character (or closer) and a Han character.
_CJK_CLASS = r"\u2e80-\u9fff\uf900-\ufaff"
_ASCII_IN_CJK = re.compile(r"(?<=[" + _CJK_CLASS + re.escape(CLOSERS) + r"])[.!?;]+["
                           + re.escape(CLOSERS) + r"]*(?=\s*[" + _CJK_CLASS + r"])")
_ASCII_END = re.compile(r"[.!?;]+[" + re.escape(CLOSERS) + r"]*(?=\s+|$)")
_CLAUSE = re.compile(r"[" + re.escape(CLAUSE_MARKS) + r"]+[" + re.escape(CLOSERS) + r"]*\s*")


def is_unspaced(lang: str) -> bool:
    """Tell whether ``lang`` (e.g. ``zh``, ``zh-Hant``, ``ja_JP``) is written without spaces."""
    return primary_subtag(lang) in UNSPACED_LANGUAGES


def join_pieces(pieces: list[str] | tuple[str, ...], tgt_lang: str) -> str:
    """Join translated pieces of one segment: ``""`` for unspaced targets, ``" "`` otherwise."""
    stripped = [p.strip() for p in pieces]
    return ("" if is_unspaced(tgt_lang) else " ").join(p for p in stripped if p)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Tell whether the ``.`` at index ``dot`` ends an abbreviation rather than a sentence."""
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    word = text[start:dot]
    if not word:
        return False
    if word.lower() in ABBREVIATIONS:
        return True
    # Single capital initials ("J. Smith") and dotted acronyms ("U.S.A") are not boundaries.
    return bool(re.fullmatch(r"[A-Z]|(?:[A-Za-z]\.)+[A-Za-z]", word))


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; pieces keep their marks, surrounding space is stripped.

    Concatenating the pieces with the whitespace between them gives ``text``
    back. Text without boundaries comes back as one piece.
    """
    cuts: set[int] = set()
    for m in _CJK_END.finditer(text):
        cuts.add(m.end())
    for m in _ASCII_IN_CJK.finditer(text):
        cuts.add(m.end())
    for m in _ASCII_END.finditer(text):
        first = m.start()
        lone_dot = m.group().rstrip(CLOSERS) == "."
        if lone_dot and _is_abbreviation(text, first):
            continue
        cuts.add(m.end())
    return _cut(text, sorted(cuts))


def _cut(text: str, cuts: list[int]) -> list[str]:
    pieces, start = [], 0
    for cut in cuts + [len(text)]:
        piece = text[start:cut].strip()
        if piece:
            pieces.append(piece)
        start = cut
    return pieces


def _split_clauses(text: str) -> list[str]:
    return _cut(text, [m.end() for m in _CLAUSE.finditer(text)])


def _units(text: str) -> list[str]:
    """Smallest pieces for a hard cut: characters of CJK text, whitespace-led words otherwise."""
    if _CJK.search(text):
        return list(text)
    return re.findall(r"\s*\S+", text)


def _hard_split(text: str, max_tokens: int, num_tokens: Callable[[str], int]) -> list[str]:
    units = _units(text)
    pieces: list[str] = []
    while units:
        head = units[0].strip()
        if len(head) > 1 and num_tokens(head) > max_tokens:
            # One word is over the budget on its own: cut it into characters.
            units[:1] = list(units[0])
            continue
        # Largest prefix that fits, by binary search (num_tokens may be a tokenizer call).
        lo, hi = 1, len(units)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if num_tokens("".join(units[:mid]).strip()) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        piece = "".join(units[:lo]).strip()
        if piece:
            pieces.append(piece)
        units = units[lo:]
    return pieces


def split_to_fit(text: str, *, max_tokens: int, num_tokens: Callable[[str], int]) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_tokens`` (by ``num_tokens``), in order.

    Text that fits is returned as one piece. Sentences come first, then
    clauses, then a hard cut (words, or characters of a word that is too long
    itself); a single character longer than the budget is kept whole.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if num_tokens(text) <= max_tokens:
        return [text]
    pieces: list[str] = []
    for sentence in split_sentences(text):
        if num_tokens(sentence) <= max_tokens:
            pieces.append(sentence)
            continue
        for clause in _split_clauses(sentence):
            if num_tokens(clause) <= max_tokens:
                pieces.append(clause)
            else:
                pieces.extend(_hard_split(clause, max_tokens, num_tokens))
    return pieces
