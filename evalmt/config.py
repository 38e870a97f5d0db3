"""The run configuration: YAML in, one validated, immutable ``RunConfig`` out.

``load_config(path, overrides=())`` reads YAML with ``yaml.safe_load`` only,
applies ``--set key.path=value`` overrides, imports ``plugins`` (so they can
register readers, systems or metrics), then validates everything and raises
**one** ``ConfigError`` listing every problem with the file and key path —
before any data is read or any model is loaded.

Data sets and systems are discriminated unions on ``reader`` and ``type``:
the tag is looked up in the ``READERS`` / ``SYSTEMS`` registry (unknown names
get a did-you-mean) and the item is validated by that plugin's
``config_model``. Paths in data sets are relative to the config file's folder
(``RunConfig.base_dir``); a value starting with ``pkg://`` names a file
shipped inside the installed package (``pkg://samples/*.txt`` is
``evalmt/resources/samples/*.txt``). ``output`` and ``cache`` are relative to
the working directory. See docs/config.md for every key.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from evalmt.config_source import (
    apply_overrides,
    error_message,
    format_problems,
    line_index,
    parse_yaml,
)
from evalmt.core import DEFAULT_METRICS, safe_name
from evalmt.data.base import READERS, ReaderConfig
from evalmt.errors import ConfigError, EvalMTError, RegistryError
from evalmt.metrics.records import ConfidenceOptions, SignificanceOptions
from evalmt.systems.base import SYSTEMS, SystemConfig

PKG_PREFIX = "pkg://"
#: Names a file of a fetched data set (``evalmt data fetch``); see ``data_dir``.
DATA_PREFIX = "data://"
#: Where ``evalmt data fetch`` stores sets unless told otherwise.
DEFAULT_DATA_DIR = "~/.cache/evalmt/data"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricConfig(_Strict):
    """One metric: a registered name plus options passed to it (e.g. ``{lowercase: true}``)."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class ExecutionConfig(_Strict):
    """Where translation runs (docs/scale.md): this process, or replicas on a Ray cluster."""

    engine: Literal["local", "ray"] = "local"
    #: Ray only: ``auto`` (a cluster started with ``ray start``), ``ray://host:10001``, or
    #: none to start a private local Ray instance for the run.
    address: str | None = None
    replicas: int = Field(1, ge=1)
    gpus_per_replica: float = Field(0, ge=0)
    cpus_per_replica: float = Field(1, gt=0)
    #: Ray only: how often one batch is tried before it is recorded as failed (a replica
    #: that dies takes its batch with it; the batch goes to another replica).
    max_attempts: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _ray_only(self) -> ExecutionConfig:
        if self.engine == "local":
            given = [k for k in ("address", "replicas", "gpus_per_replica", "cpus_per_replica",
                                 "max_attempts") if k in self.model_fields_set]
            if given:
                raise ValueError(f"{', '.join(given)} only apply to engine: ray")
        return self


class HumanConfig(_Strict):
    """Human system scores to measure every metric's agreement against (``evalmt.data.human``)."""

    #: The human ranking file; relative to the config file's folder.
    path: str
    format: Literal["auto", "wmt23-tsv", "wmt22-txt", "csv"] = "auto"
    #: The data set the judgements belong to; may be left out when there is one data set.
    dataset: str | None = None
    #: How tables name this ranking (default: the file name).
    label: str | None = None


