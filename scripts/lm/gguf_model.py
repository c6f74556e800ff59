"""Read a Llama-architecture GGUF file: hyperparameters and dequantised float32 weights.

Weight layout: every matrix is returned as numpy (out_features, in_features), like torch's nn.Linear.
The Q and K projections are kept exactly as stored, i.e. in llama.cpp's row order, which permutes each
head's rows so that RoPE rotates ADJACENT pairs (2i, 2i+1) instead of HF's halves (i, i+64/2). The
numpy forward applies the adjacent-pair rotation, so no un-permutation is needed (q·k is unchanged).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


class GGUFFormatError(RuntimeError):
    pass


@dataclass(frozen=True)
class LlamaConfig:
    n_layers: int
    dim: int
    ffn_dim: int
    n_heads: int
    n_kv_heads: int
    rope_base: float
    rope_dim: int
    norm_eps: float
    vocab_size: int
    context_length: int

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


def _scalar(reader, key: str, required: bool = True):
    field = reader.fields.get(key)
    if field is None:
        if required:
            raise GGUFFormatError(f"GGUF field '{key}' is missing: is this a llama-architecture GGUF?")
        return None
    return field.contents()


class GGUFModel:
    """Opens a GGUF file lazily; weights are dequantised on first use (float32, (out, in))."""

    def __init__(self, path: str):
        import gguf  # local import: keeps `import lm` cheap for tools that never touch a GGUF

        self.path = path
        self.reader = gguf.GGUFReader(path)
        arch = _scalar(self.reader, "general.architecture")
        if arch != "llama":
            raise GGUFFormatError(f"{path}: general.architecture is '{arch}', only 'llama' is supported")
        p = "llama."
        dim = int(_scalar(self.reader, p + "embedding_length"))
        n_heads = int(_scalar(self.reader, p + "attention.head_count"))
        self.config = LlamaConfig(
            n_layers=int(_scalar(self.reader, p + "block_count")),
            dim=dim,
            ffn_dim=int(_scalar(self.reader, p + "feed_forward_length")),
            n_heads=n_heads,
            n_kv_heads=int(_scalar(self.reader, p + "attention.head_count_kv", False) or n_heads),
            rope_base=float(_scalar(self.reader, p + "rope.freq_base", False) or 10000.0),
            rope_dim=int(_scalar(self.reader, p + "rope.dimension_count", False) or dim // n_heads),
            norm_eps=float(_scalar(self.reader, p + "attention.layer_norm_rms_epsilon")),
            vocab_size=len(self.reader.fields["tokenizer.ggml.tokens"].data),
            context_length=int(_scalar(self.reader, p + "context_length", False) or 2048),
        )
        if self.config.rope_dim != self.config.head_dim:
            raise GGUFFormatError(
                f"{path}: partial RoPE (rope.dimension_count {self.config.rope_dim} "
                f"!= head dim {self.config.head_dim}) is not supported"
            )
        self._tensors = {t.name: t for t in self.reader.tensors}
        self._cache: dict[str, np.ndarray] = {}
        self._sha256: str | None = None

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256

    def tensor_types(self) -> dict[str, int]:
        """Count of tensors per GGML type name (e.g. {'Q4_1': 210, 'F32': 61, 'Q8_0': 1})."""
        counts: dict[str, int] = {}
        for t in self._tensors.values():
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
        return counts

    def has(self, name: str) -> bool:
        return name in self._tensors

    def weight(self, name: str) -> np.ndarray:
        """Dequantised float32 tensor; matrices come back (out_features, in_features)."""
        if name not in self._cache:
            from gguf.quants import dequantize

            t = self._tensors.get(name)
            if t is None:
                raise GGUFFormatError(f"{self.path}: tensor '{name}' not found")
            # GGUF shapes list ne0 (the contiguous, input dimension) first; numpy order is the reverse.
            shape = tuple(int(s) for s in reversed(t.shape))
            arr = dequantize(t.data, t.tensor_type)
            self._cache[name] = np.ascontiguousarray(arr, dtype=np.float32).reshape(shape)
        return self._cache[name]

    def lm_head(self) -> np.ndarray:
        """(vocab, dim): output.weight, or the tied token embedding when the file has none."""
        return self.weight("output.weight" if self.has("output.weight") else "token_embd.weight")
