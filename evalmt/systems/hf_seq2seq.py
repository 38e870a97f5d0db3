"""The ``hf-seq2seq`` system: encoder-decoder translation models run by ``transformers``.

Marian, NLLB, M2M100, mBART-50 and T5/MADLAD checkpoints; the per-family
rules (language codes, ``>>code<<`` prefixes, forced first target token) live
in :mod:`evalmt.systems.seq2seq_family`, shared with ``ctranslate2``. This
module owns only the three ``transformers`` steps: tokenize (truncating to
what the model's position table takes), ``generate``, and decode (dropping
the decoder start and forced language token). With ``bucket_shapes`` (on
CUDA by default) each batch is padded to one of a few shapes — rows up to
``BATCH_BUCKETS``, lengths up to a multiple of ``LENGTH_MULTIPLE`` — because
``generate`` is many times slower on a shape it has not seen and sorted
batches rarely repeat one. Chunking and batching happen in ``evalmt.translate``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from evalmt.systems import hf_common
from evalmt.systems.base import SystemConfig
from evalmt.systems.hf_base import Encoded, HFModelSystem, bucket_length, bucket_size
from evalmt.systems.seq2seq_family import (
    DEFAULT_INPUT_CAP,
    Family,
    Seq2SeqFamily,
    Seq2SeqOptions,
    Seq2SeqSetup,
    detect_family,
)

__all__ = ["DEFAULT_INPUT_CAP", "Family", "HFSeq2SeqConfig", "HFSeq2SeqSystem", "Seq2SeqSetup",
           "detect_family"]


class HFSeq2SeqConfig(Seq2SeqOptions):
    """Options of an ``hf-seq2seq`` system."""

    type: Literal["hf-seq2seq"] = "hf-seq2seq"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    #: Pad batches to a few fixed shapes (``BATCH_BUCKETS`` rows × multiples of
    #: ``LENGTH_MULTIPLE`` tokens): ``auto`` = on CUDA only, where ``generate`` is many
    #: times slower on a shape it has not seen; padding is masked, so outputs do not change.
    bucket_shapes: Literal["auto", "on", "off"] = "auto"


class HFSeq2SeqSystem(Seq2SeqFamily, HFModelSystem):
    """Encoder-decoder translator (Marian, NLLB, M2M100, mBART-50, T5/MADLAD)."""

    config_model: ClassVar[type[SystemConfig]] = HFSeq2SeqConfig
    config: HFSeq2SeqConfig
    auto_model_class = "AutoModelForSeq2SeqLM"
    # Shape bucketing pads with masked positions and discarded rows: outputs do not change.
    fingerprint_exclude = HFModelSystem.fingerprint_exclude | {"bucket_shapes"}

    @property
    def buckets(self) -> bool:
        """Whether batches are padded to bucket shapes (``auto``: on CUDA)."""
        if self.config.bucket_shapes == "auto":
            return self.device.startswith("cuda")
        return self.config.bucket_shapes == "on"

    def fingerprint_extra(self) -> dict[str, Any]:
        """Checkpoint identity, family, language codes, prefix, forced BOS and dtype."""
        return self.setup_fingerprint()

    def generation_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        """Keyword arguments passed to ``model.generate`` besides the inputs."""
        cfg, setup = self.config, self.setup
        kwargs: dict[str, Any] = {
            "num_beams": cfg.num_beams,
            "do_sample": False,
            "max_new_tokens": max_new_tokens,
            "length_penalty": cfg.length_penalty,
            "no_repeat_ngram_size": cfg.no_repeat_ngram_size,
            # mBART/BART checkpoints force EOS as the last token at the length limit; that
            # token would replace real text only when the limit is hit, and only for the
            # longest segment of a batch, so outputs would depend on batch composition.
            "forced_eos_token_id": None,
        }
        if setup.forced_bos_token_id is not None:
            kwargs["forced_bos_token_id"] = setup.forced_bos_token_id
        return kwargs

    def encode(self, texts: list[str]) -> Encoded:
        """Tokenize prefix + text, truncated to what the model's position table takes."""
        tokenizer = self.tokenizer
        prefixed = [self.setup.prefix + text for text in texts]
        # A configured max_input_tokens above the model's own limit would overflow its
        # position table: never feed more than the model takes.
        limit = min(self.max_input_tokens,
                    hf_common.input_limit(tokenizer, self._hf_config, cap=1 << 20))
        lengths = [len(ids) for ids in tokenizer(prefixed, verbose=False)["input_ids"]]
        _ = self.model  # loads the model and fixes the device
        padding: dict[str, Any] = {"padding": True, "max_length": limit}
        rows = prefixed
        if self.buckets:
            # Extra rows repeat the shortest input (their outputs are never decoded);
            # every row is padded to the bucket length.
            shortest = prefixed[lengths.index(min(lengths))]
            rows = prefixed + [shortest] * (bucket_size(len(prefixed)) - len(prefixed))
            padding = {"padding": "max_length",
                       "max_length": bucket_length(min(max(lengths), limit), limit=limit)}
        enc = tokenizer(rows, return_tensors="pt", truncation=True, **padding).to(self._device)
        return Encoded(enc, [min(n, limit) for n in lengths],
                       truncated=sum(n > limit for n in lengths), limit=limit)

    def generate(self, encoded: Encoded, max_new_tokens: int) -> Any:
        """Run ``model.generate`` (one more token when a language token is forced first)."""
        import torch

        forced = self.setup.forced_bos_token_id is not None
        with torch.inference_mode():
            return self.model.generate(
                **encoded.inputs, **self.generation_kwargs(max_new_tokens + int(forced)))

    def decode(self, generated: Any, encoded: Encoded, limits: list[int],
               sources: list[str]) -> list[str]:
        """Drop the decoder start and forced language token, cut each row at its limit."""
        # Row layout: decoder start, forced language token (if any), then the translation.
        skip = 1 + int(self.setup.forced_bos_token_id is not None)
        drop = self.language_token_ids()
        rows = [[t for t in generated[r, skip:skip + limits[r]].tolist() if t not in drop]
                for r in range(len(limits))]
        return [text.strip() for text in
                self.tokenizer.batch_decode(rows, skip_special_tokens=True)]
