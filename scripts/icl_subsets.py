#!/usr/bin/env python3
"""How much the ICL curve depends on which queries were drawn: Ĥ per k on random subsets of the queries.

  python scripts/icl_subsets.py RUN/icl/icl.centered.json [--fraction 0.75] [--subsets 50] [--seed 0]

For every BAE trained by `icl_entropy.py --train-seeds` (and its sets, centered ones with --center) and
every k, Ĥ = Σ_j H_b(p_j) over `--subsets` random subsets of round(fraction·N) queries, the SAME query
subset for every k (so a subset is a smaller replicate of the experiment). Prints, per k, the mean and the
standard deviation of Ĥ over subsets and seeds, and how often each k's Ĥ is the largest and the ordering
k=2 > k=8 holds. Needs numpy only.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from icl_entropy import binary_entropy_bits  # noqa: E402

from lm.bae import BAE  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--fraction", type=float, default=0.75)
    ap.add_argument("--subsets", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with open(a.json) as f:
        r = json.load(f)
    t = r.get("trained_on_states")
    if not t or not t["runs"]:
        sys.exit(f"icl_subsets.py: {a.json} has no BAEs trained on the states (--train-seeds)")
    ks = [x["shots"] for x in r["results"]]
    sets = {x["shots"]: np.load(x.get("npy_trained", x["npy"])) for x in r["results"]}
    n = min(len(s) for s in sets.values())
    m = max(2, round(a.fraction * n))
    rng = np.random.default_rng(a.seed)
    picks = [rng.choice(n, m, replace=False) for _ in range(a.subsets)]
    h = {k: [] for k in ks}
    top = {k: 0 for k in ks}
    order = 0
    for run in t["runs"]:
        bae = BAE.load(os.path.join(run["model"], "model.safetensors"))
        codes = {k: bae.encode(sets[k]) for k in ks}
        for p in picks:
            vals = {k: binary_entropy_bits(codes[k][p].mean(axis=0)) for k in ks}
            for k in ks:
                h[k].append(vals[k])
            top[max(ks, key=lambda k: vals[k])] += 1
            order += int(2 in vals and 8 in vals and vals[2] > vals[8])
    total = len(t["runs"]) * a.subsets
    print(f"{len(t['runs'])} BAEs x {a.subsets} subsets of {m} of {n} queries")
    print("| k | Ĥ mean | sd over subsets and seeds | largest in |")
    print("|---|---|---|---|")
    for k in ks:
        print(f"| {k} | {np.mean(h[k]):.1f} | {np.std(h[k], ddof=1):.1f} | {top[k]} / {total} |")
    if 2 in ks and 8 in ks:
        print(f"Ĥ(k=2) > Ĥ(k=8) in {order} / {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
