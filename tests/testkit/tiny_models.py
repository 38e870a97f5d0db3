"""Builders of tiny, randomly initialised translation models for tests.

Each ``build_*`` function writes a model and its tokenizer with
``save_pretrained`` (safetensors) into a directory and returns that
directory, so tests load it back exactly as a hub id would be loaded
(``model: <dir>``). Nothing is downloaded; weights come from a fixed seed.
The models are deliberately tiny (d_model 16, 1 layer, a vocabulary of a
few hundred pieces) so that building and running them takes seconds on CPU.

Reused by the seq2seq, causal, CTranslate2 and reliability tests.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Lines used to train the tiny tokenizers: Chinese (Simplified and
#: Traditional, with a pinyin artifact) and English, so both scripts have pieces.
CORPUS = (
    "我们今天去北京。天气很好，我们很高兴。",
    "這是一個測試句子。應(yīng)該翻譯成英文。",
    "机器翻译评估需要参考译文和自动指标。",
    "中文和英文的文档放在同一个文件里。",
    "The weather is nice today and we are happy.",
    "This is a test sentence that should be translated.",
    "Machine translation evaluation needs references and metrics.",
    "Chinese and English documents are stored in one file.",
    "0123456789 ,.;:!?()[]\"'-",
)

SEED = 1234


def training_lines() -> tuple[str, ...]:
    """``CORPUS`` plus the bundled sample page, so its characters are in every vocabulary.

    Without them the sample would be mostly ``<unk>`` (fused into one token), and
    end-to-end runs would never see a segment long enough to be chunked.
    """
    from importlib.resources import files

    samples = files("evalmt").joinpath("resources", "samples")
    lines = [
        line.strip()
        for entry in sorted(samples.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".txt")
        for line in entry.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return CORPUS + tuple(lines)
D_MODEL = 16


def _chars() -> list[str]:
    """Every distinct character of ``CORPUS``, in first-seen order."""
    seen: dict[str, None] = {}
    for line in training_lines():
        for ch in line:
            if not ch.isspace():
                seen.setdefault(ch, None)
    return list(seen)


def _train_spm(out_dir: Path, name: str, vocab_size: int = 400) -> Path:
    """Train a tiny SentencePiece unigram model on ``CORPUS``; return the model path."""
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    text = out_dir / f"{name}.corpus.txt"
    text.write_text("\n".join(training_lines() * 4) + "\n", encoding="utf-8")
    prefix = out_dir / name
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        pad_id=-1,
        num_threads=1,
        seed_sentencepiece_size=1000,
        minloglevel=2,
    )
    text.unlink()
    Path(f"{prefix}.vocab").unlink()
    return Path(f"{prefix}.model")


def _seed() -> None:
    import torch

    torch.manual_seed(SEED)


def _save(model, tokenizer, out_dir: Path) -> Path:
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def _seq2seq_dims(vocab_size: int, pad: int, eos: int, start: int) -> dict:
    return dict(
        vocab_size=vocab_size,
        d_model=D_MODEL,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=pad,
        eos_token_id=eos,
        decoder_start_token_id=start,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        # Untied output layer: with tied embeddings a random model tends to repeat its last token.
        tie_word_embeddings=False,
    )


def build_marian(out_dir: Path, *, target_codes: tuple[str, ...] = ()) -> Path:
    """A Marian zh→en model with a shared SentencePiece vocabulary (``vocab.json``).

    ``target_codes`` (e.g. ``("eng", "cmn_Hans")``) adds ``>>code<<`` tokens, as in
    Marian models with several target languages.
    """
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out_dir = Path(out_dir)
    work = out_dir / "_spm"
    spm_path = _train_spm(work, "spm")
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_file=str(spm_path))
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(proc.get_piece_size()):
        vocab.setdefault(proc.id_to_piece(i), len(vocab))
    for code in target_codes:
        vocab[f">>{code}<<"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    vocab_file = work / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(spm_path), target_spm=str(spm_path), vocab=str(vocab_file),
        source_lang="zh", target_lang="en", model_max_length=64,
    )
    _seed()
    config = MarianConfig(
        **_seq2seq_dims(len(vocab), vocab["<pad>"], vocab["</s>"], vocab["<pad>"]),
        scale_embedding=True,
    )
    model = MarianMTModel(config)
    _save(model, tokenizer, out_dir)
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return out_dir


#: Language codes the tiny NLLB tokenizer knows (a subset of NLLB-200's 202).
NLLB_CODES = ("eng_Latn", "zho_Hans", "zho_Hant", "fra_Latn", "deu_Latn")


def build_nllb(out_dir: Path) -> Path:
    """An NLLB-style model (M2M100 architecture, ``NllbTokenizer`` with language-code tokens)."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    out_dir = Path(out_dir)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for ch in _chars():
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault("▁" + ch, len(vocab))
    tokenizer = NllbTokenizer(
        vocab=vocab, merges=[], extra_special_tokens=list(NLLB_CODES),
        src_lang="eng_Latn", model_max_length=64,
    )
    _seed()
    size = len(tokenizer)
    config = M2M100Config(**_seq2seq_dims(size, 1, 2, 2), scale_embedding=True)
    model = M2M100ForConditionalGeneration(config)
    return _save(model, tokenizer, out_dir)


