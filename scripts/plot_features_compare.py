#!/usr/bin/env python3
"""Plot a feature comparison written by `bae features-compare` (compare.json) into compare.png.

  python scripts/plot_features_compare.py OUT/compare.json [--out FILE.png]

Three panels, one colour per report: interpretable features (count and % of all features), the judge
score distribution (judged features per score bin, as a fraction of the judged), and the mean judge
score with its bootstrap confidence interval. Needs matplotlib and numpy. Prints the PNG path.
"""

import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--out")
    a = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        sys.exit("plot_features_compare.py: matplotlib/numpy missing; pip install matplotlib numpy")
    with open(a.json) as f:
        c = json.load(f)
    es = c["entries"]
    if not es:
        sys.exit(f"plot_features_compare.py: {a.json} has no entries")
    names = [e["label"] for e in es]
    colors = [f"C{i}" for i in range(len(es))]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))

    ax = axes[0]
    bars = ax.bar(names, [e["interpretable"] for e in es], color=colors)
    for b, e in zip(bars, es):
        ax.annotate(
            f"{100 * e['interpretableFraction']:.0f} %",
            (b.get_x() + b.get_width() / 2, b.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_title("interpretable features (≥ 6 samples)", fontsize=10)
    ax.set_ylabel("features")

    ax = axes[1]
    bins = ["0–.2", ".2–.4", ".4–.6", ".6–.8", ".8–1"]
    w = 0.8 / len(es)
    for i, e in enumerate(es):
        h = np.array(e["scoreHistogram"] if len(e["scoreHistogram"]) == 5 else [0] * 5, dtype=float)
        frac = h / h.sum() if h.sum() > 0 else h
        ax.bar(
            np.arange(5) + (i - (len(es) - 1) / 2) * w,
            frac,
            w,
            color=colors[i],
            label=f"{e['label']} ({e['judged']} judged)",
        )
    ax.set_xticks(range(5))
    ax.set_xticklabels(bins)
    ax.set_xlabel("judge score (fraction of test samples judged Yes)")
    ax.set_ylabel("fraction of judged features")
    ax.set_title("score distribution", fontsize=10)
    ax.legend(fontsize=7)

    ax = axes[2]
    for i, e in enumerate(es):
        if e.get("meanScore") is None:
            continue
        ci = e.get("meanScoreCI") or [e["meanScore"], e["meanScore"]]
        ax.errorbar(
            [i],
            [e["meanScore"]],
            yerr=[[e["meanScore"] - ci[0]], [ci[1] - e["meanScore"]]],
            fmt="o",
            color=colors[i],
            capsize=6,
            ms=7,
        )
    ax.set_xticks(range(len(es)))
    ax.set_xticklabels(names)
    ax.set_xlim(-0.5, len(es) - 0.5)
    ax.set_ylim(0, 1)
    ax.set_title(
        f"mean score, {int(100 * c['confidence'])} % bootstrap CI ({c['bootstrapSamples']} resamples)", fontsize=10
    )
    for ax in axes:
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, axis="y")
    judge = next((e.get("judgeModel") for e in es if e.get("judgeModel")), None)
    fig.suptitle("ComSem comparison" + (f" (judge: {judge})" if judge else " (no judge: scores empty)"), fontsize=11)
    fig.tight_layout()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.json)), "compare.png")
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
