"""``evalmt score``: score hypothesis files produced elsewhere, like sacrebleu's CLI.

Corpus scores with optional bootstrap CIs and paired tests for all pairs of
systems; JSON on stdout by default, a table with ``--format``;
``--output-dir`` also writes every table file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evalmt.core import DEFAULT_METRICS
from evalmt.errors import ConfigError, DataError, MetricError


def add_parser(subparsers: Any) -> None:
    """Add the ``score`` sub-command."""
    p = subparsers.add_parser(
        "score", help="score hypothesis files against references (sacrebleu-exact)",
        description="Score one or more hypothesis files against one or more reference files.")
    p.add_argument("--hyp", action="append", required=True, type=Path, metavar="FILE",
                   help="hypothesis file, one segment per line (repeat for more systems)")
    p.add_argument("--src", type=Path, metavar="FILE",
                   help="source segments, one per line (needed by comet and metricx)")
    p.add_argument("--ref", action="append", default=[], type=Path, metavar="FILE",
                   help="reference file, one segment per line (repeat for more streams)")
    ids = p.add_mutually_exclusive_group()
    ids.add_argument("--doc-ids", type=Path, metavar="FILE",
                     help="document id of each segment, one per line")
    ids.add_argument("--docs", type=Path, metavar="PATH",
                     help="a test set evalmt can read: gives doc ids (and refs without --ref)")
    p.add_argument("--docs-reader", help="reader for --docs (default: from the file extension)")
    p.add_argument("--metrics", "-m", nargs="+", default=list(DEFAULT_METRICS), metavar="NAME",
                   help="bleu, chrf, chrf++, ter, ... (default, as for run: "
                        f"{' '.join(DEFAULT_METRICS)})")
    p.add_argument("--language-pair", "-l", default="zh-en", metavar="SRC-TGT",
                   help="language pair; the target picks the BLEU tokenizer (default: zh-en)")
    p.add_argument("--metric-option", action="append", default=[], metavar="METRIC.KEY=VALUE",
                   help="a metric option, e.g. comet.model=Unbabel/wmt22-comet-da or "
                        "metricx.qe=true (value read as YAML); repeatable")
    p.add_argument("--tokenize", help="BLEU tokenizer override (e.g. 13a, zh, intl, char)")
    p.add_argument("--format", "-f", choices=("json", "md", "csv", "tex"), default="json",
                   help="output on stdout: json (default), a Markdown, CSV or LaTeX table")
    p.add_argument("--confidence", type=int, default=0, metavar="N",
                   help="bootstrap samples for 95%% CIs (0: none; sacrebleu uses 1000)")
    p.add_argument("--confidence-unit", choices=("segment", "document"), default="segment",
                   help="what the bootstrap resamples: segments (default, as sacrebleu) or "
                        "whole documents (needs --doc-ids or --docs)")
    p.add_argument("--paired-test", action="append", default=[], metavar="NAME",
                   choices=("approximate-randomization", "paired-bootstrap",
                            "sacrebleu-paired-bootstrap"),
                   help="paired test between all pairs (repeatable; the first forms the rank "
                        "clusters): approximate-randomization (recommended), paired-bootstrap "
                        "(centred), sacrebleu-paired-bootstrap (sacrebleu/Moses, liberal)")
    p.add_argument("--paired-ar", action="store_true",
                   help="same as --paired-test approximate-randomization")
    p.add_argument("--paired-bs", action="store_true",
                   help="sacrebleu's paired bootstrap, as sacrebleu --paired-bs (comparability "
                        "only: it rejects too often; see docs/scoring.md)")
    p.add_argument("--samples", type=int, default=None,
                   help="resamples / trials for paired tests (default 1000 / 10000)")
    p.add_argument("--test-unit", choices=("auto", "segment", "document"), default="auto",
                   help="unit the paired tests permute/resample (auto: documents when there "
                        "are at least 30, else segments)")
    p.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                   help="multiplicity correction over all pairs before clustering (default holm)")
    p.add_argument("--alpha", type=float, default=0.05, help="level of the rank clusters")
    p.add_argument("--rank-ranges", action="store_true",
                   help="add bootstrap 95%% rank ranges to the score table")
    p.add_argument("--seed", type=int, default=12345, help="RNG seed (default: 12345)")
    p.add_argument("--per-document", action="store_true",
                   help="print each document's score (system × metric) instead of the "
                        "corpus table; formats json, md, csv")
    p.add_argument("--output-dir", type=Path, metavar="DIR",
                   help="also write scores.*, documents.csv, segments.csv, significance.csv")
    p.set_defaults(func=run_score)


def read_lines(path: Path) -> list[str]:
    """Lines of a strict UTF-8 file, split at line feeds only, as sacrebleu splits them.

    ``str.splitlines`` would also split at U+2028, form feeds and other
    separators, shifting every later segment against its reference.
    """
    from evalmt.data.linealigned import text_lines

    return text_lines(path)


def system_names(paths: list[Path]) -> list[str]:
    """System names from file stems, made unique with -2, -3, ... suffixes."""
    names: list[str] = []
    for path in paths:
        name, k = path.stem or path.name, 2
        while name in names:
            name, k = f"{path.stem}-{k}", k + 1
        names.append(name)
    return names


def _read_docs(args: argparse.Namespace, src: str, tgt: str) -> Any:
    from pydantic import ValidationError

    from evalmt.data.base import guess_reader, read_testset

    reader = args.docs_reader or guess_reader(args.docs)
    if reader is None:
        raise ConfigError(f"--docs {args.docs}: cannot tell the reader from the extension; "
                          "use --docs-reader")
    try:
        return read_testset({"reader": reader, "path": str(args.docs), "src_lang": src,
                             "tgt_lang": tgt})
    except ValidationError as exc:
        raise ConfigError(f"--docs {args.docs}: {exc.errors()[0]['msg']}") from exc


def _inputs(args: argparse.Namespace, src: str, tgt: str) -> tuple[Any, ...]:
    hyps = {name: read_lines(path) for name, path in zip(system_names(args.hyp), args.hyp,
                                                            strict=True)}
    refs = [read_lines(path) for path in args.ref]
    doc_ids: list[str] | None = None
    seg_ids: list[str] | None = None
    sources = read_lines(args.src) if args.src else None
    if args.docs:
        testset = _read_docs(args, src, tgt)
        doc_ids = testset.doc_ids()
        seg_ids = [s.seg_id for s in testset.segments()]
        if sources is None:
            sources = testset.sources()
        if not refs:
            refs = testset.reference_streams()
    elif args.doc_ids:
        from evalmt.data.linealigned import doc_id_lines

        doc_ids = doc_id_lines(args.doc_ids)
    if not refs:
        raise ConfigError("score: give --ref FILE (or --docs with references)")
    n = len(refs[0])
    for path, lines in [*zip(args.ref, refs, strict=False), *zip(args.hyp, hyps.values(),
                                                                  strict=True)]:
        if len(lines) != n:
            raise DataError(f"{path}: {len(lines)} lines, but the references have {n}")
    if sources is not None and len(sources) != n:
        raise DataError(f"{args.src or args.docs}: {len(sources)} sources, "
                        f"but the references have {n}")
    if doc_ids is None:
        doc_ids, seg_ids = ["-"] * n, [str(i + 1) for i in range(n)]
    elif len(doc_ids) != n:
        where = args.docs or args.doc_ids
        raise DataError(f"{where}: {len(doc_ids)} doc ids, but the references have {n}")
    if seg_ids is None:  # number segments within each document, from 1
        counts: dict[str, int] = {}
        seg_ids = []
        for d in doc_ids:
            counts[d] = counts.get(d, 0) + 1
            seg_ids.append(str(counts[d]))
    return hyps, refs, doc_ids, seg_ids, sources


def _metric_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """Parse ``METRIC.KEY=VALUE`` items (VALUE as YAML) into build_metrics options."""
    import yaml

    options: dict[str, dict[str, Any]] = {}
    for item in items:
        name, dot, rest = item.partition(".")
        key, eq, value = rest.partition("=")
        if not (dot and eq and name and key):
            raise ConfigError(f"--metric-option {item!r}: expected METRIC.KEY=VALUE, "
                              "e.g. comet.model=Unbabel/wmt22-comet-da")
        options.setdefault(name, {})[key] = yaml.safe_load(value) if value else ""
    return options


def run_score(args: argparse.Namespace) -> int:
    """Score the files and print the table; return 0."""
    from evalmt.metrics import (
        ConfidenceOptions,
        SignificanceOptions,
        build_metrics,
        score_systems,
    )
    from evalmt.report.tables import DOCUMENT_RENDERERS, RENDERERS, write_score_tables

    if args.confidence_unit == "document" and not (args.doc_ids or args.docs):
        raise ConfigError("--confidence-unit document: give the documents with --doc-ids FILE "
                          "or --docs PATH")
    if args.per_document and args.format == "tex":
        raise ConfigError("--per-document: formats json, md and csv (not tex)")
    src, _, tgt = args.language_pair.partition("-")
    if not tgt:
        raise ConfigError(f"--language-pair {args.language_pair!r}: expected SRC-TGT, e.g. zh-en")
    options = _metric_options(args.metric_option)
    if args.tokenize and "bleu" in args.metrics:
        options.setdefault("bleu", {})["tokenize"] = args.tokenize
    metrics = build_metrics(args.metrics, tgt_lang=tgt, options=options)
    hyps, refs, doc_ids, seg_ids, sources = _inputs(args, src, tgt)
    confidence = ConfidenceOptions(samples=args.confidence, seed=args.seed,
                                   unit=args.confidence_unit) if args.confidence else None
    tests = list(dict.fromkeys([*args.paired_test,
                                *(["approximate-randomization"] if args.paired_ar else []),
                                *(["sacrebleu-paired-bootstrap"] if args.paired_bs else [])]))
    try:
        significance = SignificanceOptions(
            method=tests[0], also=tuple(tests[1:]), samples=args.samples, seed=args.seed,
            alpha=args.alpha, unit=args.test_unit, correction=args.correction,
            rank_ranges=args.rank_ranges) if tests else None
    except MetricError as exc:
        raise ConfigError(f"score: {exc}") from exc
    report = score_systems(hypotheses=hyps, references=refs, doc_ids=doc_ids, seg_ids=seg_ids,
                           metrics=metrics, sources=sources, confidence=confidence,
                           significance=significance)
    if args.output_dir:
        write_score_tables(report, args.output_dir)
    renderers = DOCUMENT_RENDERERS if args.per_document else RENDERERS
    sys.stdout.write(renderers[args.format](report))
    return 0
