#!/usr/bin/env python3
"""Plot the entropy-vs-position curve written by `bae entropy-position` (entropy_vs_position.json).

  python scripts/plot_entropy_position.py RUN/seed0/entropy_vs_position.json [RUN/seed1/... ...]
      [--out FILE.png] [--table FILE.md]

One JSON per seed (same data, buckets and settings): one point per trained position bucket at the
bucket's geometric middle (log x axis), the mean Ĥ over the seeds with ± one standard deviation as error
bars (left axis), the mean reconstruction FVU dashed (right axis). Skipped buckets are listed in the
title. Also prints a Markdown table (bucket, rows, steps, epochs, eval rows, Ĥ mean ± std, FVU) and
writes it with --table. Needs matplotlib and numpy. Prints the PNG path last.
"""

import argparse
import json
import math
import os
import sys


def middle(b):
    lo = max(b["lowerPosition"], 0.5)
    hi = b.get("upperPosition") or 2 * max(b["lowerPosition"], 1)
    return math.sqrt(lo * max(hi - 1, lo))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", help="PNG path (default: next to the first JSON, entropy_vs_position.png)")
    ap.add_argument("--table", help="also write the Markdown table here")
    a = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        sys.exit("plot_entropy_position.py: matplotlib/numpy missing; pip install matplotlib numpy")
    runs = []
    for p in a.json:
        with open(p) as f:
            runs.append(json.load(f))
    labels = [b["label"] for b in runs[0]["buckets"]]
    if any([b["label"] for b in r["buckets"]] != labels for r in runs):
        sys.exit("plot_entropy_position.py: the JSONs have different buckets; pass runs of the same data and settings")
    trained = [
        i for i, b in enumerate(runs[0]["buckets"]) if all(r["buckets"][i].get("entropyBits") is not None for r in runs)
    ]
    if not trained:
        sys.exit(f"plot_entropy_position.py: {a.json[0]} has no trained bucket")
    skipped = [labels[i] for i in range(len(labels)) if i not in trained]
    h = np.array([[r["buckets"][i]["entropyBits"] for i in trained] for r in runs])  # (seeds, buckets)
    fvu = np.array([[r["buckets"][i].get("fvu") or np.nan for i in trained] for r in runs])
    mean, std = h.mean(axis=0), (h.std(axis=0, ddof=1) if len(runs) > 1 else np.zeros(len(trained)))
    b0 = [runs[0]["buckets"][i] for i in trained]
    xs = [middle(b) for b in b0]

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ax.errorbar(
        xs, mean, yerr=std, fmt="o-", color="C0", capsize=4, label=f"Ĥ (bits), mean ± sd over {len(runs)} seed(s)"
    )
    for x, b, m in zip(xs, b0, mean):
        ax.annotate(
            b["label"], (x, m), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7, color="0.35"
        )
    ax.set_xscale("log")
    ax.set_xlabel("token position (bucket, log scale)")
    ax.set_ylabel("Ĥ of the bucket's hidden states (bits)")
    if not np.all(np.isnan(fvu)):
        ax2 = ax.twinx()
        ax2.plot(xs, np.nanmean(fvu, axis=0), "s--", color="C1", alpha=0.7, label="FVU")
        ax2.set_ylabel("reconstruction FVU (mean)", color="C1")
    ax.legend(fontsize=8, loc="lower right")
    r0 = runs[0]
    title = (
        f"Entropy vs position: d'={r0['latentDim']}, λ_e={r0['entropyWeight']:g}, {r0.get('steps', '?')} steps of "
        f"{r0['bucketBatch']} rows per bucket, Ĥ on {b0[0]['evalRows']} rows per bucket"
    )
    if skipped:
        title += f"\n(skipped, too few rows: {', '.join(skipped)})"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.json[0])), "entropy_vs_position.png")
    fig.savefig(out, dpi=120)

    lines = [
        "| positions | rows | steps | epochs | eval rows | Ĥ bits (mean ± sd) | per seed | FVU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for j, i in enumerate(trained):
        b = runs[0]["buckets"][i]
        ep = b.get("epochs")
        lines.append(
            f"| {b['label']} | {b['rows']} | {b['steps']} | {ep:.1f} | {b['evalRows']} | {mean[j]:.1f} ± {std[j]:.1f} | "
            + ", ".join(f"{v:.1f}" for v in h[:, j])
            + f" | {np.nanmean(fvu[:, j]):.3f} |"
            if ep is not None
            else f"| {b['label']} | {b['rows']} | {b['steps']} | - | {b['evalRows']} | {mean[j]:.1f} ± {std[j]:.1f} | "
            + ", ".join(f"{v:.1f}" for v in h[:, j])
            + f" | {np.nanmean(fvu[:, j]):.3f} |"
        )
    for s in skipped:
        lines.append(f"| {s} | {next(b['rows'] for b in r0['buckets'] if b['label'] == s)} | skipped | | | | | |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.table:
        with open(a.table, "w") as f:
            f.write(table)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
