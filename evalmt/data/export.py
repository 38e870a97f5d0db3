"""Write test sets as the segments that would be scored: JSONL or TSV for other tools.

JSONL: one segment per line, ``{"dataset", "doc_id", "seg_id", "src_lang",
"tgt_lang", "src", "refs", "meta"}`` (``meta`` holds the reader's decisions:
alignment kind, source/reference line numbers, confidence, cleaning counts).
TSV: a header ``dataset doc_id seg_id src ref [ref2 ...]``, one segment per
row, written with Python's ``csv`` module in its tab dialect: a field holding
a tab, newline or quote (a 1-2 pair's two paragraphs are joined with a
newline) is quoted, so ``csv``/pandas read it back exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from evalmt.data.model import TestSet
from evalmt.errors import ConfigError

FORMATS = ("jsonl", "tsv")


def guess_format(path: str) -> str:
    """Return the export format from a file name's extension (``ConfigError`` when neither)."""
    for fmt in FORMATS:
        if path.lower().endswith("." + fmt):
            return fmt
    raise ConfigError(f"data export: cannot tell the format of {path!r} from its extension; "
                      f"pass --format ({', '.join(FORMATS)})")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def export_text(testsets: Sequence[TestSet], *, fmt: str) -> str:
    """Render every segment of ``testsets`` in ``fmt`` (``jsonl`` or ``tsv``)."""
    if fmt == "jsonl":
        return "".join(
            json.dumps({"dataset": t.name, "doc_id": s.doc_id, "seg_id": s.seg_id,
                        "src_lang": t.src_lang, "tgt_lang": t.tgt_lang, "src": s.src,
                        "refs": list(s.refs), "meta": _plain(s.meta)},
                       ensure_ascii=False) + "\n"
            for t in testsets for s in t.segments())
    if fmt == "tsv":
        streams = max((t.num_refs for t in testsets), default=1) or 1
        buf = io.StringIO()
        writer = csv.writer(buf, dialect="excel-tab", lineterminator="\n")
        writer.writerow(["dataset", "doc_id", "seg_id", "src", "ref",
                         *(f"ref{i}" for i in range(2, streams + 1))])
        for t in testsets:
            for s in t.segments():
                refs = [*s.refs, *[""] * (streams - len(s.refs))]
                writer.writerow([t.name, s.doc_id, s.seg_id, s.src, *refs])
        return buf.getvalue()
    raise ConfigError(f"data export: unknown format {fmt!r} (expected one of "
                      f"{', '.join(FORMATS)})")