class RunConfig(_Strict):
    """A validated run: data sets × systems × metrics, and where results go."""

    name: str = Field(min_length=1)
    data: tuple[SerializeAsAny[ReaderConfig], ...] = Field(min_length=1)
    systems: tuple[SerializeAsAny[SystemConfig], ...] = Field(min_length=1)
    metrics: tuple[MetricConfig, ...] = tuple(MetricConfig(name=n) for n in DEFAULT_METRICS)
    confidence: ConfidenceOptions | None = ConfidenceOptions()
    significance: SignificanceOptions | None = SignificanceOptions()
    human: tuple[HumanConfig, ...] = ()
    #: Where ``data://<set>/<file>`` paths point: the data cache of ``evalmt data fetch``,
    #: or a local folder holding the same sets (relative to the config file's folder).
    data_dir: str = DEFAULT_DATA_DIR
    output: str = "results/"
    cache: str | None = None
    plugins: tuple[str, ...] = ()
    execution: ExecutionConfig = ExecutionConfig()

    _base_dir: Path = PrivateAttr(default=Path("."))
    _source: str = PrivateAttr(default="<config>")

    @field_validator("metrics", mode="before")
    @classmethod
    def _metric_names(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("human", mode="before")
    @classmethod
    def _one_human(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @property
    def base_dir(self) -> Path:
        """The config file's folder: relative data paths resolve against it."""
        return self._base_dir

    @property
    def source(self) -> str:
        """The config file as given (for messages)."""
        return self._source

    @property
    def output_dir(self) -> Path:
        """The output root (relative to the working directory unless absolute)."""
        return Path(self.output).expanduser()

    @property
    def run_name(self) -> str:
        """The run name made safe as one path component."""
        return safe_name(self.name)

    @property
    def run_dir(self) -> Path:
        """Where this run's results go: ``<output>/<run name>``."""
        return self.output_dir / self.run_name

    @property
    def cache_path(self) -> Path:
        """The translation cache file (default ``<output>/.cache/translations.sqlite``)."""
        if self.cache:
            return Path(self.cache).expanduser()
        return self.output_dir / ".cache" / "translations.sqlite"

    def system(self, name: str) -> SystemConfig:
        """Return the system called ``name``, or raise a did-you-mean ``ConfigError``."""
        for cfg in self.systems:
            if cfg.name == name:
                return cfg
        names = [s.name for s in self.systems]
        hint = difflib.get_close_matches(name, names, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise ConfigError(f"{self.source}: unknown system {name!r}; {did}available: "
                          f"{', '.join(names)}")

    def restricted(self, *, only_systems: Sequence[str] = ()) -> RunConfig:
        """Return a copy keeping only the named systems (``--only-system``), in config order."""
        if not only_systems:
            return self
        for name in only_systems:
            self.system(name)
        kept = tuple(s for s in self.systems if s.name in set(only_systems))
        return _with_private(self.model_copy(update={"systems": kept}), self)


def resolve_pkg_path(value: str) -> str:
    """Turn ``pkg://rel/path`` into an absolute path under the installed ``evalmt/resources``."""
    if not value.startswith(PKG_PREFIX):
        return value
    rel = value[len(PKG_PREFIX):].lstrip("/")
    root = Path(str(resources.files("evalmt"))) / "resources"
    return str(root / rel)


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """Read, override, import plugins of and validate the config at ``path``.

    Raises one ``ConfigError`` listing every problem as ``file: key.path: message``.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: config file not found") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}:{line}: invalid UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
                          "save the config as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc}") from exc
    raw = parse_yaml(text, source)
    raw = apply_overrides(raw, list(overrides), source=source)
    config = validate_config(raw, source=source, lines=line_index(text))
    object.__setattr__(config, "__pydantic_private__",
                       {"_base_dir": Path(path).resolve().parent, "_source": source})
    return config


def validate_config(raw: dict[str, Any], *, source: str = "<config>",
                    lines: dict[tuple, int] | None = None) -> RunConfig:
    """Validate a config mapping (already overridden); collect and raise all problems at once."""
    problems: list[tuple[tuple, str]] = []
    plugins = raw.get("plugins", [])
    if isinstance(plugins, list):
        for i, module in enumerate(plugins):
            err = import_plugin(module, base_dir=Path(source).resolve().parent)
            if err:
                problems.append((("plugins", i), err))
    raw = dict(raw)
    base_dir = Path(source).resolve().parent
    data_dir = raw.get("data_dir", RunConfig.model_fields["data_dir"].default)
    for key in ("data", "systems"):
        if isinstance(raw.get(key), list):
            raw[key] = [_pkg_paths(item, data_dir=data_dir, base_dir=base_dir,
                                   problems=problems, loc=(key, i))
                        for i, item in enumerate(raw[key])]
    data = _validate_items(raw.get("data"), "data", "reader", READERS, ReaderConfig, problems)
    systems = _validate_items(raw.get("systems"), "systems", "type", SYSTEMS, SystemConfig,
                              problems)
    if systems is not None:
        systems = _expand_systems(systems, base_dir, problems)
    header = dict(raw)
    # Items with problems were reported above; stand-ins keep the header check quiet
    # about them, while a missing or non-list value is left for it to report.
    for key, items, stand_in in (("data", data, ReaderConfig(reader="-")),
                                 ("systems", systems, SystemConfig(name="-", type="-"))):
        if items is not None:
            header[key] = items
        elif isinstance(raw.get(key), list):
            header[key] = [stand_in]
    try:
        config = RunConfig.model_validate(header)
    except ValidationError as exc:
        config = None
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc[:1] in (("data",), ("systems",)) and len(loc) > 1:
                continue  # reported per item above
            problems.append((loc, error_message(err, RunConfig, loc)))
    for key, default in (("data", ReaderConfig.model_fields["name"].default), ("systems", None)):
        if key == "systems" and config is not None:  # expanded: one name per real system
            problems += _duplicates([s.name for s in config.systems], key)
        elif isinstance(raw.get(key), list):
            names = [str(item.get("name", default)) if isinstance(item, dict) else None
                     for item in raw[key]]
            problems += _duplicates(names, key)
    problems += _metric_problems(config, raw, data)
    if config is not None and data is not None:
        problems += _human_problems(config)
    if problems or config is None:
        raise ConfigError(format_problems(problems, source, lines or {}))
    return config


def _human_problems(config: RunConfig) -> list[tuple[tuple, str]]:
    """Each ``human`` entry must name one of the data sets (or there must be only one)."""
    names = [d.name for d in config.data]
    problems: list[tuple[tuple, str]] = []
    for i, human in enumerate(config.human):
        if human.dataset is None and len(names) > 1:
            problems.append((("human", i, "dataset"), "required with several data sets "
                             f"(one of: {', '.join(names)})"))
        elif human.dataset is not None and human.dataset not in names:
            problems.append((("human", i, "dataset"), f"no data set {human.dataset!r} "
                             f"(data sets: {', '.join(names)})"))
    return problems


def _metric_problems(config: RunConfig | None, raw: dict[str, Any],
                     data: list[ReaderConfig] | None) -> list[tuple[tuple, str]]:
    """Build every metric for every target language now, so bad names/options fail early.

    Runs even when other parts of the config are invalid, and reports each
    bad metric entry under its own index.
    """
    from evalmt.metrics.base import build_metrics

    if config is not None:
        specs = list(config.metrics)
    else:  # validate the metrics list alone; its own shape errors are reported already
        try:
            specs = list(RunConfig.model_validate(
                {"name": "-", "data": [ReaderConfig(reader="-")],
                 "systems": [SystemConfig(name="-", type="-")],
                 **({"metrics": raw["metrics"]} if "metrics" in raw else {})}).metrics)
        except ValidationError:
            return []
    langs = sorted({d.tgt_lang for d in data}) if data else [ReaderConfig(reader="-").tgt_lang]
    problems: list[tuple[tuple, str]] = []
    for i, spec in enumerate(specs):
        for lang in langs:
            try:
                build_metrics([spec.name], tgt_lang=lang,
                              options={spec.name: spec.options} if spec.options else {})
            except EvalMTError as exc:
                problems.append((("metrics", i), str(exc)))
                break
    if not problems:  # each is fine alone: check them together (e.g. duplicates)
        options = {m.name: m.options for m in specs if m.options}
        for lang in langs:
            try:
                build_metrics([m.name for m in specs], tgt_lang=lang, options=options)
            except EvalMTError as exc:
                return [(("metrics",), str(exc))]
    return problems


def import_plugin(module: Any, *, base_dir: Path) -> str | None:
    """Import a plugin module by dotted name or ``.py`` path; return a problem or ``None``."""
    if not isinstance(module, str) or not module:
        return f"expected a module name or .py file, got {module!r}"
    try:
        if module.endswith(".py"):
            file = Path(module) if Path(module).is_absolute() else base_dir / module
            key = "evalmt_plugin_" + re.sub(r"\W", "_", str(file.resolve()))
            if key not in sys.modules:
                spec = importlib.util.spec_from_file_location(key, file)
                if spec is None or spec.loader is None or not file.is_file():
                    return f"plugin file {str(file)!r} not found"
                mod = importlib.util.module_from_spec(spec)
                sys.modules[key] = mod
                try:
                    spec.loader.exec_module(mod)
                except BaseException:
                    del sys.modules[key]
                    raise
        else:
            importlib.import_module(module)
    except ImportError as exc:
        return f"cannot import plugin {module!r}: {exc}"
    except Exception as exc:  # a plugin's own bug must not look like a traceback
        return f"plugin {module!r} failed while importing: {type(exc).__name__}: {exc}"
    return None


def _pkg_paths(value: Any, **where: Any) -> Any:
    """Resolve ``pkg://`` and ``data://`` values inside a data set or system entry."""
    if isinstance(value, str):
        if value.startswith(DATA_PREFIX):
            return _data_path(value, **where)
        return resolve_pkg_path(value)
    if isinstance(value, list):
        return [_pkg_paths(v, **where) for v in value]
    if isinstance(value, dict):
        return {k: _pkg_paths(v, **where) for k, v in value.items()}
    return value


def _data_path(value: str, *, data_dir: Any, base_dir: Path, problems: list,
               loc: tuple) -> str:
    """``data://<set>/<file>`` → a path under ``data_dir``; a missing set is a problem."""
    if not isinstance(data_dir, str):
        return value  # the header model reports a mistyped data_dir
    folder = Path(data_dir).expanduser()
    folder = folder if folder.is_absolute() else base_dir / folder
    name = value[len(DATA_PREFIX):].lstrip("/").split("/", 1)[0]
    if not (folder / name).is_dir():
        problems.append((loc, f"{value}: data set {name!r} is not in {folder}; run `evalmt "
                              f"data fetch {name}` or point data_dir at a folder holding it"))
        return value
    return str(folder / value[len(DATA_PREFIX):].lstrip("/"))


def _validate_items(items: Any, key: str, tag: str, registry: Any, base: type,
                    problems: list) -> list | None:
    """Dispatch each item on its ``tag`` to the registered config model and validate it."""
    if not isinstance(items, list):
        return None  # the header model reports a missing or mistyped list
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(((key, i), f"expected a mapping, got {item!r}"))
            continue
        if tag not in item:
            names = ", ".join(registry.names())
            problems.append(((key, i, tag), f"Field required (one of: {names})"))
            continue
        try:
            model = registry.get(str(item[tag])).config_model
        except RegistryError as exc:
            problems.append(((key, i, tag), str(exc)))
            continue
        except ImportError as exc:
            problems.append(((key, i, tag), f"{tag} {item[tag]!r} cannot be imported: {exc}"))
            continue
        if not (isinstance(model, type) and issubclass(model, base)):
            problems.append(((key, i, tag), f"{item[tag]!r} has no {base.__name__} config model"))
            continue
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                loc = (key, i, *err["loc"])
                problems.append((loc, error_message(err, model, tuple(err["loc"]))))
    return out if len(out) == len(items) else None


def _expand_systems(systems: list[SystemConfig], base_dir: Path,
                    problems: list) -> list[SystemConfig] | None:
    """Expand entries that stand for several systems (``SystemConfig.expand``)."""
    out: list[SystemConfig] = []
    ok = True
    for i, cfg in enumerate(systems):
        try:
            out.extend(cfg.expand(base_dir=base_dir))
        except ConfigError as exc:
            key = "path" if isinstance(getattr(cfg, "path", None), str) else "name"
            problems.append((("systems", i, key), str(exc)))
            ok = False
    return out if ok else None


def _duplicates(names: list[str | None], key: str) -> list[tuple[tuple, str]]:
    problems, seen, seen_safe = [], {}, {}
    for i, name in enumerate(names):
        if name is None or name == "None":
            continue
        if name in seen:
            msg = f"duplicate name {name!r} (also {key}.{seen[name]})"
            problems.append(((key, i, "name"), msg))
        elif safe_name(name) in seen_safe:
            j = seen_safe[safe_name(name)]
            problems.append(((key, i, "name"), f"name {name!r} clashes with {names[j]!r} "
                             f"({key}.{j}) once made file-safe as {safe_name(name)!r}"))
        seen.setdefault(name, i)
        seen_safe.setdefault(safe_name(name), i)
    return problems


def _with_private(copy: RunConfig, original: RunConfig) -> RunConfig:
    object.__setattr__(copy, "__pydantic_private__", dict(original.__pydantic_private__ or {}))
    return copy
