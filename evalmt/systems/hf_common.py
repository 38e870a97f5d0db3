"""What the Hugging Face systems share: where weights come from and how they are loaded.

Owns device and dtype resolution, the identity of a checkpoint (resolved hub
commit or sha256 of a local directory's files, used in fingerprints), the
loading rules (pinned revision, safetensors preferred, ``weights_only``
unpickling for legacy ``.bin`` files, ``trust_remote_code`` off unless the
config sets it) and the maps from data-set language tags (``zh``, ``zh-Hant``,
``en``) to each model family's language codes and to English language names.

torch, transformers and huggingface_hub are imported inside the functions
that need them, so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import logging
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evalmt.errors import ConfigError, TranslationError

LOG = logging.getLogger("evalmt.systems.hf")

#: Accepted values of the ``device:`` and ``dtype:`` config keys.
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")

# Files of a checkpoint directory that do not change outputs and are left out of its hash.
_UNHASHED = re.compile(r"^(README.*|\.gitattributes|LICENSE.*|.*\.md)$", re.IGNORECASE)
_SNAPSHOT = re.compile(r"snapshots[\\/]([0-9a-f]{40})[\\/]")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def resolve_device(requested: str) -> str:
    """Turn ``auto`` into the best available device (cuda > mps > cpu); check explicit ones."""
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda") and not cuda:
        raise TranslationError(f"device {requested!r} requested but torch sees no CUDA device")
    if requested == "mps" and not mps:
        raise TranslationError("device 'mps' requested but torch sees no MPS device")
    return requested


def resolve_dtype(requested: str, device: str) -> str:
    """Turn ``auto`` into a dtype name: bfloat16 (or float16) on CUDA, float32 elsewhere."""
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of one file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelSource:
    """Where a checkpoint comes from and what identifies its exact contents.

    ``commit`` is the resolved hub commit (40 hex digits) for a hub id;
    ``file_hashes`` maps file name to sha256 for a local directory.
    """

    model: str
    local: bool
    revision: str | None = None
    commit: str | None = None
    file_hashes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "file_hashes", MappingProxyType(dict(self.file_hashes)))

    @property
    def load_revision(self) -> str | None:
        """The revision to pass to ``from_pretrained`` (pinned to the resolved commit)."""
        return None if self.local else (self.commit or self.revision)

    def identity(self) -> dict[str, Any]:
        """Fingerprint material: the commit, or every file's hash for a local directory."""
        if self.local:
            return {"local": True, "files": dict(sorted(self.file_hashes.items()))}
        return {"local": False, "model": self.model, "commit": self.commit}

    def has_safetensors(self) -> bool | None:
        """True/False for a local directory; ``None`` (unknown before download) for a hub id."""
        if not self.local:
            return None
        return any(name.endswith(".safetensors") for name in self.file_hashes)


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1


def _local_dir(model: str, base_dir: Path | None) -> Path | None:
    """Return the folder ``model`` names (relative: ``base_dir`` first, then the cwd), if any."""
    path = Path(model).expanduser()
    candidates = [path] if path.is_absolute() or base_dir is None else [base_dir / path, path]
    return next((c for c in candidates if c.is_dir()), None)


def resolve_source(
    model: str, revision: str | None, *, key: str = "model", base_dir: Path | None = None
) -> ModelSource:
    """Identify ``model`` (a local directory or a hub id) without loading its weights.

    A local directory (relative paths: against ``base_dir``, the config's folder,
    then the current directory) is hashed file by file. A hub id is resolved to
    the commit that ``config.json`` comes from (works offline when cached).
    """
    path = _local_dir(model, base_dir)
    if path is not None:
        if revision is not None:
            raise ConfigError(f"{key}: 'revision' applies to hub ids, not to local path {model!r}")
        hashes = {
            p.name: sha256_file(p)
            for p in sorted(path.iterdir())
            if p.is_file() and not _UNHASHED.match(p.name)
        }
        if "config.json" not in hashes:
            raise TranslationError(f"{key}: local model directory {model!r} has no config.json")
        return ModelSource(model=str(path), local=True, file_hashes=hashes)
    if _looks_like_path(model):
        raise TranslationError(f"{key}: local model directory {model!r} does not exist")
    if revision is not None and _COMMIT.match(revision):
        return ModelSource(model=model, local=False, revision=revision, commit=revision)
    try:
        from huggingface_hub import hf_hub_download

        config_path = hf_hub_download(model, "config.json", revision=revision)
    except Exception as exc:  # noqa: BLE001  (hub errors have many types; all mean "not reachable")
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise TranslationError(
            f"{key}: cannot fetch config.json of hub model {model!r} "
            f"(revision {revision or 'main'}): {type(exc).__name__}: {first_line}"
            " — download it first or point 'model:' at a local copy"
        ) from exc
    match = _SNAPSHOT.search(str(config_path))
    return ModelSource(
        model=model, local=False, revision=revision, commit=match.group(1) if match else None
    )


