"""The text of a run config: YAML parsing with limits, ``--set`` overrides, problems by line.

``parse_yaml`` reads a config with ``yaml.safe_load`` only and refuses hostile
shapes (alias bombs, recursion, deep nesting); ``apply_overrides`` applies
``key.path=value`` overrides; ``error_message``, ``line_index`` and
``format_problems`` turn validation errors into one line per problem, with
its key path and config line, in line order. ``evalmt.config`` builds the
validated ``RunConfig`` on top.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import typing
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel

from evalmt.errors import ConfigError, MetricError


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """``yaml.safe_load`` a config; any YAML problem (bad syntax, python tags) is a ConfigError."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from exc
    except RecursionError as exc:  # the YAML composer recurses once per nesting level
        raise ConfigError(f"{source}: invalid YAML: nested deeper than Python can parse") from exc
    if raw is None:
        raise ConfigError(f"{source}: config is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: config must be a mapping of keys, got {type(raw).__name__}")
    check_shape(raw, source)
    return raw


#: Limits on a loaded config, so hostile YAML cannot hang or crash the loader: nesting
#: depth, and values counted after expanding aliases (nine nested anchors of nine
#: aliases each expand to 9**9 values from a few hundred bytes: an "alias bomb").
MAX_DEPTH = 50


MAX_VALUES = 100_000


def check_shape(raw: Any, source: str) -> None:
    """Refuse recursive aliases, nesting deeper than MAX_DEPTH and over MAX_VALUES values."""
    sizes: dict[int, int] = {}  # id -> expanded size; -1 while being counted (cycle check)

    def size(value: Any, depth: int) -> int:
        if not isinstance(value, dict | list):
            return 1
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: invalid YAML: nested deeper than {MAX_DEPTH} levels")
        known = sizes.get(id(value))
        if known == -1:
            raise ConfigError(f"{source}: invalid YAML: an alias refers to itself (recursive)")
        if known is not None:
            return known
        sizes[id(value)] = -1
        total = 1 + sum(size(v, depth + 1)
                        for v in (value.values() if isinstance(value, dict) else value))
        if total > MAX_VALUES:
            raise ConfigError(f"{source}: invalid YAML: more than {MAX_VALUES} values once "
                              "aliases are expanded")
        sizes[id(value)] = total
        return total

    size(raw, 0)


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str], *,
                    source: str = "<config>") -> dict[str, Any]:
    """Apply ``key.path=value`` overrides to a copy of ``raw``; values are YAML scalars.

    A path part addresses a mapping key, a list index (``systems.1``) or the list
    item with that ``name`` (``systems.opus-mt.num_beams``). ``=false`` is an
    explicit ``False``, not a missing value.
    """
    raw = copy.deepcopy(raw)
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {override!r}: expected KEY.PATH=VALUE")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {override!r}: value is not valid YAML") from exc
        parts = key.strip().split(".")
        node: Any = raw
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            here = ".".join(parts[:depth]) or "<top>"
            if isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            elif isinstance(node, list):
                index = _list_index(node, part)
                if index is None:
                    raise ConfigError(f"{source}: --set {key}: {here} has no item {part!r} "
                                      f"(use an index 0..{len(node) - 1} or an item's name)")
                if last:
                    node[index] = value
                else:
                    node = node[index]
            else:
                raise ConfigError(f"{source}: --set {key}: {here} is {node!r}, not a mapping "
                                  "or list")
    return raw


def _list_index(items: list, part: str) -> int | None:
    if re.fullmatch(r"-?\d+", part) and -len(items) <= int(part) < len(items):
        return int(part) % len(items)
    for i, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("name")) == part:
            return i
    return None


def error_message(err: dict, model: type[BaseModel], loc: tuple) -> str:
    """One pydantic error as text; unknown keys get a did-you-mean from the model's fields."""
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        fields = _fields_at(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), fields, n=1)
        return "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "") + (
            f" (allowed: {', '.join(fields)})" if fields else "")
    if err["type"] == "missing":
        return "Field required"
    if err["type"] == "value_error" and isinstance(err.get("ctx", {}).get("error"), MetricError):
        return str(err["ctx"]["error"])  # an options record's own check names its key
    return f"{err['msg']}, got {err['input']!r}"


def _is_record(model: Any) -> bool:
    """Tell whether ``model`` is a pydantic model or a dataclass (an options record)."""
    return isinstance(model, type) and (issubclass(model, BaseModel)
                                        or dataclasses.is_dataclass(model))


def _field_names(model: type) -> list[str]:
    if dataclasses.is_dataclass(model):
        return sorted(f.name for f in dataclasses.fields(model))
    return sorted(model.model_fields)  # type: ignore[attr-defined]


def _fields_at(model: Any, loc: tuple) -> list[str]:
    """Return the field names of the (nested) model or record at ``loc``, or [] when unknown."""
    for part in loc:
        if isinstance(part, int) or not _is_record(model):
            continue
        if dataclasses.is_dataclass(model):
            annotation = typing.get_type_hints(model).get(str(part))
        else:
            field = model.model_fields.get(str(part))
            annotation = field.annotation if field is not None else None
        if annotation is None:
            return []
        args = getattr(annotation, "__args__", ()) or (annotation,)
        model = next((a for a in args if _is_record(a)), None)
    return _field_names(model) if _is_record(model) else []


def format_problems(problems: list[tuple[tuple, str]], source: str, lines: dict[tuple, int]) -> str:
    """One line per problem, in the order of the config file's lines (unplaced ones first)."""
    placed = []
    for loc, msg in problems:
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        at = f" (line {line})" if line else ""
        placed.append((line or 0, f"{source}: {'.'.join(str(p) for p in loc) or '<top>'}: "
                                  f"{msg}{at}"))
    rendered = [text for _, text in sorted(placed, key=lambda item: item[0])]
    if len(rendered) == 1:
        return rendered[0]
    return f"{len(rendered)} problems in {source}:\n  " + "\n  ".join(rendered)


def line_index(text: str) -> dict[tuple, int]:
    """Map key paths to 1-based line numbers using YAML's node marks (best effort)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    index: dict[tuple, int] = {}

    def walk(node: Any, loc: tuple) -> None:
        index[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                index[(*loc, k.value)] = k.start_mark.line + 1
                walk(v, (*loc, k.value))
                index[(*loc, k.value)] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, (*loc, i))

    if root is not None:
        walk(root, ())
    index.pop((), None)
    return index
