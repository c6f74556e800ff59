#!/usr/bin/env python3
"""Plot the firing-rate histogram(s) of one or more `bae eval --out DIR` reports.

  .venv/bin/python scripts/plot_eval.py runs/a/eval/eval.json [runs/b/eval/eval.json ...] [--out fig.png]

Writes firing_rates.png beside the first report unless --out is given. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for path in args.reports:
        r = json.loads(path.read_text())
        for key, style in (("rateHistogram", "-"), ("twoSidedHistogram", "--")):
            h = r.get(key)
            if not h:
                continue
            centres = [(a + b) / 2 for a, b in zip(h["edges"], h["edges"][1:])]
            label = f"{r['architecture']} {path.parent.name}" + (" min(p,1-p)" if key == "twoSidedHistogram" else " p")
            ax.step(centres, h["counts"], where="mid", linestyle=style, label=f"{label} (dead {r['dead']})")
    ax.set_xlabel("log10 firing rate")
    ax.set_ylabel("latents / bits")
    ax.set_title("Firing-rate histogram")
    ax.legend(fontsize=7)
    out = args.out or args.reports[0].parent / "firing_rates.png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
