"""Sub-command ``evalmt report RUN_DIR``: (re)write the self-contained ``report.html``.

The runner writes the report at the end of every run; this command rebuilds
it from a finished run folder (e.g. one made before the report existed).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report", help="write report.html for a finished run folder",
        description="Build RUN_DIR/report.html from the run's manifest, score tables and "
                    "hypotheses: one self-contained file (no network). Exit codes: 0 done, "
                    "2 unreadable run folder.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder")
    parser.add_argument("-o", "--output", help="write here instead of RUN_DIR/report.html")
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    from evalmt.report.html import write_html_report

    path = write_html_report(args.run_dir, output=args.output)
    print(f"report: {path}")
    return 0
