"""Rebuild a GPT-2-style byte-level BPE tokenizer from a GGUF file's vocabulary and merges.

For SmolLM2 (tokenizer.ggml.pre = 'smollm') the pre-tokenizer is: split every digit on its own
(\\p{N}), then the GPT-2 byte-level regex, no prefix space. Control tokens (token_type 3, e.g.
<|endoftext|>, <|im_start|>) are registered as special tokens so they are never split.
"""

from __future__ import annotations

# GGUF tokenizer.ggml.pre values whose pre-tokenizer this module reproduces exactly.
SUPPORTED_PRE = {"smollm": True, "default": False, "gpt2": False}
CONTROL, USER_DEFINED = 3, 4


class TokenizerFormatError(RuntimeError):
    pass


def _strings(reader, key: str) -> list[str]:
    f = reader.fields.get(key)
    if f is None:
        raise TokenizerFormatError(f"GGUF field '{key}' is missing")
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def tokenizer_from_gguf(reader):
    """A `tokenizers.Tokenizer` equivalent to the HF tokenizer the GGUF was converted from."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    model = reader.fields["tokenizer.ggml.model"].contents()
    if model != "gpt2":
        raise TokenizerFormatError(f"tokenizer.ggml.model is '{model}'; only byte-level BPE ('gpt2') is supported")
    pre = reader.fields["tokenizer.ggml.pre"].contents() if "tokenizer.ggml.pre" in reader.fields else "default"
    if pre not in SUPPORTED_PRE:
        raise TokenizerFormatError(
            f"tokenizer.ggml.pre is '{pre}'; supported: {sorted(SUPPORTED_PRE)}. "
            "Use --backend transformers for this model"
        )
    tokens = _strings(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in _strings(reader, "tokenizer.ggml.merges")]
    tt = reader.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]

    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    parts = []
    if SUPPORTED_PRE[pre]:
        parts.append(pre_tokenizers.Digits(individual_digits=True))
    parts.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(parts)
    tok.decoder = decoders.ByteLevel()
    special = [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == CONTROL]
    user = [AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == USER_DEFINED]
    tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)
    return tok


def token_texts(decode_one, vocab_size: int) -> list[str]:
    """Decoded text of every id on its own (partial UTF-8 sequences decode to U+FFFD, as HF does)."""
    return [decode_one(i) for i in range(vocab_size)]
