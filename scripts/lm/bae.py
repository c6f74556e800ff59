"""A trained BAE checkpoint (model.safetensors) as a numpy reconstruction function.

Keys: encoder.weight (d'·k, d), encoder.bias (d'·k), decoder.weight (d, d'), decoder.bias (d), and for
the multi-bit variant kb2f.kernel (k). Bits of latent j are encoder outputs j·k … j·k+k−1,
little-endian: v_j = Σ_i b_{j·k+i} · kernel[i], where kernel[i] = 2^i / (2^k − 1) when trained as specified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import safetensors_io


class BAEFormatError(RuntimeError):
    pass


@dataclass
class BAE:
    w_enc: np.ndarray  # (d'·k, d)
    b_enc: np.ndarray  # (d'·k,)
    w_dec: np.ndarray  # (d, d')
    b_dec: np.ndarray  # (d,)
    kernel: np.ndarray  # (k,)  k = 1 → [1.0]

    @property
    def input_dim(self) -> int:
        return self.w_dec.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.w_dec.shape[1]

    @property
    def bits(self) -> int:
        return self.kernel.shape[0]

    @staticmethod
    def load(path: str) -> BAE:
        t, _ = safetensors_io.load(path)
        need = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
        missing = [k for k in need if k not in t]
        if missing:
            raise BAEFormatError(
                f"{path}: missing tensors {missing} (found {sorted(t)}); is this a BAE model.safetensors?"
            )
        f = lambda k: t[k].astype(np.float32)  # noqa: E731
        kernel = f("kb2f.kernel").reshape(-1) if "kb2f.kernel" in t else np.ones(1, np.float32)
        m = BAE(f("encoder.weight"), f("encoder.bias"), f("decoder.weight"), f("decoder.bias"), kernel)
        d, dl, k = m.input_dim, m.latent_dim, m.bits
        checks = [
            ("encoder.weight", m.w_enc.shape, (dl * k, d)),
            ("encoder.bias", m.b_enc.shape, (dl * k,)),
            ("decoder.bias", m.b_dec.shape, (d,)),
        ]
        for name, got, want in checks:
            if tuple(got) != want:
                raise BAEFormatError(
                    f"{path}: {name} has shape {tuple(got)}, expected {want} "
                    f"(decoder.weight {tuple(m.w_dec.shape)}, bits {k})"
                )
        return m

    def encode(self, x: np.ndarray) -> np.ndarray:
        # x: (n, d)  z = x·W_encᵀ + b_enc: (n, d'·k)  → bits (n, d'·k) uint8
        return (x @ self.w_enc.T + self.b_enc > 0).astype(np.uint8)

    def values(self, bits: np.ndarray) -> np.ndarray:
        # bits: (n, d'·k) → v: (n, d') = Σ_i b_{·,i} kernel[i] within each group of k
        n = bits.shape[0]
        return bits.reshape(n, self.latent_dim, self.bits).astype(np.float32) @ self.kernel

    def decode(self, v: np.ndarray) -> np.ndarray:
        # v: (n, d')  x̂ = v·W_decᵀ + b_dec: (n, d)
        return v @ self.w_dec.T + self.b_dec

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.values(self.encode(x)))


def random_bae(d: int, latent: int, bits: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Tensors of a randomly initialised BAE (nn.Linear-style uniform init) for tests."""
    rng = np.random.default_rng(seed)
    u = lambda shape, fan: rng.uniform(-1 / np.sqrt(fan), 1 / np.sqrt(fan), shape).astype(np.float32)  # noqa: E731
    t = {
        "encoder.weight": u((latent * bits, d), d),
        "encoder.bias": u((latent * bits,), d),
        "decoder.weight": u((d, latent), latent),
        "decoder.bias": u((d,), latent),
    }
    if bits > 1:
        t["kb2f.kernel"] = (2.0 ** np.arange(bits) / (2**bits - 1)).astype(np.float32)
    return t
