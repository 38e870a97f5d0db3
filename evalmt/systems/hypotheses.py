"""Existing system outputs read from a file (type ``hypotheses``).

Two layouts:

* ``lines`` — plain text, one line per segment in test-set order (an empty
  line is an empty hypothesis);
* ``jsonl`` — one JSON object per line, keyed by ``doc_id`` and ``seg_id``
  (field names configurable), the output in ``field`` (default ``hyp``).

``format: auto`` (the default) picks ``jsonl`` for ``.jsonl``/``.ndjson``
files and ``lines`` otherwise.

Many systems in one entry: when ``name`` contains ``{system}``, ``path`` may be
a glob or a folder and the entry becomes one system per file (``expand``),
named by putting each file's system name into ``name``. The system name is the
``system`` group (or the first group) of the regex ``system_pattern`` searched
in the file name; by default it is what the ``*`` of a glob's file-name part
matched (``generaltest2023.zh-en.hyp.*.en`` → ``GPT4-5shot``), or for a folder
the file name without its last suffix. Files of a folder that do not match
``system_pattern`` are left out. The outputs are handed to the runner through
``precomputed_outputs`` and never go through translation or the cache. A line
count that differs from the test set, a missing or an extra (doc_id, seg_id)
is a ``DataError`` naming the file and the first offending key.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evalmt.data.model import file_sha256
from evalmt.errors import ConfigError, DataError, TranslationError
from evalmt.systems.base import SystemConfig, Translator

if TYPE_CHECKING:
    from evalmt.data.model import Segment


class HypothesesConfig(SystemConfig):
    """Options of the ``hypotheses`` system."""

    type: Literal["hypotheses"] = "hypotheses"
    #: The output file; relative paths resolve against ``base_dir`` (the config's folder).
    #: With ``{system}`` in ``name``: a glob or a folder of output files, one system each.
    path: str
    #: Regex searched in each file name; its ``system`` group (or first group) names the system.
    system_pattern: str | None = None
    format: Literal["auto", "lines", "jsonl"] = "auto"
    #: JSONL only: the fields holding the output and the segment key.
    field: str = "hyp"
    doc_id_field: str = "doc_id"
    seg_id_field: str = "seg_id"

    def expand(self, *, base_dir: Path) -> list[SystemConfig]:
        """One system per matching file when ``name`` holds ``{system}``; else this entry."""
        if SYSTEM_FIELD not in self.name:
            if self.system_pattern is not None:
                raise ConfigError(f"system_pattern is set but name {self.name!r} has no "
                                  f"{SYSTEM_FIELD} to put the system name into")
            return [self]
        pattern = self._pattern()
        files = _matching_files(self.path, base_dir)
        named: dict[str, Path] = {}
        for file in files:
            match = pattern.search(file.name)
            if match is None:
                continue
            system = match.group("system") if "system" in pattern.groupindex \
                else match.group(1) if pattern.groups else match.group(0)
            if not system:
                raise ConfigError(f"{file}: system_pattern {pattern.pattern!r} matched an "
                                  "empty system name")
            if system in named:
                raise ConfigError(f"{file} and {named[system]} both give system {system!r}")
            named[system] = file
        if not named:
            raise ConfigError(f"no file of {self.path!r} matches system_pattern "
                              f"{pattern.pattern!r}")
        return [self.model_copy(update={"name": self.name.replace(SYSTEM_FIELD, system),
                                        "path": str(file), "system_pattern": None})
                for system, file in named.items()]

    def _pattern(self) -> re.Pattern[str]:
        if self.system_pattern is not None:
            try:
                return re.compile(self.system_pattern)
            except re.error as exc:
                raise ConfigError(f"system_pattern {self.system_pattern!r} is not a valid "
                                  f"regex: {exc}") from None
        name = Path(self.path).name
        if glob.has_magic(name):
            if name.count("*") != 1 or glob.has_magic(name.replace("*", "")):
                raise ConfigError(f"cannot tell the system name from glob {name!r} (one `*` "
                                  "only); give system_pattern, a regex with a (?P<system>...) "
                                  "group")
            head, tail = name.split("*")
            return re.compile(f"^{re.escape(head)}(?P<system>.+){re.escape(tail)}$")
        return re.compile(r"^(?P<system>.+?)(?:\.[^.]*)?$")  # a folder: name minus suffix


#: The placeholder in a ``hypotheses`` entry's name that each file's system name replaces.
SYSTEM_FIELD = "{system}"


def _matching_files(path: str, base_dir: Path) -> list[Path]:
    """Sorted files of a glob or folder (relative to ``base_dir``); none is a ConfigError."""
    raw = Path(path).expanduser()
    full = raw if raw.is_absolute() else base_dir / raw
    if full.is_dir():
        files = sorted(p for p in full.iterdir() if p.is_file() and not p.name.startswith("."))
    elif full.is_file():
        files = [full]
    else:
        files = sorted(Path(p) for p in glob.glob(str(full)) if Path(p).is_file())
    if not files:
        raise ConfigError(f"{path!r} matches no file (looked in {base_dir})")
    return files


class HypothesesSystem(Translator):
    """Serve outputs from an existing file instead of translating."""

    config_model = HypothesesConfig
    config: HypothesesConfig
    runs_in_replicas = False  # reads the driver's files; nothing to translate

    def __init__(self, config: HypothesesConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: str | Path | None = None) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.path = self.resolve_path(config.path)

    @property
    def layout(self) -> str:
        """The file layout in use: ``lines`` or ``jsonl``."""
        if self.config.format != "auto":
            return self.config.format
        return "jsonl" if self.path.suffix.lower() in (".jsonl", ".ndjson") else "lines"

    @cached_property
    def _sha256(self) -> str:
        if not self.path.is_file():
            raise DataError(f"{self.path}: hypotheses file not found "
                            f"(system {self.name!r}, key `path`)")
        return file_sha256(self.path)

    def fingerprint_extra(self) -> dict[str, Any]:
        """Add the file's sha256: new outputs in the same file give a new fingerprint."""
        return {"sha256": self._sha256, "layout": self.layout}

    def describe(self) -> dict[str, Any]:
        """Add the resolved file path and its sha256 to the manifest entry."""
        return {**super().describe(), "path": str(self.path), "sha256": self._sha256}

    def translate(self, batch: list[str]) -> list[str]:
        """Refuse: this system only has outputs for the segments of its file."""
        raise TranslationError(f"system {self.name!r} (hypotheses) cannot translate new text; "
                               "its outputs come from precomputed_outputs()")

    def precomputed_outputs(self, segments: Sequence[Segment]) -> list[str]:
        """Return the file's outputs for ``segments``, checked 1:1 against them."""
        text = self._read_text()
        if self.layout == "lines":
            return self._from_lines(text, segments)
        return self._from_jsonl(text, segments)

    # -- readers ----------------------------------------------------------------

    def _read_text(self) -> str:
        if not self.path.is_file():
            raise DataError(f"{self.path}: hypotheses file not found "
                            f"(system {self.name!r}, key `path`)")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            hint = " (UTF-16 byte-order mark; convert it to UTF-8)" \
                if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ""
            raise DataError(f"{self.path}:{line}: invalid UTF-8{hint}") from exc
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise DataError(f"{self.path}:{line}: NUL byte; this is not a text file")
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _from_lines(self, text: str, segments: Sequence[Segment]) -> list[str]:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline ends the last line; it is not an extra line
        if len(lines) != len(segments):
            first = segments[len(lines)].key if len(lines) < len(segments) else None
            detail = (f"; first segment without a line: {first}" if first
                      else f"; first extra line: {len(segments) + 1}")
            raise DataError(f"{self.path}: {len(lines)} lines but the test set has "
                            f"{len(segments)} segments{detail}")
        return lines

    def _from_jsonl(self, text: str, segments: Sequence[Segment]) -> list[str]:
        cfg = self.config
        found: dict[tuple[str, str], str] = {}
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            loc = f"{self.path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{loc}: invalid JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise DataError(f"{loc}: expected a JSON object, got {type(row).__name__}")
            for key in (cfg.doc_id_field, cfg.seg_id_field, cfg.field):
                if key not in row:
                    raise DataError(f"{loc}: missing field {key!r} (fields: {sorted(row)})")
            hyp = row[cfg.field]
            if not isinstance(hyp, str):
                raise DataError(f"{loc}: field {cfg.field!r} must be a string, "
                                f"got {type(hyp).__name__}")
            try:  # JSON escapes can smuggle in lone surrogates, which no file can hold
                hyp.encode("utf-8")
            except UnicodeEncodeError:
                raise DataError(f"{loc}: field {cfg.field!r} holds a lone surrogate") from None
            key = (str(row[cfg.doc_id_field]), str(row[cfg.seg_id_field]))
            if key in found:
                raise DataError(f"{loc}: duplicate segment {key}")
            found[key] = hyp
        wanted = [s.key for s in segments]
        missing = [k for k in wanted if k not in found]
        if missing:
            raise DataError(f"{self.path}: {len(missing)} segment(s) of the test set have no "
                            f"output; first missing (doc_id, seg_id): {missing[0]}")
        wanted_set = set(wanted)
        extra = [k for k in found if k not in wanted_set]
        if extra:
            raise DataError(f"{self.path}: {len(extra)} output(s) for segments not in the test "
                            f"set; first extra (doc_id, seg_id): {extra[0]}")
        return [found[k] for k in wanted]
