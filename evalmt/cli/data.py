"""``evalmt data inspect``, ``evalmt data export`` and ``evalmt data fetch``.

``fetch`` downloads a named public set (WMT22/WMT23 zh-en) into the data cache.

``inspect`` shows, per document, layout, paragraph counts per language, pairs
with their alignment confidence, every non-1-1 or flagged alignment decision
with line numbers, unassigned lines, cleaning counts and warnings; ``--json``
prints the same as one JSON object with stable keys, each pair with its full
source and reference text. ``export`` writes the cleaned, aligned segments
(what would be scored) as JSONL or TSV for other tools.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalmt.errors import ConfigError

if TYPE_CHECKING:  # the data stage (pydantic, readers) loads only when a command runs
    from evalmt.data.model import Document, TestSet

PREVIEW_CHARS = 40


def add_parser(subparsers: Any) -> None:
    """Add ``data`` (with its ``inspect`` sub-command) to the top-level parser."""
    data = subparsers.add_parser("data", help="inspect, export or fetch data sets")
    commands = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    commands.required = True
    inspect = commands.add_parser(
        "inspect", help="read a data set and show layout, pairs, alignment, cleaning, warnings",
        description="Read a file, folder, glob or run config and show, per document, what the "
                    "reader decided.")
    _add_data_arguments(inspect)
    inspect.add_argument("--json", action="store_true",
                         help="print machine-readable JSON (full source and reference texts)")
    inspect.set_defaults(func=run_inspect)
    export = commands.add_parser(
        "export", help="write the cleaned, aligned segments as JSONL or TSV",
        description="Read a file, folder, glob or run config and write the segments that "
                    "would be scored (cleaned, aligned, flagged pairs left out) for other tools.")
    _add_data_arguments(export)
    export.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="output file; '-' writes to standard output")
    export.add_argument("--format", choices=("jsonl", "tsv"),
                        help="jsonl (one segment per line, all fields) or tsv (doc_id, seg_id, "
                             "src, ref...); default: from the output's extension")
    export.set_defaults(func=run_export)
    fetch = commands.add_parser(
        "fetch", help="download a public test set (with system outputs) into the data cache",
        description="Download the files of a named set from the organisers' repository at a "
                    "pinned commit, check every sha256, and store the set whole in the data "
                    "cache (nothing is stored on any error). Configs name its files "
                    "data://NAME/FILE.")
    fetch.add_argument("name", nargs="?", help="the set, e.g. wmt23-zh-en (--list shows all)")
    fetch.add_argument("--list", action="store_true", help="list the known sets")
    fetch.add_argument("--data-dir", default=None,
                       help="the data cache (default ~/.cache/evalmt/data; configs: data_dir)")
    fetch.add_argument("--from", dest="source", metavar="FOLDER",
                       help="copy from a local folder holding the same files instead of "
                            "downloading (checked the same way)")
    fetch.add_argument("--mirror", metavar="URL",
                       help="download from URL/<repository>/<commit>/<path> instead of "
                            "raw.githubusercontent.com")
    fetch.set_defaults(func=run_fetch)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", metavar="PATH_OR_CONFIG",
                        help="data file/folder/glob, or a .yaml run config")
    parser.add_argument("--sample", action="store_true", help="use the bundled sample page")
    parser.add_argument("--reader", help="reader name (default: from the file extension)")
    parser.add_argument("--clean", nargs="+", metavar="STEP",
                        help="cleaning steps to apply instead of the reader's default")
    parser.add_argument("--src-lang", help="source language (reader default: zh)")
    parser.add_argument("--tgt-lang", help="target language (reader default: en)")


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch (or list) public data sets; print where the set lives."""
    from evalmt.config import DEFAULT_DATA_DIR
    from evalmt.data.fetch import GITHUB_RAW, catalogue, fetch_dataset

    if args.list:
        for name, dataset in catalogue().items():
            print(f"{name}\t{len(dataset.files)} files\t{dataset.repository}@"
                  f"{dataset.commit[:12]}\t{dataset.description}")
        return 0
    if not args.name:
        raise ConfigError("data fetch: name a set (see `evalmt data fetch --list`)")
    data_dir = Path(args.data_dir or DEFAULT_DATA_DIR).expanduser()
    folder = fetch_dataset(args.name, data_dir=data_dir,
                           source=Path(args.source).expanduser() if args.source else None,
                           base_url=args.mirror or GITHUB_RAW)
    print(f"{args.name}: {folder} (use data://{args.name}/FILE in a config"
          + ("" if args.data_dir is None else f" with data_dir: {data_dir}") + ")")
    return 0


