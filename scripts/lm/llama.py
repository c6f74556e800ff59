"""Llama forward pass in numpy (float32), from dequantised GGUF weights.

Layer convention (the same as Hugging Face's `output_hidden_states=True`):
  hidden(ℓ = 0)        the token embeddings
  hidden(1 ≤ ℓ < L)    the residual stream after ℓ decoder blocks (= output of block ℓ−1, 0-based)
  hidden(ℓ = L)        the output of the last block AFTER the final RMSNorm (HF applies the norm there)
with L = n_layers (30 for SmolLM2-135M). Only blocks 0..ℓ−1 are computed.

Several documents are run as one packed sequence: the linear layers see all rows at once (big GEMMs),
attention is computed per segment with its own causal mask and positions restarting at 0, so each
segment's states equal those of running it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .gguf_model import GGUFModel


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    # x: (T, d)  w: (d,)   x / sqrt(mean(x²) + eps) · w
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


class NumpyLlama:
    def __init__(self, model: GGUFModel, max_positions: int = 8192):
        self.model = model
        self.cfg = model.config
        hd = self.cfg.head_dim
        # RoPE on adjacent pairs (llama.cpp's layout of the GGUF Q/K rows): pair i rotates by pos·θ_i.
        inv_freq = self.cfg.rope_base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)  # (hd/2,)
        ang = np.arange(max_positions, dtype=np.float64)[:, None] * inv_freq[None, :]  # (P, hd/2)
        self.cos = np.cos(ang).astype(np.float32)
        self.sin = np.sin(ang).astype(np.float32)

    # -- weights ---------------------------------------------------------------------------------
    def _w(self, name: str) -> np.ndarray:
        return self.model.weight(name)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self._w("token_embd.weight")[ids]  # (T, d)

    # -- blocks ----------------------------------------------------------------------------------
    def _rope(self, x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        # x: (T, heads, hd)  pos: (T,)
        T, H, hd = x.shape
        xp = x.reshape(T, H, hd // 2, 2)
        c = self.cos[pos][:, None, :]  # (T, 1, hd/2)
        s = self.sin[pos][:, None, :]
        out = np.empty_like(xp)
        out[..., 0] = xp[..., 0] * c - xp[..., 1] * s
        out[..., 1] = xp[..., 0] * s + xp[..., 1] * c
        return out.reshape(T, H, hd)

    def _attention(self, q, k, v, segments):
        # q: (T, H, hd)  k, v: (T, KV, hd)  → (T, H·hd); query head h uses kv head h // (H/KV)
        T, H, hd = q.shape
        KV = k.shape[1]
        G = H // KV
        out = np.empty((T, H, hd), dtype=np.float32)
        scale = np.float32(1.0 / np.sqrt(hd))
        for a, b in segments:
            n = b - a
            qs = q[a:b].reshape(n, KV, G, hd).transpose(1, 2, 0, 3).reshape(KV, G * n, hd)
            ks = k[a:b].transpose(1, 2, 0)  # (KV, hd, n)
            vs = v[a:b].transpose(1, 0, 2)  # (KV, n, hd)
            sc = (qs @ ks) * scale  # (KV, G·n, n)
            sc = sc.reshape(KV, G, n, n)
            sc[..., np.triu(np.ones((n, n), dtype=bool), 1)] = -np.inf
            sc -= sc.max(axis=-1, keepdims=True)
            np.exp(sc, out=sc)
            sc /= sc.sum(axis=-1, keepdims=True)
            o = sc.reshape(KV, G * n, n) @ vs  # (KV, G·n, hd)
            out[a:b] = o.reshape(KV, G, n, hd).transpose(2, 0, 1, 3).reshape(n, H, hd)
        return out.reshape(T, H * hd)

    def block(self, i: int, x: np.ndarray, pos: np.ndarray, segments) -> np.ndarray:
        c = self.cfg
        p = f"blk.{i}."
        T = x.shape[0]
        h = rms_norm(x, self._w(p + "attn_norm.weight"), c.norm_eps)
        q = (h @ self._w(p + "attn_q.weight").T).reshape(T, c.n_heads, c.head_dim)
        k = (h @ self._w(p + "attn_k.weight").T).reshape(T, c.n_kv_heads, c.head_dim)
        v = (h @ self._w(p + "attn_v.weight").T).reshape(T, c.n_kv_heads, c.head_dim)
        a = self._attention(self._rope(q, pos), self._rope(k, pos), v, segments)
        x = x + a @ self._w(p + "attn_output.weight").T
        h = rms_norm(x, self._w(p + "ffn_norm.weight"), c.norm_eps)
        g = h @ self._w(p + "ffn_gate.weight").T  # (T, ffn)
        u = h @ self._w(p + "ffn_up.weight").T
        g *= 1.0 / (1.0 + np.exp(-g))  # SiLU
        return x + (g * u) @ self._w(p + "ffn_down.weight").T

    # -- public ----------------------------------------------------------------------------------
    def prepare(self, layer: int) -> None:
        """Dequantise the weights of blocks 0..layer−1 now (so timing excludes it)."""
        names = ["token_embd.weight"] + [
            f"blk.{i}.{w}.weight"
            for i in range(min(layer, self.cfg.n_layers))
            for w in (
                "attn_norm",
                "attn_q",
                "attn_k",
                "attn_v",
                "attn_output",
                "ffn_norm",
                "ffn_gate",
                "ffn_up",
                "ffn_down",
            )
        ]
        for n in names:
            self._w(n)

    @staticmethod
    def pack(docs: Sequence[Sequence[int]]):
        """Concatenate token lists: (ids (T,), positions (T,), segments [(start, end)])."""
        ids = np.concatenate([np.asarray(d, dtype=np.int64) for d in docs])
        pos = np.concatenate([np.arange(len(d)) for d in docs])
        ends = np.cumsum([len(d) for d in docs])
        segments = list(zip([0, *ends[:-1]], ends))
        return ids, pos, segments

    def hidden(self, docs: Sequence[Sequence[int]], layer: int) -> np.ndarray:
        """(Σ len(doc), d) float32 states at `layer` (see the module docstring for the convention)."""
        if not 0 <= layer <= self.cfg.n_layers:
            raise ValueError(f"layer {layer} outside 0..{self.cfg.n_layers}")
        ids, pos, segments = self.pack(docs)
        x = self.embed(ids)
        for i in range(layer):
            x = self.block(i, x, pos, segments)
        if layer == self.cfg.n_layers:
            x = rms_norm(x, self._w("output_norm.weight"), self.cfg.norm_eps)
        return x

    def logits(
        self,
        docs: Sequence[Sequence[int]],
        splice_layer: int | None = None,
        splice: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """(T, vocab) next-token logits; if `splice` is given, the residual stream after
        `splice_layer` blocks (0 ≤ splice_layer < L) is replaced by splice(x) for every row."""
        layer = splice_layer if splice is not None else 0
        x = self.hidden(docs, layer)
        if splice is not None:
            x = np.asarray(splice(x), dtype=np.float32)
        return self.logits_from(docs, x, layer)

    def logits_from(self, docs: Sequence[Sequence[int]], x: np.ndarray, layer: int) -> np.ndarray:
        """(T, vocab) logits when `x` (T, d) is the residual stream after `layer` blocks of `docs`."""
        if not 0 <= layer < self.cfg.n_layers:
            raise ValueError(f"layer {layer} outside 0..{self.cfg.n_layers - 1} (a residual stream between blocks)")
        _, pos, segments = self.pack(docs)
        for i in range(layer, self.cfg.n_layers):
            x = self.block(i, x, pos, segments)
        x = rms_norm(x, self._w("output_norm.weight"), self.cfg.norm_eps)
        return x @ self.model.lm_head().T