def check_template(value: str, *, what: str, allowed: frozenset[str]) -> set[str]:
    """Return the ``{fields}`` of a ``str.format`` template; raise ``ValueError`` on others."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as exc:
        raise ValueError(f"{what} is not a valid template: {exc}") from exc
    unknown = fields - allowed
    if unknown:
        raise ValueError(
            f"{what} uses unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)} "
            "(write {{ and }} for literal braces)"
        )
    return fields


def remote_code_notice(system: str, model: str) -> str:
    """Log and return the warning recorded when a config enables ``trust_remote_code``."""
    message = (
        f"system {system!r}: trust_remote_code is enabled; Python code shipped with {model!r} "
        "will run on this machine"
    )
    LOG.warning(message)
    return message


def load_tokenizer(source: ModelSource, *, trust_remote_code: bool, **kwargs: Any) -> Any:
    """Load the tokenizer of ``source`` through ``AutoTokenizer`` (same path for hub and local)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            source.model,
            revision=source.load_revision,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    except (OSError, ValueError) as exc:
        raise TranslationError(
            f"model {source.model!r}: cannot load tokenizer: {str(exc).splitlines()[0]}"
        ) from exc


def load_config(source: ModelSource, *, trust_remote_code: bool) -> Any:
    """Load the model config (``AutoConfig``) of ``source``."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(
            source.model, revision=source.load_revision, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise TranslationError(
            f"model {source.model!r}: cannot load config: {str(exc).splitlines()[0]}"
        ) from exc


def load_model(
    auto_class: Any,
    source: ModelSource,
    *,
    dtype: str,
    device: str,
    trust_remote_code: bool,
    warnings: list[str],
) -> Any:
    """Load weights with ``auto_class`` in eval mode on ``device``.

    safetensors are required when a local directory has them and tried first
    for a hub id; a legacy ``.bin`` checkpoint is only ever read with
    ``weights_only=True`` (no arbitrary unpickling), and that fallback is
    appended to ``warnings``.
    """
    import pickle  # only for its exception: weights_only refusing a pickled object

    import torch

    common = {
        "revision": source.load_revision,
        "trust_remote_code": trust_remote_code,
        "dtype": getattr(torch, dtype),
        "weights_only": True,
    }
    safetensors = source.has_safetensors()
    try:
        try:
            model = auto_class.from_pretrained(
                source.model, use_safetensors=True if safetensors in (True, None) else False,
                **common,
            )
        except OSError:
            if safetensors is not None:
                raise
            model = auto_class.from_pretrained(source.model, use_safetensors=False, **common)
            safetensors = False
    except (OSError, ValueError, pickle.UnpicklingError) as exc:
        raise TranslationError(
            f"model {source.model!r}: cannot load weights: {str(exc).splitlines()[0]}"
        ) from exc
    if safetensors is False:
        message = f"model {source.model!r}: no safetensors weights; loaded .bin with weights_only"
        LOG.warning(message)
        warnings.append(message)
    model.to(device)
    model.eval()
    return model


def input_limit(tokenizer: Any, config: Any, *, cap: int) -> int:
    """Largest input the model takes: tokenizer ``model_max_length``, position table, ``cap``."""
    limits = [cap]
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    for attr in ("max_position_embeddings", "n_positions", "max_source_positions"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
            break
    return min(limits)


def decoder_positions(config: Any) -> int | None:
    """Size of the decoder's position table (None when the config names none)."""
    for attr in ("max_target_positions", "max_position_embeddings", "n_positions"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


# --- language tags ----------------------------------------------------------------------------

_TRADITIONAL = {"hant", "tw", "hk", "mo"}


def split_language(tag: str) -> tuple[str, str | None]:
    """Split a tag into base language and script.

    ``zh-Hant``/``zh_TW`` → (zh, Hant); ``zh``/``zh-CN`` → (zh, Hans); ``en-US`` → (en, None).
    """
    parts = re.split(r"[-_]", tag.strip())
    base = parts[0].lower()
    rest = {p.lower() for p in parts[1:]}
    if base in {"zh", "zho", "cmn"}:
        return "zh", "Hant" if rest & _TRADITIONAL else "Hans"
    if base == "yue":
        return "yue", "Hant"
    return base, None


# ISO 639-1 → (name, ISO 639-3 + script as used by NLLB-200, mBART-50 code, Marian >>id<<).
_LANGUAGES: dict[str, tuple[str, str, str | None, str]] = {
    "ar": ("Arabic", "arb_Arab", "ar_AR", "ara"),
    "cs": ("Czech", "ces_Latn", "cs_CZ", "ces"),
    "de": ("German", "deu_Latn", "de_DE", "deu"),
    "en": ("English", "eng_Latn", "en_XX", "eng"),
    "es": ("Spanish", "spa_Latn", "es_XX", "spa"),
    "fi": ("Finnish", "fin_Latn", "fi_FI", "fin"),
    "fr": ("French", "fra_Latn", "fr_XX", "fra"),
    "hi": ("Hindi", "hin_Deva", "hi_IN", "hin"),
    "id": ("Indonesian", "ind_Latn", "id_ID", "ind"),
    "it": ("Italian", "ita_Latn", "it_IT", "ita"),
    "ja": ("Japanese", "jpn_Jpan", "ja_XX", "jpn"),
    "ko": ("Korean", "kor_Hang", "ko_KR", "kor"),
    "nl": ("Dutch", "nld_Latn", "nl_XX", "nld"),
    "pl": ("Polish", "pol_Latn", "pl_PL", "pol"),
    "pt": ("Portuguese", "por_Latn", "pt_XX", "por"),
    "ru": ("Russian", "rus_Cyrl", "ru_RU", "rus"),
    "th": ("Thai", "tha_Thai", "th_TH", "tha"),
    "tr": ("Turkish", "tur_Latn", "tr_TR", "tur"),
    "uk": ("Ukrainian", "ukr_Cyrl", "uk_UA", "ukr"),
    "vi": ("Vietnamese", "vie_Latn", "vi_VN", "vie"),
    "zh": ("Chinese", "zho_Hans", "zh_CN", "cmn_Hans"),
}
# Traditional Chinese: NLLB and Marian have their own codes; M2M100 and mBART-50 only "zh"/"zh_CN".
_HANT = {"nllb": "zho_Hant", "marian": "cmn_Hant", "m2m100": "zh", "mbart50": "zh_CN", "t5": "zh"}

#: Model families with a language-code convention.
FAMILIES = ("marian", "nllb", "m2m100", "mbart50", "t5")


def language_code(family: str, tag: str, *, key: str) -> str:
    """Return the code ``family`` uses for data-set language ``tag`` (nllb, zh → ``zho_Hans``)."""
    base, script = split_language(tag)
    if base == "yue" and family == "nllb":
        return "yue_Hant"
    if base == "zh" and script == "Hant" and family in _HANT:
        return _HANT[family]
    entry = _LANGUAGES.get(base)
    code: str | None
    if family in ("m2m100", "t5"):
        code = base if len(base) == 2 else None
    elif entry is None:
        code = None
    else:
        code = {"nllb": entry[1], "mbart50": entry[2], "marian": entry[3]}.get(family)
    if code is None:
        raise ConfigError(
            f"{key}: no {family} language code known for {tag!r}; set it explicitly in the config"
        )
    return code


def language_name(tag: str) -> str:
    """English name of a language tag for prompts: zh → Chinese, zh-Hant → Traditional Chinese."""
    base, script = split_language(tag)
    if base == "yue":
        return "Cantonese"
    entry = _LANGUAGES.get(base)
    if entry is None:
        return tag
    if base == "zh" and script == "Hant" and re.search(r"[-_]", tag):
        return "Traditional Chinese"
    if base == "zh" and re.search(r"(?i)[-_](hans|cn|sg)$", tag):
        return "Simplified Chinese"
    return entry[0]