def load_testsets(args: argparse.Namespace) -> list[TestSet]:
    """Read the test set(s) named by the ``inspect`` arguments."""
    from evalmt.data.base import READERS, guess_reader, read_testset
    from evalmt.data.cleaning import validate_steps

    if args.sample == bool(args.target):
        raise ConfigError(f"data {args.data_command}: give exactly one of PATH_OR_CONFIG or "
                          f"--sample")
    overrides: dict[str, Any] = {}
    if args.clean is not None:
        overrides["clean"] = validate_steps(args.clean)
    for key in ("src_lang", "tgt_lang"):
        if getattr(args, key):
            overrides[key] = getattr(args, key)
    if args.sample:
        from evalmt.resources import samples_dir

        raw = {"name": "sample", "reader": "bilingual-txt", "path": str(samples_dir())}
        return [read_testset({**raw, **overrides}, base_dir=Path.cwd())]
    target = str(args.target)
    if target.endswith((".yaml", ".yml")) and not args.reader:
        from evalmt.config import load_config

        config = load_config(target)
        return [read_testset(item.model_copy(update=overrides) if overrides else item,
                             base_dir=config.base_dir) for item in config.data]
    reader = args.reader or guess_reader(target)
    if reader is None:
        raise ConfigError(f"data {args.data_command}: cannot tell the reader of {target!r} "
                          f"from its extension; pass --reader ({', '.join(READERS.names())})")
    fields = READERS.get(reader).config_model.model_fields
    if "path" in fields:
        raw = {"path": target}
    elif "dataset" in fields:
        raw = {"dataset": target}
    else:
        raise ConfigError(f"data {args.data_command}: reader {reader!r} needs several files; "
                          f"describe it in a config file")
    name = Path(target).stem or "data"
    return [read_testset({"name": name, "reader": reader, **raw, **overrides},
                         base_dir=Path.cwd())]


def _preview(text: str) -> str:
    """First ``PREVIEW_CHARS`` terminal columns of ``text`` (wide CJK characters count 2)."""
    flat = " ".join(text.split())
    width = 0
    for i, ch in enumerate(flat):
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if width > PREVIEW_CHARS - 1:
            return flat[:i] + "…"
    return flat


