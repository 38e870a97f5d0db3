"""Command-line entry point ``evalmt``.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``;
the parser it adds sets ``func(args) -> int``. This is the only place that
turns an ``EvalMTError`` into a one-line message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable

from evalmt import __version__
from evalmt.errors import EvalMTError


def int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """Return an argparse ``type`` that accepts integers >= ``minimum`` (``what`` names them)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


def _command_modules() -> list[str]:
    """Every module of this package that defines ``add_parser`` (they import nothing heavy)."""
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__))


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="evalmt", description="Config-driven machine-translation evaluation."
    )
    parser.add_argument("--version", action="version", version=f"evalmt {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in _command_modules():
        module = importlib.import_module(module_name)
        if hasattr(module, "add_parser"):
            module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EvalMTError as exc:
        print(f"evalmt: error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        print("evalmt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
