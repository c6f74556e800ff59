"""The adapter: one encode/decode for every architecture `bae train` trains (Documentation/Interop.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

try:  # torch is optional: numpy is the fallback
    import torch
    from torch import nn

    _Base = nn.Module
except ImportError:  # pragma: no cover - depends on the environment
    torch = None
    _Base = object


def _native(run: Path) -> dict:
    """A native run directory: config.json (flat TrainConfig, or a checkpoint's CheckpointInfo) + model.safetensors."""
    cfg = json.loads((run / "config.json").read_text())
    if "config" in cfg and "step" in cfg:
        cfg = cfg["config"]
    t = load_file(str(run / "model.safetensors"))
    arch = cfg.get("architecture", "bae")
    if arch == "bae" and cfg.get("bitsPerFeature", 1) != 1:
        raise ValueError(f"{run}: a multi-bit BAE (k = {cfg['bitsPerFeature']}) has no SAE form")
    out = {
        "architecture": arch,
        "W_enc": t["encoder.weight"].T.copy(),
        "b_enc": t["encoder.bias"].copy(),
        "W_dec": t["decoder.weight"].T.copy(),
        "b_dec": t["decoder.bias"].copy(),
        "k": cfg.get("k", 32),
        "relu": cfg.get("topkReLU", True),
        "threshold": None,
        "scale": None,
    }
    if arch == "jumprelu":
        if "log_threshold" in t:
            out["threshold"] = np.exp(t["log_threshold"].astype(np.float64)).astype(np.float32)
        else:
            out["threshold"] = np.full(out["b_enc"].shape, cfg.get("threshold", 0.5), dtype=np.float32)
    if arch == "batchtopk":
        out["threshold"] = np.full(out["b_enc"].shape, float(t["threshold"][0]), dtype=np.float32)
    return out


def _saelens(folder: Path) -> dict:
    cfg = json.loads((folder / "cfg.json").read_text())
    t = load_file(str(folder / "sae_weights.safetensors"))
    arch = {"standard": "relu", "topk": "topk", "jumprelu": "jumprelu", "binary": "bae"}[cfg["architecture"]]
    return {
        "architecture": arch,
        "W_enc": t["W_enc"],
        "b_enc": t["b_enc"],
        "W_dec": t["W_dec"],
        "b_dec": t["b_dec"],
        "k": cfg.get("k", 32),
        "relu": True,
        "threshold": t.get("threshold"),
        "scale": t.get("activation_scale"),
        "cfg": cfg,
    }


class SAE(_Base):
    """encode / decode / forward for bae, relu, topk, batchtopk (as a threshold) and jumprelu."""

    def __init__(self, p: dict, source: str):
        if torch is not None:
            super().__init__()
        self.architecture = p["architecture"]
        self.k = int(p["k"])
        self.relu = bool(p["relu"])
        self.source = source
        self.cfg = p.get("cfg") or {
            "d_in": int(p["W_enc"].shape[0]),
            "d_sae": int(p["W_enc"].shape[1]),
            "architecture": self.architecture,
        }
        self.d_in, self.d_sae = p["W_enc"].shape
        names = ["W_enc", "b_enc", "W_dec", "b_dec"]
        extra = {"threshold": p["threshold"], "scale": p["scale"]}
        if torch is not None:
            for n in names:
                setattr(self, n, nn.Parameter(torch.from_numpy(np.ascontiguousarray(p[n]))))
            for n, v in extra.items():
                self.register_buffer(n, None if v is None else torch.from_numpy(np.ascontiguousarray(v)))
        else:
            for n in names:
                setattr(self, n, np.ascontiguousarray(p[n], dtype=np.float32))
            for n, v in extra.items():
                setattr(self, n, None if v is None else np.asarray(v, dtype=np.float32))

    @property
    def dtype(self):
        return self.W_enc.dtype

    @property
    def device(self):
        return self.W_enc.device if torch is not None else "cpu"

    def _xp(self, x):
        if torch is not None and isinstance(x, torch.Tensor):
            return torch
        return np

    def _numpy_in_torch(self, fn, x):
        """numpy in, numpy out, when the parameters are torch tensors."""
        with torch.no_grad():
            return fn(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    def encode(self, x):
        if torch is not None and isinstance(x, np.ndarray):
            return self._numpy_in_torch(self.encode, x)
        xp = self._xp(x)
        z = x @ self.W_enc + self.b_enc
        if self.architecture == "bae":
            h = (z > 0) * 1.0
            return h * self.scale if self.scale is not None else h
        if self.architecture == "relu":
            return xp.maximum(z, 0 * z) if xp is np else torch.relu(z)
        if self.architecture == "topk":
            r = (xp.maximum(z, 0 * z) if xp is np else torch.relu(z)) if self.relu else z
            if xp is np:
                # ties to the lower latent index, like the trainer: stable sort of −r
                idx = np.argsort(-r, axis=-1, kind="stable")[..., : self.k]
                mask = np.zeros_like(r, dtype=bool)
                np.put_along_axis(mask, idx, True, axis=-1)
            else:
                idx = torch.topk(r, self.k, dim=-1, sorted=False).indices
                mask = torch.zeros_like(r, dtype=torch.bool).scatter_(-1, idx, True)
            return r * mask
        # jumprelu, and batchtopk at inference: a = z·1[z > θ]
        return z * (z > self.threshold)

    def decode(self, a):
        if torch is not None and isinstance(a, np.ndarray):
            return self._numpy_in_torch(self.decode, a)
        return a @ self.W_dec + self.b_dec

    def forward(self, x):
        if torch is not None and isinstance(x, np.ndarray):
            return self._numpy_in_torch(self.forward, x)
        return self.decode(self.encode(x))

    def __call__(self, x):
        return self.forward(x)


def load(path) -> SAE:
    """A native run directory (config.json + model.safetensors) or a SAELens folder (cfg.json)."""
    path = Path(path)
    if (path / "cfg.json").exists():
        return SAE(_saelens(path), str(path))
    if (path / "config.json").exists():
        return SAE(_native(path), str(path))
    raise FileNotFoundError(f"{path}: neither a bae run (config.json) nor a SAELens folder (cfg.json)")