def _plain(value: Any) -> Any:
    """Turn mappings/tuples from frozen metadata into JSON-ready dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def document_report(doc: Document, *, full_text: bool = False) -> dict[str, Any]:
    """Summarise one document with stable keys (``None`` where a reader records nothing).

    Pair texts are previews, or the full source and references with ``full_text``.
    """
    meta = doc.meta
    decisions = [d for d in _plain(meta.get("alignment", ()))
                 if d.get("kind") != "1-1" or d.get("flagged") or d.get("move") == "title"]
    text = (lambda t: t) if full_text else _preview
    return {
        "doc_id": doc.doc_id,
        "source_file": meta.get("source_file"),
        "layout": meta.get("layout"),
        "paragraphs": _plain(meta.get("paragraphs")),
        "segments": len(doc.segments),
        "flagged_pairs": meta.get("flagged_pairs", 0),
        "no_trustworthy_pair": bool(meta.get("no_trustworthy_pair", False)),
        "alignment_margin": meta.get("alignment_margin"),
        "alignment_ratio": meta.get("alignment_ratio"),
        "pairs": [
            {"seg_id": s.seg_id, "alignment": s.meta.get("alignment"),
             "confidence": s.meta.get("confidence"),
             "src_lines": _plain(s.meta.get("src_lines")),
             "ref_lines": _plain(s.meta.get("ref_lines")),
             "src": text(s.src),
             "ref": text(s.refs[0]) if s.refs else None,
             **({"refs": list(s.refs)} if full_text else {})}
            for s in doc.segments
        ],
        "alignment_decisions": decisions,
        "unassigned_lines": _plain(meta.get("unassigned_lines", ())),
        "cleaning": _plain(meta.get("cleaning", {})),
        "warnings": list(doc.warnings),
    }


def testset_report(testset: TestSet, *, full_text: bool = False) -> dict[str, Any]:
    """Summarise a test set and each of its documents with stable keys."""
    return {
        "name": testset.name,
        "reader": testset.meta.get("reader"),
        "src_lang": testset.src_lang,
        "tgt_lang": testset.tgt_lang,
        "num_documents": len(testset.documents),
        "num_segments": testset.num_segments,
        "warnings": list(testset.meta.get("warnings", ())),
        "documents": [document_report(d, full_text=full_text) for d in testset.documents],
    }


def _lines(numbers: Sequence[int] | None) -> str:
    return ",".join(str(n) for n in numbers or ()) or "-"


def format_report(report: Mapping[str, Any]) -> str:
    """Render one ``testset_report`` as text for people."""
    out = [f"test set {report['name']!r} ({report['reader'] or 'reader ?'}, "
           f"{report['src_lang']}→{report['tgt_lang']}): {report['num_documents']} document(s), "
           f"{report['num_segments']} segment(s)"]
    out += [f"  warning: {w}" for w in report["warnings"]]
    for doc in report["documents"]:
        out.append(f"document {doc['doc_id']}" + (f"  [{doc['source_file']}]"
                                                   if doc["source_file"] else ""))
        para = doc["paragraphs"]
        counts = ", ".join(f"{k} {v}" for k, v in para.items()) if para else "-"
        line = f"  layout: {doc['layout'] or '-'}   paragraphs: {counts}   pairs: {doc['segments']}"
        if doc["alignment_ratio"] is not None:
            margin = doc["alignment_margin"]
            line += (f"   ratio {doc['alignment_ratio']:.2f}   margin "
                     f"{'-' if margin is None else f'{margin:.1f}'}")
        out.append(line)
        if doc["flagged_pairs"]:
            out.append(f"  FLAGGED: {doc['flagged_pairs']} pair(s) below the confidence "
                       f"threshold, not scored")
        if doc["no_trustworthy_pair"]:
            out.append("  NO TRUSTWORTHY PAIR: reported, not scored")
        out.append("  pairs:")
        for p in doc["pairs"]:
            where = (f"src lines {_lines(p['src_lines'])} → ref lines "
                     f"{_lines(p['ref_lines'])}  " if p["src_lines"] or p["ref_lines"] else "")
            confidence = "" if p["confidence"] is None else f"{p['confidence']:.2f} "
            out.append(f"    {p['seg_id']:>3} {p['alignment'] or '':<5} {confidence}"
                       f"{where}{p['src']} | {p['ref']}")
        out.append("  alignment decisions (non 1-1, title or flagged): "
                   + ("none" if not doc["alignment_decisions"] else ""))
        for d in doc["alignment_decisions"]:
            note = ("" if d.get("confidence") is None else f" (confidence {d['confidence']:.2f}"
                    + (", FLAGGED" if d.get("flagged") else "") + ")")
            kind = "title" if d.get("move") == "title" else d["kind"]
            out.append(f"    {kind:<5} src lines {_lines(d['src_lines'])}, ref lines "
                       f"{_lines(d['ref_lines'])}{note}: {d['src_preview'] or d['ref_preview']}")
        out.append("  unassigned lines: " + ("none" if not doc["unassigned_lines"] else ""))
        out += [f"    line {u['line']}: {u['text']}" for u in doc["unassigned_lines"]]
        cleaning = ", ".join(f"{k} {v}" for k, v in doc["cleaning"].items()) or "none"
        out.append(f"  cleaning: {cleaning}")
        out.append("  warnings: " + ("none" if not doc["warnings"] else ""))
        out += [f"    {w}" for w in doc["warnings"]]
    return "\n".join(out)


def run_inspect(args: argparse.Namespace) -> int:
    """Entry point of ``evalmt data inspect``."""
    reports = [testset_report(t, full_text=args.json) for t in load_testsets(args)]
    if args.json:
        print(json.dumps({"test_sets": reports}, ensure_ascii=False, indent=2, default=str))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Entry point of ``evalmt data export``."""
    import sys

    fmt = args.format or guess_format(args.output)
    text = export_text(load_testsets(args), fmt=fmt)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} line(s) to {path}", file=sys.stderr)
    return 0


EXPORT_FORMATS = ("jsonl", "tsv")


def guess_format(path: str) -> str:
    """Return the export format from a file name's extension (``ConfigError`` when neither)."""
    for fmt in EXPORT_FORMATS:
        if path.lower().endswith("." + fmt):
            return fmt
    raise ConfigError(f"data export: cannot tell the format of {path!r} from its extension; "
                      f"pass --format ({', '.join(EXPORT_FORMATS)})")


def export_text(testsets: Sequence[TestSet], *, fmt: str) -> str:
    """Render every segment of ``testsets`` in ``fmt`` (``jsonl`` or ``tsv``).

    JSONL: one segment per line, ``{"dataset", "doc_id", "seg_id", "src_lang",
    "tgt_lang", "src", "refs", "meta"}``. TSV: a header ``dataset doc_id seg_id
    src ref [ref2 ...]`` and one row per segment, written by ``csv`` in its tab
    dialect (a field holding a tab, newline or quote is quoted).
    """
    import csv
    import io

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
                      f"{', '.join(EXPORT_FORMATS)})")
