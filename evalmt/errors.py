"""The one exception family of evalmt.

Library code raises these; only ``evalmt.cli`` turns them into a one-line
message and an exit code. Each message names the component, the file and
line (or config key), what was expected and what was received.
"""

from __future__ import annotations


class EvalMTError(Exception):
    """Base class of every error evalmt raises on purpose."""


class ConfigError(EvalMTError):
    """A configuration file, key or command-line override is invalid."""


class DataError(EvalMTError):
    """Input data (a test set, references, hypotheses) is unreadable or inconsistent."""


class TranslationError(EvalMTError):
    """A translation system failed to build or to translate."""


class IncompleteRunError(TranslationError):
    """Some segments have no output after all retries, and the config does not allow that.

    Everything else was done and cached; rerunning the same command retries
    only the failed segments. The CLI exits with ``exit_code``.
    """

    exit_code = 3


class MetricError(EvalMTError):
    """A metric was misconfigured or given inconsistent inputs."""


class RegistryError(ConfigError):
    """An unknown plugin name was requested from a registry."""


def where(path: object, line: int | None = None) -> str:
    """Format a ``file:line`` location for error messages."""
    return f"{path}:{line}" if line is not None else str(path)
