#!/usr/bin/env python3
"""Collect and plot the frontier written by scripts/frontier.sh: for every RUN/POINT with eval.json (and, for a
BAE, entropy.json), one record in RUN/frontier.jsonl, a Markdown table on stdout, and RUN/frontier.png with
FVU (held-out) against dense units, against dead units, against L0 and against the code entropy, one colour per
kind.

Definitions (Documentation/Results.md): dense = min(p, 1 − p) > 0.1 for a BAE bit, p > 0.1 for an SAE latent;
dead = a BAE bit constant over the held-out rows (p ∈ {0, 1}), an SAE latent that never fires; L0 of a BAE is
Σ_j min(p_j, 1 − p_j), the L0 of its flipped-bit SAE form (the raw L0 Σ p_j is in the table too);
entropy = Σ_j H_b(p_j) (`codeEntropyBits`, Ĥ for a BAE).

  .venv-plot/bin/python scripts/plot_frontier.py runs/frontier [--out runs/frontier/frontier.png]
"""

import argparse
import json
import os
import sys

KINDS = ["bae", "bae-norm", "topk", "batchtopk", "relu", "jumprelu"]
STYLE = {
    "bae": ("tab:red", "o", "BAE, raw input (λ_e = λ_c)"),
    "bae-norm": ("tab:purple", "D", "BAE, centred input (λ_e = λ_c)"),
    "topk": ("tab:blue", "s", "TopK (k)"),
    "batchtopk": ("tab:cyan", "^", "BatchTopK (k)"),
    "relu": ("tab:green", "v", "ReLU + L1 (λ)"),
    "jumprelu": ("tab:orange", "P", "JumpReLU (θ)"),
}


def kind_value(point: str) -> tuple[str, str]:
    """'bae-norm-1e-5' -> ('bae-norm', '1e-5'): the longest known kind that prefixes the name."""
    for kind in sorted(KINDS, key=len, reverse=True):
        if point.startswith(kind + "-"):
            return kind, point[len(kind) + 1 :]
    return "", ""


def collect(root: str) -> list[dict]:
    """One record per finished point (eval.json present), sorted by kind then knob value."""
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        ev_path = os.path.join(d, "eval.json")
        if not os.path.isfile(ev_path):
            continue
        kind, value = kind_value(name)
        if kind not in KINDS:
            continue
        ev = json.load(open(ev_path))
        is_bae = ev["architecture"] == "bae"
        rec = {
            "point": name,
            "kind": kind,
            "knob": float(value),
            "rows": ev["rows"],
            "fvu": ev["fvu"],
            "mse": ev["mse"],
            "cosine": ev["meanCosine"],
            "l0_raw": ev["l0"],
            "entropy_bits": ev["codeEntropyBits"],
            "dense": (ev["denseTwoSided"] if is_bae else ev["dense"])["0.1"],
            "dense_p_gt_0.1": ev["dense"]["0.1"],
            "dead": ev["constant"] if is_bae else ev["dead"],
            "units": ev["codeUnits"],
        }
        rec["l0"] = rec["l0_raw"]
        ent_path = os.path.join(d, "entropy.json")
        if is_bae and os.path.isfile(ent_path):
            rates = json.load(open(ent_path))["rates"]
            rec["l0"] = sum(min(p, 1.0 - p) for p in rates)
        pj = os.path.join(d, "point.json")
        if os.path.isfile(pj):
            rec["train_seconds"] = json.load(open(pj)).get("train_seconds")
        out.append(rec)
    out.sort(key=lambda r: (KINDS.index(r["kind"]), r["knob"]))
    return out


def table(recs: list[dict]) -> str:
    lines = [
        "| point | FVU | cos | dense | dead | L0 (flipped) | L0 (raw) | Ĥ / Σ H_b (bits) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in recs:
        lines.append(
            f"| {r['point']} | {r['fvu']:.4f} | {r['cosine']:.3f} | {r['dense']} | {r['dead']} | {r['l0']:.1f} |"
            f" {r['l0_raw']:.1f} | {r['entropy_bits']:.0f} |"
        )
    return "\n".join(lines)


def plot(recs: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    panels = [
        ("dense", "dense units (BAE: min(p,1−p) > 0.1; SAE: p > 0.1)", "symlog"),
        ("dead", "dead units (BAE: constant bit; SAE: never fires)", "symlog"),
        ("l0", "L0 (BAE: Σ min(p, 1−p), flipped-bit form)", "log"),
        ("entropy_bits", "code entropy Σ H_b(p_j), bits (BAE: Ĥ)", "log"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    for ax, (key, label, xscale) in zip(axes.flat, panels):
        for kind in KINDS:
            rs = [r for r in recs if r["kind"] == kind]
            if not rs:
                continue
            color, marker, name = STYLE[kind]
            xs = [r[key] for r in rs]
            ys = [r["fvu"] for r in rs]
            ax.plot(xs, ys, marker=marker, color=color, label=name, linewidth=1, markersize=6)
            for r in rs:
                ax.annotate(f"{r['knob']:g}", (r[key], r["fvu"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        if xscale == "symlog":
            ax.set_xscale("symlog", linthresh=1)
        else:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.2g"))
        ax.set_xlabel(label, fontsize=9)
        ax.set_ylabel("FVU (held-out rows)", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("SmolLM2-135M layer 15, d' = 2304: FVU against density, dead units, L0 and entropy", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=72)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("root", help="the FRONTIER_OUT directory of scripts/frontier.sh")
    ap.add_argument("--out", default=None, help="PNG path (default ROOT/frontier.png)")
    a = ap.parse_args(argv)
    recs = collect(a.root)
    if not recs:
        print(f"plot_frontier.py: no finished points (POINT/eval.json) under {a.root}", file=sys.stderr)
        return 1
    with open(os.path.join(a.root, "frontier.jsonl"), "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    print(table(recs))
    png = a.out or os.path.join(a.root, "frontier.png")
    plot(recs, png)
    print(f"\nwrote {png} and {os.path.join(a.root, 'frontier.jsonl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
