#!/usr/bin/env python3
"""Runs the PyTorch statement-list step (bench_vs_pytorch.py's own) under callgrind, one dump per step.

Not run directly: scripts/count_step_instructions.sh starts it as
  valgrind --tool=callgrind --instr-atstart=no python callgrind_torch_step.py --marks LIB.so ...
Each step is wrapped in LIB.so's mark_begin / mark_end (scripts/callgrind_marks.c), so the dumps hold the
steps alone: not the interpreter's start-up, torch's import or the model's construction. With
`--reference-dir PATH` the reference repository's own trainer loop is counted instead (one dump per
iteration of its loop, from one `optimizer.step()` return to the next).
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

from bench_vs_pytorch import torch_step_type


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--marks", type=Path, required=True, help="the built callgrind_marks.c shared library")
    ap.add_argument("--shape", required=True, help="d,d',n")
    ap.add_argument("--steps", type=int, default=2, help="marked steps after one unmarked warm-up (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--lambda", dest="lam", type=float, default=1e-7, help="λ_e = λ_c (default 1e-7)")
    ap.add_argument("--reference-dir", type=Path, help="count the reference's own trainer loop from this checkout")
    a = ap.parse_args()
    d, dl, n = (int(v) for v in a.shape.split(","))
    marks = ctypes.CDLL(str(a.marks))
    torch, step_type = torch_step_type()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__} cpu capability {torch.backends.cpu.get_cpu_capability()}", file=sys.stderr)
    if a.reference_dir:
        count_reference(torch, marks, a, d, dl, n)
        return
    s = step_type(d, dl, n, a.lam)
    s.step()  # warm-up, not counted
    for _ in range(a.steps):
        marks.mark_begin()
        s.step()
        marks.mark_end()


def count_reference(torch, marks, a, d, dl, n):
    """One dump per reference trainer iteration: marks at each optimizer.step() return."""
    from bench_reference_trainer import load_reference, run_reference

    reference = load_reference(a.reference_dir)
    done = [0]

    def after_step():
        if done[0] > 0:
            marks.mark_end()
        done[0] += 1
        if done[0] <= a.steps:
            marks.mark_begin()

    run_reference(torch, reference, d, dl, n, a.lam, a.threads, a.steps + 1, after_step)


if __name__ == "__main__":
    main()
