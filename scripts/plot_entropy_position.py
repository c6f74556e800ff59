#!/usr/bin/env python3
"""Plot the entropy-vs-position curve written by `bae entropy-position` (entropy_vs_position.json).

  .venv-lm/bin/python scripts/plot_entropy_position.py RUN/entropy_vs_position.json [--out FILE.png]

One point per trained position bucket at the bucket's geometric middle (log x axis), Ĥ in bits on
the left axis; the bucket's reconstruction FVU as a dashed line on the right axis. Skipped buckets are
listed in the title. Needs matplotlib (`.venv-lm/bin/pip install matplotlib`; scripts/run_main.sh
installs it when BAE_MAIN_POSITION=1). Prints the PNG path.
"""

import argparse
import json
import math
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--out", help="PNG path (default: next to the JSON, entropy_vs_position.png)")
    a = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_entropy_position.py: matplotlib is missing; run `.venv-lm/bin/pip install matplotlib`")
    with open(a.json) as f:
        r = json.load(f)
    pts = [b for b in r["buckets"] if b.get("entropyBits") is not None]
    if not pts:
        sys.exit(f"plot_entropy_position.py: {a.json} has no trained bucket")
    skipped = [b["label"] for b in r["buckets"] if b.get("entropyBits") is None]

    def middle(b):
        lo = max(b["lowerPosition"], 0.5)
        hi = b.get("upperPosition") or 2 * max(b["lowerPosition"], 1)
        return math.sqrt(lo * max(hi - 1, lo))

    xs = [middle(b) for b in pts]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, [b["entropyBits"] for b in pts], "o-", color="C0", label="Ĥ (bits)")
    for x, b in zip(xs, pts):
        ax.annotate(
            b["label"],
            (x, b["entropyBits"]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=7,
            color="0.35",
        )
    ax.set_xscale("log")
    ax.set_xlabel("token position (bucket, log scale)")
    ax.set_ylabel("Ĥ of the bucket's hidden states (bits)")
    fvu = [(x, b["fvu"]) for x, b in zip(xs, pts) if b.get("fvu") is not None]
    if fvu:
        ax2 = ax.twinx()
        ax2.plot([p[0] for p in fvu], [p[1] for p in fvu], "s--", color="C1", alpha=0.7, label="FVU")
        ax2.set_ylabel("reconstruction FVU", color="C1")
    n = pts[0]["evalRows"]
    title = f"Entropy vs position: d'={r['latentDim']}, λ_e={r['entropyWeight']:g}, Ĥ on {n} rows per bucket"
    if skipped:
        title += f"\n(skipped, too few rows: {', '.join(skipped)})"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.json)), "entropy_vs_position.png")
    fig.savefig(out, dpi=120)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
