"""The ``ctranslate2`` system: encoder-decoder models run by CTranslate2.

Owns what differs from ``hf-seq2seq``: finding or building the CTranslate2
model directory, and the encode/generate/decode steps. Everything that
decides *what* the model sees is shared with ``hf-seq2seq`` — family
detection, language codes and ``>>code<<`` prefixes from
:class:`~evalmt.systems.seq2seq_family.Seq2SeqFamily`; blank inputs,
truncation counts and length-relative output limits from
:class:`~evalmt.systems.hf_base.ModelSystem` — so the two back ends treat a
direction alike:

* the HF tokenizer turns text into ids (source language token and ``</s>``
  included) and ids into token strings for ``translate_batch``;
* the target language token (NLLB ``eng_Latn``, M2M100 ``__en__``, mBART-50
  ``en_XX``) — ``forced_bos_token_id`` for ``generate`` — is the
  ``target_prefix`` here, and is dropped from the output again;
* outputs go back through ``convert_tokens_to_ids`` and ``decode``.

``model:`` is a hub id, a local HF directory (converted once into a cache
directory keyed by the checkpoint identity, quantization and CTranslate2
version; the conversion writes to a temporary directory that is renamed
into place, so an interrupted conversion leaves no entry), or a directory
that already holds a CTranslate2 model (``model.bin`` + its ``config.json``),
used as is with the tokenizer from ``tokenizer:`` or the same directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt

from evalmt.errors import ConfigError, TranslationError
from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig, Translator
from evalmt.systems.hf_base import Encoded, ModelSystem
from evalmt.systems.seq2seq_family import Seq2SeqFamily, Seq2SeqOptions

LOG = logging.getLogger("evalmt.systems.ct2")

ComputeType = Literal[
    "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
    "float16", "bfloat16", "float32",
]

#: Default conversion cache (``convert_dir:`` overrides it).
DEFAULT_CONVERT_DIR = "~/.cache/evalmt/ct2"

#: Bumped when the way evalmt converts changes (vocabulary or config fixes below).
CONVERSION_FORMAT = 1

_INSTALL_HINT = 'the ctranslate2 system needs CTranslate2: pip install "evalmt[ct2]"'

# Tokenizer class name → HF model_type, for converted directories that carry no HF config
# (detect_family tells NLLB from M2M100 by the tokenizer class).
_TOKENIZER_MODEL_TYPES = {
    "Marian": "marian", "Nllb": "m2m_100", "M2M100": "m2m_100", "MBart50": "mbart",
}


class CTranslate2Config(Seq2SeqOptions):
    """Options of a ``ctranslate2`` system: the shared model options plus conversion/threads."""

    type: Literal["ctranslate2"] = "ctranslate2"
    tokenizer: str | None = Field(
        default=None, description="tokenizer location for an already-converted model"
    )
    convert_dir: str = DEFAULT_CONVERT_DIR
    compute_type: ComputeType = "default"
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    inter_threads: PositiveInt = 1
    intra_threads: int = Field(default=0, ge=0, description="0: CTranslate2's default")
    max_batch_size: PositiveInt | None = None


def is_ct2_directory(path: Path) -> bool:
    """Tell whether ``path`` holds a converted CTranslate2 model (not an HF checkpoint)."""
    config = path / "config.json"
    if not (path.is_dir() and (path / "model.bin").is_file() and config.is_file()):
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    # HF configs always name their model_type; CTranslate2's never do.
    return isinstance(data, dict) and "model_type" not in data


def conversion_key(source_identity: dict[str, Any], quantization: str | None,
                   ct2_version: str) -> str:
    """Cache-directory name of one conversion: sha256 over what changes the converted files."""
    payload = {"source": source_identity, "quantization": quantization,
               "ctranslate2": ct2_version, "format": CONVERSION_FORMAT}
    blob = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _import_ct2() -> Any:
    try:
        import ctranslate2
    except ImportError as exc:
        raise TranslationError(_INSTALL_HINT) from exc
    return ctranslate2


class _VocabularyView:
    """A tokenizer whose ``get_vocab`` lists every id, language tokens included.

    Under transformers 5, ``M2M100Tokenizer.get_vocab()`` leaves out the
    ``__xx__`` language tokens, so CTranslate2's loader would write a
    vocabulary shorter than the embedding table.
    """

    def __init__(self, tokenizer: Any, bos_token_id: int | None) -> None:
        self._tokenizer = tokenizer
        self._bos_token_id = bos_token_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._tokenizer.get_vocab())
        for code, index in getattr(self._tokenizer, "lang_code_to_id", {}).items():
            token = self._tokenizer.convert_ids_to_tokens(int(index)) or code
            vocab.setdefault(token, int(index))
        return vocab

    @property
    def bos_token(self) -> str | None:
        """The tokenizer's BOS, else the model's.

        Some saved tokenizers lose it, and CTranslate2 needs a string even when it
        never adds BOS.
        """
        token = self._tokenizer.bos_token
        if token is None and self._bos_token_id is not None:
            token = self._tokenizer.convert_ids_to_tokens(self._bos_token_id)
        return token


def _converter(model: str, revision: str | None, trust_remote_code: bool) -> Any:
    """Build a ``TransformersConverter`` with the fixes evalmt needs for transformers 5."""
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        def load_model(self, model_class: Any, name: str, **kwargs: Any) -> Any:
            loaded = super().load_model(model_class, name, **kwargs)
            config = loaded.config
            self.bos_token_id = getattr(config, "bos_token_id", None)
            if config.model_type == "mbart":
                # mBART is pre-norm with a layer norm after the embeddings; configs written
                # by recent transformers no longer carry these two flags.
                for flag in ("normalize_before", "normalize_embedding"):
                    if not hasattr(config, flag):
                        setattr(config, flag, True)
                # CTranslate2 treats a config without tokenizer_class as mBART-25 (no fixed
                # decoder start); a checkpoint that starts decoding from </s> is mBART-50 style.
                if (getattr(config, "tokenizer_class", None) is None
                        and config.decoder_start_token_id == config.eos_token_id):
                    config.tokenizer_class = "MBart50Tokenizer"
            return loaded

        def load_tokenizer(self, tokenizer_class: Any, name: str, **kwargs: Any) -> Any:
            tokenizer = super().load_tokenizer(tokenizer_class, name, **kwargs)
            return _VocabularyView(tokenizer, getattr(self, "bos_token_id", None))

    return Converter(model, revision=revision, trust_remote_code=trust_remote_code)


def convert(source: hf_common.ModelSource, *, convert_dir: Path, quantization: str | None,
            trust_remote_code: bool = False) -> tuple[Path, bool]:
    """Return the converted directory of ``source``, converting it unless cached.

    The second value tells whether a conversion ran. The conversion writes
    into a temporary sibling directory renamed into place only when complete.
    """
    ctranslate2 = _import_ct2()
    key = conversion_key(source.identity(), quantization, ctranslate2.__version__)
    target = convert_dir / key
    if (target / "model.bin").is_file():
        return target, False
    convert_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=convert_dir))
    try:
        out = work / "model"
        revision = None if source.local else source.load_revision
        try:
            _converter(source.model, revision, trust_remote_code).convert(
                str(out), quantization=quantization, force=True)
        except (ValueError, NotImplementedError, OSError) as exc:
            raise TranslationError(
                f"model {source.model!r}: CTranslate2 conversion failed: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        record = {"source": source.identity(), "model": source.model,
                  "quantization": quantization, "ctranslate2": ctranslate2.__version__,
                  "format": CONVERSION_FORMAT}
        (out / "evalmt-conversion.json").write_text(
            json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
        try:
            os.replace(out, target)
        except OSError:
            if not (target / "model.bin").is_file():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target, True


class CTranslate2System(Seq2SeqFamily, ModelSystem):
    """Encoder-decoder translator on CTranslate2 (Marian, NLLB, M2M100, mBART-50)."""

    config_model: ClassVar[type[SystemConfig]] = CTranslate2Config
    config: CTranslate2Config
    decoding_call = "translate_batch"
    # Where converted models are kept does not change outputs.
    fingerprint_exclude = Translator.fingerprint_exclude | {"convert_dir"}

    def __init__(self, config: SystemConfig, *, src_lang: str, tgt_lang: str,
                 base_dir: Path | str | None = None) -> None:
        super().__init__(config, src_lang=src_lang, tgt_lang=tgt_lang, base_dir=base_dir)
        self.stats["conversions"] = 0
        self._ct2_dir: Path | None = None
        self._tokenizer_source: hf_common.ModelSource | None = None

    @property
    def prebuilt(self) -> bool:
        """True when ``model:`` already is a CTranslate2 directory."""
        return is_ct2_directory(self.resolve_path(self.config.model))

    def tokenizer_source(self) -> hf_common.ModelSource:
        """Where the HF tokenizer comes from (``tokenizer:``, else ``model:``)."""
        if self._tokenizer_source is None:
            location = self.config.tokenizer
            if location is None:
                self._tokenizer_source = self.source
            else:
                self._tokenizer_source = hf_common.resolve_source(
                    location, None, key=self._key("tokenizer"), base_dir=self.base_dir)
        return self._tokenizer_source

    def checkpoint_config(self, tokenizer: Any) -> Any:
        """Return the HF config, or for a converted directory a stand-in naming its family."""
        if not self.prebuilt:
            return super().checkpoint_config(tokenizer)
        name = type(tokenizer).__name__
        model_type = next((t for prefix, t in _TOKENIZER_MODEL_TYPES.items()
                           if name.startswith(prefix)), "")
        if self.config.family is None and not model_type:
            raise ConfigError(f"{self._key('family')}: cannot tell the family of a "
                              f"converted model from tokenizer {name}; set family:")
        return SimpleNamespace(model_type=model_type)
    @property
    def quantization(self) -> str | None:
        """Weight type written at conversion (``None``: keep the checkpoint's)."""
        return None if self.config.compute_type in ("default", "auto") else \
            self.config.compute_type

    @property
    def ct2_directory(self) -> Path:
        """The CTranslate2 model directory, converting the checkpoint on first use."""
        if self._ct2_dir is None:
            if self.prebuilt:
                self._ct2_dir = self.resolve_path(self.config.model)
            else:
                self._ct2_dir, converted = convert(
                    self.source, convert_dir=self.resolve_path(self.config.convert_dir),
                    quantization=self.quantization,
                    trust_remote_code=self.config.trust_remote_code)
                self.stats["conversions"] += int(converted)
                if converted:
                    LOG.info("system %r: converted %s into %s", self.name, self.config.model,
                             self._ct2_dir)
        return self._ct2_dir

    @property
    def ct2_device(self) -> tuple[str, int]:
        """CTranslate2 device name and index (``auto``: CUDA when CTranslate2 sees a GPU)."""
        requested = self.config.device
        ctranslate2 = _import_ct2()
        cuda = ctranslate2.get_cuda_device_count() > 0
        if requested == "auto":
            return ("cuda" if cuda else "cpu"), 0
        if requested.startswith("cuda") and not cuda:
            raise TranslationError(f"{self._key('device')}: {requested!r} requested but "
                                   "CTranslate2 sees no CUDA device")
        name, _, index = requested.partition(":")
        return name, int(index or 0)

    @property
    def device(self) -> str:
        """The CTranslate2 device the model is (or will be) on, e.g. ``cpu`` or ``cuda:0``."""
        if self._device is None:
            name, index = self.ct2_device
            self._device = name if name == "cpu" else f"{name}:{index}"
        return self._device

    @property
    def model(self) -> Any:
        """The ``ctranslate2.Translator``, loaded on first use."""
        if self._model is None:
            ctranslate2 = _import_ct2()
            device, index = self.ct2_device
            self._device = device if device == "cpu" else f"{device}:{index}"
            try:
                self._model = ctranslate2.Translator(
                    str(self.ct2_directory), device=device, device_index=index,
                    compute_type=self.config.compute_type,
                    inter_threads=self.config.inter_threads,
                    intra_threads=self.config.intra_threads)
            except (RuntimeError, ValueError) as exc:
                raise TranslationError(f"system {self.name!r}: cannot load CTranslate2 model "
                                       f"{self.ct2_directory}: {exc}") from exc
        return self._model

    @property
    def dtype(self) -> str:
        """The configured compute type (CTranslate2 falls back when a device lacks it)."""
        return self.config.compute_type

    def fingerprint_extra(self) -> dict[str, Any]:
        """Return the direction's identity, the tokenizer source and the conversion settings."""
        ctranslate2 = _import_ct2()
        extra = self.setup_fingerprint()
        extra.update({
            "tokenizer": None if self.config.tokenizer is None
            else self.tokenizer_source().identity(),
            "quantization": self.quantization,
            "ctranslate2": ctranslate2.__version__,
            "conversion_format": CONVERSION_FORMAT,
        })
        return extra

    def decoding_kwargs(self, max_decoding_length: int) -> dict[str, Any]:
        """Keyword arguments of ``translate_batch`` besides source and target prefix."""
        cfg = self.config
        return {
            "beam_size": cfg.num_beams,
            "length_penalty": cfg.length_penalty,
            "no_repeat_ngram_size": cfg.no_repeat_ngram_size,
            "max_decoding_length": max_decoding_length,
            "max_input_length": 0,  # inputs are truncated here, like hf-seq2seq does
        }

    def encode(self, texts: list[str]) -> Encoded:
        """Token strings of prefix + text, truncated to ``max_input_tokens``."""
        tokenizer = self.tokenizer
        prefixed = [self.setup.prefix + text for text in texts]
        limit = self.max_input_tokens
        ids = tokenizer(prefixed)["input_ids"]
        lengths = [len(row) for row in ids]
        over = [r for r, n in enumerate(lengths) if n > limit]
        if over:
            cut = tokenizer([prefixed[r] for r in over], truncation=True, max_length=limit)
            for r, row in zip(over, cut["input_ids"], strict=True):
                ids[r] = row
        tokens = [tokenizer.convert_ids_to_tokens(row) for row in ids]
        return Encoded(tokens, [min(n, limit) for n in lengths], truncated=len(over),
                       limit=limit)

    def generate(self, encoded: Encoded, max_new_tokens: int) -> Any:
        """Run ``translate_batch``; the forced target language token is the target prefix."""
        translator, forced = self.model, self.setup.forced_bos_token_id
        prefix = None
        if forced is not None:
            prefix = [[self.tokenizer.convert_ids_to_tokens(forced)]] * len(encoded.inputs)
        length = max_new_tokens + int(forced is not None)
        # CTranslate2 fails past the decoder's position table; generate would too.
        positions = getattr(self._hf_config, "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            length = min(length, positions)
        return translator.translate_batch(encoded.inputs, prefix, **self.decoding_kwargs(length))

    def decode(self, generated: Any, encoded: Encoded, limits: list[int],
               sources: list[str]) -> list[str]:
        """Drop the target prefix and language tokens, cut each row at its limit."""
        tokenizer = self.tokenizer
        skip = int(self.setup.forced_bos_token_id is not None)
        drop = self.language_token_ids()
        rows = []
        for r, result in enumerate(generated):
            tokens = result.hypotheses[0][skip:skip + limits[r]]
            rows.append([t for t in tokenizer.convert_tokens_to_ids(tokens) if t not in drop])
        return [text.strip() for text in tokenizer.batch_decode(rows, skip_special_tokens=True)]

    def describe(self) -> dict[str, Any]:
        """Manifest entry: the seq2seq facts plus the CTranslate2 directory and settings."""
        info = super().describe()
        info.update({
            "ct2_model_dir": str(self._ct2_dir) if self._ct2_dir else None,
            "prebuilt": self.prebuilt,
            "quantization": self.quantization,
            "compute_type": self.config.compute_type,
        })
        return info
