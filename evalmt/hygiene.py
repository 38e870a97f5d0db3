"""Output hygiene: cheap checks on a system's outputs that scores alone hide.

Per system and data set: how many outputs are empty, how many still contain
CJK characters although the target language is not written in them (an
untranslated or half-translated segment), and the length ratio of outputs to
references. Lengths are counted in non-whitespace characters so the ratio
means the same for Chinese and English. For systems that report how each
answer ended (API systems), also how many segments failed (no output after
all retries), were cut off at the token limit (``truncated``) or refused.
The runner records these in the manifest and next to the scores.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evalmt.core import primary_subtag
from evalmt.errors import DataError

#: Han (incl. extension A, compatibility ideographs, extensions B+), kana, hangul.
CJK_RE = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af\U00020000-\U0003134f]"
)
#: Target languages whose normal output contains CJK characters: no "untranslated" check.
CJK_LANGS = frozenset({"zh", "ja", "ko", "yue", "wuu", "lzh"})
#: A segment whose output/reference length ratio is outside these bounds is counted as an
#: outlier: half or double the reference length is far outside normal translation variance.
SHORT_RATIO, LONG_RATIO = 0.5, 2.0


@dataclass(frozen=True)
class Hygiene:
    """Hygiene counts of one system's outputs on one data set."""

    system: str
    segments: int
    empty: int
    untranslated: int | None
    length_ratio: float | None
    too_short: int
    too_long: int
    failed: int = 0
    truncated: int | None = None
    refused: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a plain dict for JSON and CSV."""
        return asdict(self)


def _length(text: str) -> int:
    # str.split() splits on exactly the characters str.isspace() accepts; joining is
    # ~20x faster than a per-character test on 2,000 paragraph-long outputs.
    return len("".join(text.split()))


def check_outputs(*, system: str, hypotheses: Sequence[str],
                  references: Sequence[str | None], tgt_lang: str, failed: int = 0,
                  flags: Mapping[int, Sequence[str]] | None = None) -> Hygiene:
    """Count empty, untranslated (CJK in a non-CJK target) and length-outlier outputs.

    ``references`` is one reference stream (``None`` where a segment has none);
    the length ratio is total output length over total reference length of the
    segments that have a reference. ``failed`` and ``flags`` (segment index →
    ``truncated``/``refused``/…) come from systems that report them; without
    ``flags`` the truncated and refused counts are ``None`` (not applicable).
    """
    if len(hypotheses) != len(references):
        raise DataError(f"hygiene of {system!r}: {len(hypotheses)} outputs but "
                        f"{len(references)} references")
    lang = primary_subtag(tgt_lang)
    untranslated = None if lang in CJK_LANGS else sum(
        1 for h in hypotheses if CJK_RE.search(h))
    hyp_total = ref_total = too_short = too_long = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        if ref is None:
            continue
        h, r = _length(hyp), _length(ref)
        hyp_total += h
        ref_total += r
        if r and h / r < SHORT_RATIO:
            too_short += 1
        elif r and h / r > LONG_RATIO:
            too_long += 1
    return Hygiene(
        system=system,
        segments=len(hypotheses),
        empty=sum(1 for h in hypotheses if not h.strip()),
        untranslated=untranslated,
        length_ratio=round(hyp_total / ref_total, 4) if ref_total else None,
        too_short=too_short,
        too_long=too_long,
        failed=failed,
        truncated=None if flags is None else sum("truncated" in f for f in flags.values()),
        refused=None if flags is None else sum("refused" in f for f in flags.values()),
    )


COLUMNS = ("system", "segments", "empty", "untranslated", "length_ratio", "too_short", "too_long",
           "failed", "truncated", "refused")


def render_csv(rows: Sequence[Hygiene]) -> str:
    """Render hygiene rows as CSV (``untranslated`` empty where it does not apply)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = row.as_dict()
        writer.writerow(["" if values[c] is None else values[c] for c in COLUMNS])
    return buf.getvalue()


def render_markdown(rows: Sequence[Hygiene]) -> str:
    """Render hygiene rows as a Markdown table with a one-line legend.

    The failed/truncated/refused columns appear only when some system reports them.
    """
    answers = any(r.truncated is not None or r.failed for r in rows)
    head = "| system | segments | empty | still CJK | length ratio | <0.5× ref | >2× ref |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if answers:
        head, rule = head + " failed | truncated | refused |", rule + "---:|---:|---:|"
    lines = [head, rule]
    for r in rows:
        cjk = "n/a" if r.untranslated is None else str(r.untranslated)
        ratio = "n/a" if r.length_ratio is None else f"{r.length_ratio:.2f}"
        name = r.system.replace("|", "\\|")
        line = (f"| {name} | {r.segments} | {r.empty} | {cjk} | "
                f"{ratio} | {r.too_short} | {r.too_long} |")
        if answers:
            line += " " + " | ".join([str(r.failed), *("n/a" if v is None else str(v)
                                                       for v in (r.truncated, r.refused))]) + " |"
        lines.append(line)
    lines += ["", "Length ratio: output / reference length in non-whitespace characters."]
    if answers:
        lines.append("Failed: no output after all retries (scored as empty); truncated: the "
                     "answer hit max_tokens; refused: the API flagged a refusal.")
    return "\n".join(lines) + "\n"
