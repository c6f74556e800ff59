#!/usr/bin/env python3
"""Plot the training curves of one or more `bae train` runs from their metrics.jsonl.

  .venv-plot/bin/python scripts/plot_training.py RUN [RUN ...] [--labels a,b] [--out fig.png] [--smooth 1]

RUN is a `bae train --out` directory or its metrics.jsonl. One figure, one line per run (a sweep's runs
go in one figure): loss, MSE, FVU, Ĥ of the minibatch code, L0, dense, dead and near-constant code
units; validation points (lines with "validation") are drawn as markers on the MSE/FVU panels. Writes
training.png beside the first run unless --out is given; prints the path. Needs matplotlib and numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path):
    f = path / "metrics.jsonl" if path.is_dir() else path
    steps, val = [], []
    with open(f) as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                print(f"plot_training.py: {f}:{n}: not JSON, skipped (a torn last line?)", file=sys.stderr)
                continue
            if "validation" in r:
                val.append(r)
            elif "loss" in r:
                steps.append(r)
    if not steps:
        sys.exit(f"plot_training.py: {f} holds no step records")
    return f, steps, val


def smooth(y, w: int):
    import numpy as np

    if w <= 1 or len(y) < w:
        return y
    k = np.ones(w) / w
    return np.convolve(y, k, mode="valid").tolist()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--labels", help="comma-separated, one per run (default: directory names)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--smooth", type=int, default=1, help="moving-average window in logged steps")
    a = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_training.py: matplotlib is missing; run scripts/setup.sh --plot or pip install matplotlib")
    labels = a.labels.split(",") if a.labels else None
    if labels and len(labels) != len(a.runs):
        sys.exit(f"plot_training.py: --labels has {len(labels)} entries for {len(a.runs)} runs")
    runs = [load(p) for p in a.runs]
    panels = [
        ("loss", "loss"),
        ("mse", "MSE (element mean)"),
        ("fvu", "FVU"),
        ("entropy", "Ĥ of the minibatch code (bits)"),
        ("l0", "L0 (active code units per row)"),
        ("denseBits", "dense code units (p > 0.5)"),
        ("deadBits", "dead code units"),
        ("nearConstantBits", "near-constant code units"),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for i, (f, steps, val) in enumerate(runs):
        name = labels[i] if labels else (f.parent.name or str(f))
        x = [r["step"] for r in steps]
        for ax, (key, title) in zip(axes.flat, panels):
            y = [r.get(key) for r in steps]
            if any(v is None for v in y):
                continue
            ys = smooth(y, a.smooth)
            ax.plot(x[len(x) - len(ys) :], ys, lw=1.2, label=name)
            ax.set_title(title, fontsize=10)
            if key in ("loss", "mse", "fvu") and min(y) > 0:
                ax.set_yscale("log")
            if key in ("mse", "fvu") and val:
                vx = [r["step"] for r in val]
                vy = [r["validation"].get(key) for r in val]
                if all(v is not None for v in vy):
                    ax.plot(vx, vy, "o", ms=4, color=ax.lines[-1].get_color(), alpha=0.8)
    for ax in axes.flat:
        ax.set_xlabel("step", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"training curves: {len(runs)} run(s); markers = validation", fontsize=11)
    fig.tight_layout()
    out = a.out or runs[0][0].parent / "training.png"
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
