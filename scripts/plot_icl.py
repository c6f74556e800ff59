#!/usr/bin/env python3
"""Plot the in-context-learning curve written by scripts/icl_entropy.py (icl.json).

  python scripts/plot_icl.py RUN/icl/icl.json [--out FILE.png]

Ĥ of the final ":" token's states (bits) against the number of demonstrations k: mean ± sd over the
BAEs trained on the states (--train-seeds), and/or under a BAE trained elsewhere (--model); the LM's
restricted accuracy on another axis when it was measured (--accuracy). Needs matplotlib. Prints the
PNG path.
"""

import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--out", help="PNG path (default: icl.png next to the JSON)")
    a = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_icl.py: matplotlib is missing; run `.venv-lm/bin/pip install matplotlib`")
    with open(a.json) as f:
        r = json.load(f)
    res = r["results"]
    if not res:
        sys.exit(f"plot_icl.py: {a.json} has no results")
    ks = [x["shots"] for x in res]
    fig, ax = plt.subplots(figsize=(7, 4.3))
    handles = []
    if all("entropy_bits_mean" in x for x in res):
        t = r["trained_on_states"]
        handles.append(
            ax.errorbar(
                ks,
                [x["entropy_bits_mean"] for x in res],
                yerr=[x["entropy_bits_std"] for x in res],
                fmt="o-",
                color="C0",
                capsize=4,
                label=f"Ĥ, BAE trained on the ':' states (d'={t['latent_dim']}, mean ± sd, {len(t['seeds'])} seeds)",
            )
        )
    if all("external" in x for x in res):
        ax_e = ax.twinx() if handles else ax
        (h,) = ax_e.plot(
            ks,
            [x["external"]["entropy_bits"] for x in res],
            "^:",
            color="C3",
            alpha=0.8,
            label="Ĥ, BAE trained on Wikipedia tokens" + (" (right axis)" if ax_e is not ax else ""),
        )
        handles.append(h)
        if ax_e is not ax:
            ax_e.set_ylabel("Ĥ under the token-trained BAE (bits)", color="C3")
    ax.set_xlabel("demonstrations k")
    ax.set_ylabel("Ĥ of the final ':' states (bits)")
    ax.set_xticks(ks)
    if all("accuracy" in x for x in res):
        ax2 = ax.twinx()
        ax2.spines["right"].set_position(("axes", 1.12 if any("external" in x for x in res) and handles else 1.0))
        (h,) = ax2.plot(ks, [x["accuracy"] for x in res], "s--", color="C2", alpha=0.8, label="restricted accuracy")
        handles.append(h)
        ax2.axhline(1 / len(r["topics"]), color="0.6", lw=0.8, ls=":")
        ax2.set_ylabel(f"accuracy over {len(r['topics'])} topics (dotted: chance)", color="C2")
        ax2.set_ylim(0, 1)
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_title(f"In-context learning: layer {r['layer']}, {res[0]['rows']} queries per k", fontsize=9)
    fig.tight_layout()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.json)), "icl.png")
    fig.savefig(out, dpi=120)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