def build_m2m100(out_dir: Path) -> Path:
    """An M2M100 model: SentencePiece + ``vocab.json``, ``__zh__``-style language tokens."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    out_dir = Path(out_dir)
    work = out_dir / "_spm"
    spm_path = _train_spm(work, "sentencepiece.bpe")
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_file=str(spm_path))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in range(proc.get_piece_size()):
        vocab.setdefault(proc.id_to_piece(i), len(vocab))
    vocab_file = work / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(vocab_file), spm_file=str(spm_path), src_lang="en", tgt_lang="zh",
        model_max_length=64,
    )
    _seed()
    # Language tokens sit after the SentencePiece vocabulary, followed by 8 "madeup" words.
    size = max(tokenizer.lang_code_to_id.values()) + 1 + tokenizer.num_madeup_words
    config = M2M100Config(**_seq2seq_dims(size, 1, 2, 2), scale_embedding=True)
    model = M2M100ForConditionalGeneration(config)
    _save(model, tokenizer, out_dir)
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return out_dir


def build_mbart50(out_dir: Path) -> Path:
    """An mBART-50-style model (``MBart50Tokenizer`` with ``zh_CN``/``en_XX`` codes)."""
    from transformers import MBart50Tokenizer, MBartConfig, MBartForConditionalGeneration
    from transformers.models.mbart50.tokenization_mbart50 import FAIRSEQ_LANGUAGE_CODES

    out_dir = Path(out_dir)
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    for ch in _chars():
        pieces.append((ch, -3.0))
        pieces.append(("▁" + ch, -3.5))
    pieces += [(code, 0.0) for code in FAIRSEQ_LANGUAGE_CODES]
    pieces.append(("<mask>", 0.0))
    tokenizer = MBart50Tokenizer(vocab=pieces, src_lang="en_XX", model_max_length=64)
    _seed()
    config = MBartConfig(**_seq2seq_dims(len(tokenizer), 1, 2, 2), scale_embedding=True)
    model = MBartForConditionalGeneration(config)
    return _save(model, tokenizer, out_dir)


def build_t5(out_dir: Path) -> Path:
    """A T5 model with MADLAD-400-style ``<2xx>`` target-language tokens."""
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    out_dir = Path(out_dir)
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    for ch in _chars():
        pieces.append((ch, -3.0))
        pieces.append(("▁" + ch, -3.5))
    tokenizer = T5Tokenizer(
        vocab=pieces, extra_ids=0, additional_special_tokens=["<2en>", "<2zh>", "<2fr>"],
        model_max_length=64,
    )
    _seed()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=D_MODEL, d_kv=8, d_ff=32, num_layers=1,
        num_decoder_layers=1, num_heads=2, relative_attention_num_buckets=8,
        dropout_rate=0.0, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        tie_word_embeddings=False,
    )
    model = T5ForConditionalGeneration(config)
    return _save(model, tokenizer, out_dir)


#: ChatML, the template family of Qwen2 instruct models.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_qwen2(out_dir: Path, *, chat_template: bool = True) -> Path:
    """A Qwen2-architecture causal LM with a byte-level BPE tokenizer and a ChatML template.

    No pad token is set (like many instruct models), so the system must pad with EOS.
    """
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    out_dir = Path(out_dir)
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=[], unk_token=None, eos_token="<|im_end|>", pad_token=None,
        model_max_length=1024,
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]}
    )
    if chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    _seed()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=D_MODEL,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        bos_token_id=None,
        pad_token_id=None,
        tie_word_embeddings=False,
    )
    model = Qwen2ForCausalLM(config)
    return _save(model, tokenizer, out_dir)
