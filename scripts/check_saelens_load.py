#!/usr/bin/env python3
"""Manual check (needs torch and sae-lens; not in CI): SAELens's own loader reads `bae export --format saelens`
folders of every architecture (a BAE through scripts/bae_sae/saelens.py's registered "binary" class) and
reconstructs held-out rows as `bae eval` does: MSE within 1e-5 relative,
L0 within 1e-3 (a BAE's flipped-bit L0 is printed, not compared).

  PY scripts/check_saelens_load.py --bae BIN --data X.npy --last-rows N RUN=EXPORT [RUN=EXPORT ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bae_sae.saelens  # noqa: E402, F401  (registers "binary")
from sae_lens import SAE  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bae", required=True, help="the bae binary")
    ap.add_argument("--data", required=True, help=".npy of held-out rows")
    ap.add_argument("--last-rows", type=int, required=True, help="evaluate the last N rows")
    ap.add_argument("pairs", nargs="+", help="RUN=EXPORT: a bae run directory and its SAELens folder")
    a = ap.parse_args()
    x = torch.from_numpy(np.load(a.data).astype(np.float32)[-a.last_rows :])
    worst = 0.0
    for pair in a.pairs:
        run, export = pair.split("=", 1)
        ref = json.loads(
            subprocess.run(
                [a.bae, "eval", "--model", run, "--data", a.data, "--last-rows", str(a.last_rows), "--json"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        sae = SAE.load_from_disk(export)
        with torch.no_grad():
            acts = sae.encode(x)
            xhat = sae.decode(acts)
        mse = float(((xhat.double() - x.double()) ** 2).mean())
        l0 = float((acts != 0).double().sum(-1).mean())
        arch = json.loads((Path(export) / "cfg.json").read_text())["architecture"]
        # a BAE's export counts flipped bits (L0 ≈ Σ min(p, 1 − p)), not the native code's ones: not compared
        ref_l0 = float("nan") if arch == "binary" else ref["l0"]
        rel = abs(mse - ref["mse"]) / max(ref["mse"], 1e-30)
        worst = max(worst, rel)
        print(
            f"{export}: SAELens class {type(sae).__name__} ({arch}); MSE {mse:.6g} vs bae eval {ref['mse']:.6g} "
            f"(rel {rel:.1e}); L0 {l0:.3f} vs {ref_l0:.3f}"
        )
        if rel > 1e-5 or (arch != "binary" and abs(l0 - ref_l0) > 1e-3):
            print(f"  {export}: SAELens's reconstruction differs from bae eval's", file=sys.stderr)
            return 1
    print(f"SAELens loaded {len(a.pairs)} exports; worst MSE deviation {worst:.1e} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
