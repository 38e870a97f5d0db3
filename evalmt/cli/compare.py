"""Sub-command ``evalmt compare RUN_DIR...``: one leaderboard from several finished runs.

Reads the runs' ``manifest.json`` and score tables (nothing is re-scored
unless ``--significance``, which re-scores the stored outputs together),
refuses runs on different test data or with different metric signatures
unless ``--allow-mismatch``, and with ``--diff A B`` lists the documents on
which two systems disagree most. See docs/report.md.
"""

from __future__ import annotations

import argparse
import sys

from evalmt.cli import int_at_least


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command."""
    parser = subparsers.add_parser(
        "compare", help="leaderboard of several finished runs, or per-document diffs",
        description="Merge the systems of finished runs on the same test set into one table "
                    "(score, 95% CI, rank cluster, signatures). With --diff A B, list the "
                    "documents where systems A and B disagree most (A, B: SYSTEM or "
                    "RUN:SYSTEM). Exit codes: 0 done, 2 unreadable or mismatched runs.")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run folders")
    parser.add_argument("--metric", help="sort / diff by this metric (display name, e.g. "
                                         "BLEU, chrF2); default: the first metric")
    parser.add_argument("--format", choices=("md", "tex", "csv", "json"), default="md",
                        help="output format (default: md)")
    parser.add_argument("--dataset", help="data set name, for runs with several")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="compare runs on different data or signatures; marks the rows")
    parser.add_argument("--significance", action="store_true",
                        help="re-score the runs' stored outputs together so that CIs and rank "
                             "clusters cover all systems of all runs (slower)")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"),
                        help="per-document deltas B - A between two systems")
    parser.add_argument("--top", type=int_at_least(0, "an integer >= 0"), default=20,
                        help="with --diff: show this many documents (0 = all; default 20)")
    parser.add_argument("--human", metavar="FILE",
                        help="human system scores (WMT23 .tsv, WMT22 .txt, or CSV "
                             "system,score[,rank range]): add each metric's Kendall tau, Pearson "
                             "r, pairwise accuracy and cluster contradictions")
    parser.add_argument("--human-format", choices=("auto", "wmt23-tsv", "wmt22-txt", "csv"),
                        default="auto", help="format of --human (default: by extension)")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    parser.set_defaults(func=compare_command)


def compare_command(args: argparse.Namespace) -> int:
    """Print (or write) the leaderboard or the document diff."""
    from pathlib import Path

    from evalmt.report.compare import (
        build_leaderboard,
        document_diff,
        load_run,
        render_diff,
        render_leaderboard,
    )

    runs = [load_run(path, dataset=args.dataset) for path in args.runs]
    human = None
    if args.human:
        from evalmt.data.human import read_human_scores

        human = read_human_scores(args.human, format=args.human_format)
    if args.diff:
        diff = document_diff(runs, *args.diff, metric=args.metric,
                             allow_mismatch=args.allow_mismatch)
        text = render_diff(diff, args.format, top=args.top or None)
    elif args.significance:
        from evalmt.errors import ConfigError
        from evalmt.report.rescore import rescored_leaderboard

        if args.allow_mismatch:
            raise ConfigError("--significance needs comparable runs; drop --allow-mismatch")
        board = rescored_leaderboard(runs, metric=args.metric)
        text = render_leaderboard(board, args.format)
    else:
        board = build_leaderboard(runs, metric=args.metric, allow_mismatch=args.allow_mismatch)
        text = render_leaderboard(board, args.format)
    if human is not None and not args.diff:
        text = _with_agreement(text, board, human, runs, args)
    if args.output:
        from evalmt.report.run_dir import atomic_write_text

        atomic_write_text(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def _with_agreement(text: str, board, human, runs, args: argparse.Namespace) -> str:
    """Append (md, csv, tex) or add (json) the leaderboard's agreement with ``human``."""
    import json

    from evalmt.report import agreement

    higher: dict[str, bool] = {}
    for run in runs:
        higher.update(run.higher)
    results = agreement.leaderboard_agreements(
        board, human, higher=higher,
        clusters_comparable=args.significance or len({r.run for r in board.rows}) == 1)
    if args.format == "json":
        doc = json.loads(text)
        doc["human_agreement"] = [a.as_dict() for a in results]
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.format == "csv":
        return text + "\n" + agreement.render_csv(results)
    table = agreement.render_markdown(results)
    if args.format == "tex":
        return text + "".join(f"% {line}\n" for line in table.splitlines())
    return text + "\n" + table
