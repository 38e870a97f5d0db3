"""Sub-commands ``evalmt run CONFIG`` (the main job) and ``evalmt validate CONFIG``.

``run`` validates the config, then translates, scores and writes
``<output>/<run name>/``; ``--dry-run`` prints the job matrix (data sets ×
systems with segment, token and cache-hit counts) and writes nothing; it never
touches the network and lists what it could not resolve offline.
``validate`` checks the config (all problems at once) without reading data
or loading models. Exit codes: 0 success, 2 invalid config or data, 130
interrupted (the manifest stays ``incomplete``; rerun to resume).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evalmt.cli import int_at_least


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML run config (see docs/config.md)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY.PATH=VALUE",
                        help="override a config value, e.g. systems.1.num_beams=5 or "
                             "systems.opus-mt.num_beams=5 (value parsed as YAML); repeatable")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` and ``validate`` sub-commands."""
    run = subparsers.add_parser(
        "run", help="translate, score and write results for a config",
        description="Validate CONFIG, translate every data set with every system (reusing "
                    "the translation cache), score, and write <output>/<name>/. Exit codes: "
                    "0 done, 2 invalid config/data/arguments, 3 incomplete: some API requests "
                    "failed after all retries (rerun to retry only those), 130 interrupted "
                    "(rerun the same command to resume).")
    _add_config_arguments(run)
    run.add_argument("--only-system", dest="only_systems", action="append", default=[],
                     metavar="NAME", help="run only this system (repeatable)")
    run.add_argument("--limit", type=int_at_least(1, "a positive integer"), metavar="N",
                     help="use only the first N documents of each data set")
    run.add_argument("--dry-run", action="store_true",
                     help="print the job matrix (segments, tokens, cached) and exit; offline")
    run.add_argument("--overwrite", action="store_true",
                     help="replace a finished run of the same name")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.set_defaults(func=run_command)

    validate = subparsers.add_parser(
        "validate", help="check a run config without running it",
        description="Check CONFIG and report every problem at once (file, key path, line) "
                    "without reading data or loading models.")
    _add_config_arguments(validate)
    validate.set_defaults(func=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    """Validate the config; print a one-line summary."""
    from evalmt.config import load_config

    config = load_config(args.config, args.overrides)
    print(f"{args.config}: ok — run {config.name!r}: {len(config.data)} data set(s) × "
          f"{len(config.systems)} system(s) [{', '.join(s.name for s in config.systems)}], "
          f"metrics {', '.join(m.name for m in config.metrics)}; results in {config.run_dir}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    """Run (or dry-run) the config; print where results went and the score table."""
    from evalmt.config import load_config
    from evalmt.runner import RunOptions, plan, run

    config = load_config(args.config, args.overrides).restricted(only_systems=args.only_systems)
    if args.dry_run:
        # A dry run never touches the network: the Hugging Face libraries read these when
        # first imported (not yet: evalmt imports them lazily), so hub models and data sets
        # come from the local cache or are listed as unresolved.
        os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        print(format_plan(plan(config, limit=args.limit), config.run_dir, config.cache_path))
        return 0
    options = RunOptions(overwrite=args.overwrite, limit=args.limit,
                         progress=not args.no_progress, command=tuple(sys.argv))
    result = run(config, options)
    for dataset in result.datasets:
        table = dataset.folder / "scores.md"
        print(f"## {dataset.name}")
        if table.is_file():
            print(table.read_text(encoding="utf-8").rstrip())
        for out in dataset.outputs:
            h = out.hygiene
            flags = [f"{h.empty} empty"] if h.empty else []
            if h.untranslated:
                flags.append(f"{h.untranslated} still contain CJK")
            if h.truncated:
                flags.append(f"{h.truncated} cut off at max_tokens")
            if h.refused:
                flags.append(f"{h.refused} refused")
            if flags:
                print(f"warning: {out.system}: {', '.join(flags)} of {h.segments} outputs",
                      file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"results: {result.run_dir}")
    return 0


def format_plan(jobs: list, run_dir: Path, cache_path: Path) -> str:
    """Render the ``--dry-run`` job matrix as an aligned text table."""
    header = ("data set", "system", "segments", "tokens", "cached")
    rows = [(j.dataset, j.system, str(j.segments), "?" if j.tokens is None else str(j.tokens),
             "?" if j.unresolved else "precomputed" if j.cached is None
             else f"{j.cached}/{j.segments}") for j in jobs]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in [header, *rows]]
    todo = sum(j.segments - j.cached for j in jobs if j.cached is not None)
    lines.append(f"{len(jobs)} job(s); {todo} segment(s) to translate; cache {cache_path}; "
                 f"results would go to {run_dir}")
    lines += [f"unresolved offline: {j.system} ({j.dataset}): {j.unresolved}"
              for j in jobs if j.unresolved]
    return "\n".join(lines)
