#!/usr/bin/env python3
"""The synthetic entropy check along the frontier (Documentation/Entropy.md): reads every WORK/rR_lΛ/entropy.json
written by `FVU=1 RS="8 16 32" scripts/entropy_sweep.sh λ ...` and prints, per r, Ĥ and FVU for each λ, then Ĥ
interpolated at matched FVU levels (linear in FVU between the two runs of that r whose FVU brackets the level;
"—" where no pair brackets it), so BAEs trained on r = 8, 16, 32 fair bits are compared at the same
reconstruction rather than at the same λ.

  python3 scripts/entropy_frontier.py runs/entropy_sweep [--levels 0.05,0.1,0.2,0.3,0.5]
"""

import argparse
import glob
import json
import os
import re
import sys


def load(work: str) -> dict[int, list[tuple[float, float, float]]]:
    """r -> [(λ, fvu, Ĥ)] sorted by λ."""
    out: dict[int, list[tuple[float, float, float]]] = {}
    for path in glob.glob(os.path.join(work, "r*_l*", "entropy.json")):
        m = re.fullmatch(r"r(\d+)_l(.+)", os.path.basename(os.path.dirname(path)))
        if not m:
            continue
        e = json.load(open(path))
        out.setdefault(int(m.group(1)), []).append((float(m.group(2)), float(e["fvu"]), float(e["entropy_bits"])))
    for v in out.values():
        v.sort()
    return out


def at_fvu(points: list[tuple[float, float, float]], level: float) -> float | None:
    """Ĥ at FVU = level, linear between the adjacent-λ pair whose FVUs bracket it (first such pair)."""
    for (_, f0, h0), (_, f1, h1) in zip(points, points[1:]):
        lo, hi = min(f0, f1), max(f0, f1)
        if lo <= level <= hi and hi > lo:
            return h0 + (h1 - h0) * (level - f0) / (f1 - f0)
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("work", help="the WORK directory of scripts/entropy_sweep.sh")
    ap.add_argument("--levels", default="0.05,0.1,0.2,0.3,0.5", help="FVU levels, comma-separated")
    a = ap.parse_args(argv)
    data = load(a.work)
    if not data:
        print(f"entropy_frontier.py: no rR_lΛ/entropy.json under {a.work}", file=sys.stderr)
        return 1
    rs = sorted(data)
    lambdas = sorted({lam for v in data.values() for lam, _, _ in v})
    print("| λ | " + " | ".join(f"r = {r}: Ĥ (FVU)" for r in rs) + " |")
    print("|---|" + "---|" * len(rs))
    for lam in lambdas:
        cells = []
        for r in rs:
            hit = [(f, h) for l2, f, h in data[r] if l2 == lam]
            cells.append(f"{hit[0][1]:.2f} ({hit[0][0]:.3f})" if hit else "—")
        print(f"| {lam:g} | " + " | ".join(cells) + " |")
    levels = [float(x) for x in a.levels.split(",")]
    print()
    print("| FVU | " + " | ".join(f"r = {r}: Ĥ (Ĥ/r)" for r in rs) + " |")
    print("|---|" + "---|" * len(rs))
    for lv in levels:
        cells = []
        for r in rs:
            h = at_fvu(data[r], lv)
            cells.append("—" if h is None else f"{h:.2f} ({h / r:.2f})")
        print(f"| {lv:g} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
