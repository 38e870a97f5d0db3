"""What a line of a bilingual page is, before alignment: paragraph, note, byline, cut-off line.

Pages of this family carry lines that are not paragraphs inside the blocks
(editor and source lines, bylines) and are often cut off at the end, the last
line stopping mid-sentence or mid-word. These rules are text-only and cheap;
the aligner never pairs a note or a cut-off line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evalmt.data.langid import HAN_RANGES

# A line wholly in brackets, or one opening with a credit label, is an
# editorial note ("(Editor: Wang)", "（責任編輯：王）", "Source: Xinhua").
_NOTE = re.compile(
    r"^\s*(?:[(（\[【][^()（）\[\]【】]*[)）\]】]"
    r"|(?:editor|source|translator|translated by|photo|責任編輯|责任编辑|編輯|编辑|來源|来源)"
    r"\s*[:：].*)\s*$",
    re.IGNORECASE,
)
# A byline: "By Li Ming", "By Li Ming, staff reporter", "记者 李明", "文/王芳".
_BYLINE = re.compile(
    r"^\s*(?:by\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}(?:\s*,\s*[\w\s]{0,30})?"
    r"|(?:记者|記者|通讯员|通訊員|文\s*[/／]|撰文\s*[:：/])\s*[^\s。，,]{1,12}"
    r"(?:\s+[^\s。，,]{1,12}){0,3})\s*$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?.…」”\"'’)）\]】》]\s*$")
_UNCLOSED = re.compile(r"[(（][^()（）]*$")
# Mojibake leaves "?" between Han characters, often with a stray pinyin run:
# "秘魯?shù)?個國家".
_MOJIBAKE = re.compile(rf"[{HAN_RANGES}]\?(?:[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*\)\?)?")
# English run together by a broken converter: "Affairs,China's", "Ministryof".
_RUN_TOGETHER = re.compile(
    r"[a-z]{2,}[,;:][A-Za-z]{2,}|[a-z]{2,}\.[A-Z][a-z]{2,}"
    r"|\b[A-Z][a-z]*[a-np-z](?:of|the|and)\b"
)


def non_paragraph(line: str) -> str | None:
    """Why a line is not a paragraph (``"note"``, ``"byline"``), or None when it may be one."""
    if _NOTE.match(line):
        return "note"
    if _BYLINE.match(line):
        return "byline"
    return None


def sentence_like(text: str) -> bool:
    """Whether a line reads as running text rather than a title.

    English: fewer than half of its words of four or more letters are
    capitalised (titles are in title case). Chinese: it has a comma or
    enumeration comma inside, or more than 30 characters (titles have neither).
    """
    words = [w for w in re.findall(r"[A-Za-z]{4,}", text)]
    if words:
        return sum(w[0].isupper() for w in words) < len(words) / 2
    return bool(re.search(r"[,，、；;]", text)) or len(text) > 30


def is_cut(text: str, *, heading: bool = False) -> bool:
    """Whether a line looks cut off: an unclosed bracket, or running text without a sentence end.

    A title (no sentence end, but not running text, see ``sentence_like``) is
    not a cut, nor is a line the caller knows to be a heading.
    """
    if _UNCLOSED.search(text):
        return True
    return not heading and not _SENTENCE_END.search(text) and sentence_like(text)


def ends_sentence(text: str) -> bool:
    """Whether a line ends with sentence-final punctuation (or a closing quote/bracket)."""
    return bool(_SENTENCE_END.search(text))


def unclosed(text: str) -> bool:
    """Whether a line ends inside an unclosed bracket (a cut inside ``(zh``)."""
    return bool(_UNCLOSED.search(text.strip()))


def mojibake(text: str) -> list[str]:
    """Fragments that look like mojibake (``?`` between Han characters)."""
    return [m.group(0) for m in _MOJIBAKE.finditer(text)]


def run_together(texts: Sequence[tuple[int, str]]) -> list[str]:
    """Warnings for English lines whose words look run together (kept as written)."""
    found = []
    for line, text in texts:
        hits = [token for token in text.split() if _RUN_TOGETHER.search(token)]
        if hits:
            found.append(f"line {line}: English looks run together "
                         f"({', '.join(repr(h) for h in hits[:3])}); kept as written")
    return found
