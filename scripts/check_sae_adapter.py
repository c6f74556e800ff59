#!/usr/bin/env python3
"""CI check of the Python adapter (scripts/bae_sae): for a native run and its SAELens export, the
adapter's MSE and L0 on held-out rows match `bae eval --json` on the same rows, and the export's
reconstructions equal the native model's (the flipped-bit transform of a BAE is exact).

  .venv/bin/python scripts/check_sae_adapter.py --run RUN --export DIR --data X.npy --last-rows N --bae BIN
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bae_sae import load  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--export", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--last-rows", type=int, required=True)
    ap.add_argument("--bae", required=True)
    a = ap.parse_args()
    x = np.load(a.data).astype(np.float32)[-a.last_rows :]
    ref = json.loads(
        subprocess.run(
            [a.bae, "eval", "--model", a.run, "--data", a.data, "--last-rows", str(a.last_rows), "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    native, exported = load(a.run), load(a.export)
    ok = True
    for name, sae in (("native", native), ("saelens", exported)):
        codes = np.asarray(sae.encode(x), dtype=np.float64)
        xhat = np.asarray(sae.decode(codes.astype(np.float32)), dtype=np.float64)
        mse = float(np.mean((xhat - x) ** 2))
        l0 = float(np.mean(np.sum(codes != 0, axis=1)))
        rel = abs(mse - ref["mse"]) / max(ref["mse"], 1e-30)
        if ref["architecture"] == "bae" and name == "saelens":
            # flipped bits: L0 of the SAE form is Σ min(p, 1 − p) over the bits
            print(
                f"{name}: mse {mse:.6g} (bae eval {ref['mse']:.6g}, rel {rel:.2e}), L0 {l0:.3f} (≤ bae eval {ref['l0']:.3f})"
            )
            ok &= rel < 1e-4 and l0 <= ref["l0"] + 1e-9
        else:
            print(
                f"{name}: mse {mse:.6g} (bae eval {ref['mse']:.6g}, rel {rel:.2e}), L0 {l0:.3f} (bae eval {ref['l0']:.3f})"
            )
            ok &= rel < 1e-4 and abs(l0 - ref["l0"]) < 1e-6 * max(1.0, ref["l0"])
    same = np.max(np.abs(np.asarray(native(x)) - np.asarray(exported(x))))
    scale = np.max(np.abs(np.asarray(native(x))))
    print(f"native vs export reconstruction: max|Δ| {same:.3g} (max|x̂| {scale:.3g})")
    ok &= same <= 1e-5 * max(scale, 1.0)
    print("adapter check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
