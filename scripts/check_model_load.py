#!/usr/bin/env python3
"""Loads a `bae train` model.safetensors into the reference PyTorch module (strict state_dict load,
spec §9 key names and shapes) and recomputes MSE and the whole-set entropy on a .npy, comparing them
with `bae entropy --json` from the Swift side. Without torch (e.g. in CI's light venv) the same check
runs with a numpy forward and says so.

  python scripts/check_model_load.py --model RUN_DIR --data X.npy --bae .build/release/bae
"""

import argparse
import json
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

EPS = 1e-10


def entropy_bits(p):
    p = np.asarray(p, dtype=np.float64)
    h = -p * np.log2(p + EPS) - (1 - p) * np.log2(1 - p + EPS)
    h[(p <= 0) | (p >= 1)] = 0.0
    return float(h.sum())


def with_torch(state, x, k):
    import torch
    from torch import nn

    class KBitsToFloat(nn.Module):
        def __init__(self, bits):
            super().__init__()
            self.register_buffer("kernel", torch.tensor([2.0**i for i in range(bits)]) / (2**bits - 1))

    class BAE(nn.Module):  # the reference module's layout (spec §9)
        def __init__(self, d, latent, bits):
            super().__init__()
            self.encoder = nn.Linear(d, latent * bits)
            self.decoder = nn.Linear(latent, d)
            self.bits = bits
            if bits > 1:
                self.kb2f = KBitsToFloat(bits)

        def forward(self, x):
            h = (self.encoder(x) > 0).float()
            v = h if self.bits == 1 else (h.view(h.shape[0], -1, self.bits) * self.kb2f.kernel).sum(-1)
            return h, self.decoder(v)

    d = state["encoder.weight"].shape[1]
    latent = state["decoder.weight"].shape[1]
    m = BAE(d, latent, k)
    m.load_state_dict({n: torch.from_numpy(v.copy()) for n, v in state.items()}, strict=True)
    with torch.no_grad():
        h, xhat = m(torch.from_numpy(x))
    return h.numpy(), xhat.numpy(), "torch (strict load_state_dict into the reference module)"


def with_numpy(state, x, k):
    h = ((x @ state["encoder.weight"].T + state["encoder.bias"]) > 0).astype(np.float32)
    v = h if k == 1 else (h.reshape(h.shape[0], -1, k) * state["kb2f.kernel"]).sum(-1)
    return h, v @ state["decoder.weight"].T + state["decoder.bias"], "numpy (torch not installed)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="run or checkpoint directory with model.safetensors")
    ap.add_argument("--data", required=True, help=".npy of rows (n, d)")
    ap.add_argument("--bae", required=True, help="path to the bae binary")
    a = ap.parse_args()
    state = load_file(f"{a.model}/model.safetensors")
    expected = {"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}
    k = 1
    if "kb2f.kernel" in state:
        k = state["kb2f.kernel"].shape[0]
        expected.add("kb2f.kernel")
    assert set(state) == expected, f"keys {sorted(state)} != spec §9 {sorted(expected)}"
    d_lat_k, d = state["encoder.weight"].shape
    assert state["decoder.weight"].shape == (d, d_lat_k // k) and state["encoder.bias"].shape == (d_lat_k,)
    x = np.load(a.data).astype(np.float32)
    try:
        h, xhat, how = with_torch(state, x, k)
    except ImportError:
        h, xhat, how = with_numpy(state, x, k)
    mse = float(((xhat.astype(np.float64) - x) ** 2).mean())
    ent = entropy_bits(h.mean(0))
    swift = json.loads(
        subprocess.run(
            [a.bae, "entropy", "--model", a.model, "--data", a.data, "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(
        f"check_model_load via {how}: mse {mse:.6g} (swift {swift['mse']:.6g}), "
        f"entropy {ent:.4f} bits (swift {swift['entropy_bits']:.4f})"
    )
    ok = abs(mse - swift["mse"]) <= 1e-4 * abs(mse) and abs(ent - swift["entropy_bits"]) <= 1e-3 * max(1, ent)
    if not ok:
        sys.exit("check_model_load: FAIL: the loaded model disagrees with the Swift trainer")
    print("check_model_load: ok")


if __name__ == "__main__":
    main()
