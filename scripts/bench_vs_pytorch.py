#!/usr/bin/env python3
"""Same-run comparison of one BAE training step: the official PyTorch step vs `bae bench step`.

Run by hand (not in CI: torch is a large install). The PyTorch side is our own code composing the
official trainer's statement list per batch, exactly (Documentation/Benchmarks.md, issue 10):
  1. optimizer.zero_grad()
  2. x_hat, h = model(x), h = 1[z > 0] with the sign_s backward g·(1 − g)
  3. mse = mean((x_hat − x)²)
  4. H = Σ_j H_b(mean_i h_ij), ε = 1e-10 inside log2
  5. D = Σ|torch.cov(h.T)| − Σ|diag|, computed even when its weight is 0
  6. loss = mse + λ_e·H, then loss += λ_c·D
  7. loss.backward()
  8. Adam.step()
For every (shape, threads) the two are timed alternately in rounds (so load drifts hit both alike) and
the medians and their ratio are printed, with the CPU, torch's ISA level, our kernels' paths and the
binaries used. `--json` writes every number.

With `--reference-dir PATH` (a checkout of github.com/hc495/Binary_Autoencoder kept outside this
repository) the reference's own trainer loop is timed too, in the same rounds, imported from PATH
(scripts/bench_reference_trainer.py): its median should match the statement list's within noise.

  scripts/setup_torch.sh
  .venv-torch/bin/python scripts/bench_vs_pytorch.py --bae .build/release/bae \
      --shape 576,2304,512 --shape 2048,8192,512 --threads 1 --threads 2 [--reference-dir PATH]

Instruction counts of the same two steps (valgrind, not moved by the load): scripts/count_step_instructions.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_reference_trainer import load_reference, time_reference

EPSILON = 1e-10


def torch_step_type():
    """The official step's classes; torch is imported here so that --help works without it."""
    try:
        import torch
        from torch import nn
    except ImportError:
        sys.exit("bench_vs_pytorch: needs torch: run scripts/setup_torch.sh and use .venv-torch/bin/python")

    class SignS(torch.autograd.Function):
        """h = 1[z > 0]; backward g·(1 − g) (the official sign_s straight-through estimator)."""

        @staticmethod
        def forward(ctx, z):
            return (z > 0).to(z.dtype)

        @staticmethod
        def backward(ctx, g):
            return g * (1 - g)

    class BAE(nn.Module):
        def __init__(self, d: int, dl: int):
            super().__init__()
            self.encoder = nn.Linear(d, dl)
            self.decoder = nn.Linear(dl, d)

        def forward(self, x):
            h = SignS.apply(self.encoder(x))
            return self.decoder(h), h

    def entropy(h):
        p = h.mean(dim=0)
        return (-p * torch.log2(p + EPSILON) - (1 - p) * torch.log2(1 - p + EPSILON)).sum()

    def covariance(h):
        c = torch.cov(h.T)
        return c.abs().sum() - torch.diagonal(c).abs().sum()

    class TorchStep:
        """The official step at one shape, on its own model and data (seeded)."""

        def __init__(self, d: int, dl: int, n: int, lam: float):
            torch.manual_seed(0)
            self.model = BAE(d, dl)
            self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-6)
            self.x = torch.randn(n, d)
            self.lam = lam

        def step(self):
            self.opt.zero_grad()  # 1
            x_hat, h = self.model(self.x)  # 2
            mse = ((x_hat - self.x) ** 2).mean()  # 3
            ent = entropy(h)  # 4
            cov = covariance(h)  # 5
            loss = mse + self.lam * ent  # 6
            loss = loss + self.lam * cov
            loss.backward()  # 7
            self.opt.step()  # 8

    return torch, TorchStep


def time_torch(torch, step_type, d, dl, n, lam, threads, repeats):
    torch.set_num_threads(threads)
    s = step_type(d, dl, n, lam)
    s.step()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        s.step()
        out.append(time.perf_counter() - t)
    return out


def run_ours(bae, d, dl, n, lam, threads, repeats):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    cmd = [
        str(bae), "bench", "step", "--dim", str(d), "--latent", str(dl), "--rows", str(n),
        "--threads", str(threads), "--repeats", str(repeats), "--lambda", str(lam), "--json",
    ]  # fmt: skip
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        sys.exit(f"bench_vs_pytorch: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bae", type=Path, default=Path(".build/release/bae"), help="the bae binary to time")
    ap.add_argument("--shape", action="append", help="d,d',n (repeatable; default 576,2304,512)")
    ap.add_argument("--threads", type=int, action="append", help="thread counts (repeatable; default 1 and 2)")
    ap.add_argument("--lambda", dest="lam", type=float, default=1e-7, help="λ_e = λ_c (default 1e-7)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per point (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="timed steps per round and side (default 3)")
    ap.add_argument("--json", type=Path, help="also write every number here")
    ap.add_argument(
        "--reference-dir", type=Path,
        help="also time the reference's own trainer, imported from this checkout of hc495/Binary_Autoencoder",
    )  # fmt: skip
    a = ap.parse_args()
    if not a.bae.is_file():
        sys.exit(f"bench_vs_pytorch: no bae binary at {a.bae}: build it (swift build -c release) or pass --bae")
    shapes = [tuple(int(v) for v in s.split(",")) for s in (a.shape or ["576,2304,512"])]
    if any(len(s) != 3 or min(s) <= 0 for s in shapes):
        sys.exit("bench_vs_pytorch: --shape takes three positive integers d,d',n (e.g. 576,2304,512)")
    threads = a.threads or [1, 2]
    torch, step_type = torch_step_type()
    reference = load_reference(a.reference_dir) if a.reference_dir else None

    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "cpu": cpu_model(),
        "load_average": os.getloadavg(),
        "torch": torch.__version__,
        "torch_path": str(Path(torch.__file__).parent),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": sys.executable,
        "bae": str(a.bae.resolve()),
        "lambda": a.lam,
        "reference_dir": str(a.reference_dir.resolve()) if reference else None,
    }
    print(
        f"cpu {meta['cpu']}  load {meta['load_average'][0]:.1f}  torch {meta['torch']} "
        f"({meta['torch_cpu_capability']}) at {meta['torch_path']}\nbae {meta['bae']}"
    )
    rows = []
    for d, dl, n in shapes:
        for t in threads:
            torch_s, ref_s, ours_ms, ours_core_ms, shares, last = [], [], [], [], [], None
            for _ in range(a.rounds):
                torch_s += time_torch(torch, step_type, d, dl, n, a.lam, t, a.repeats)
                if reference:
                    ref_s += time_reference(torch, reference, d, dl, n, a.lam, t, a.repeats)
                last = run_ours(a.bae, d, dl, n, a.lam, t, a.repeats)
                ours_ms.append(last["stepMsWithRegularizer"])
                ours_core_ms.append(last["stepMsNoRegularizer"])
                shares.append(last["covarianceShare"])  # one per round: the median is quoted
            tm = statistics.median(torch_s) * 1e3
            om = statistics.median(ours_ms)
            row = {
                "d": d, "latent": dl, "rows": n, "threads": t,
                "torch_ms": tm, "ours_ms": om, "ours_core_ms": statistics.median(ours_core_ms),
                "ratio": tm / om, "covariance_share": statistics.median(shares), "covariance_shares": shares,
                "dense_core_efficiency": last["denseCoreEfficiency"], "sgemm_gflops": last["sgemmGflops"],
                "kernel_paths": last["kernelPaths"], "blas_core": last["blasCore"],
            }  # fmt: skip
            if reference:
                row["reference_trainer_ms"] = statistics.median(ref_s) * 1e3
                row["reference_over_statements"] = row["reference_trainer_ms"] / tm
                print(
                    f"d={d} d'={dl} n={n} T={t}: reference trainer {row['reference_trainer_ms']:8.1f} ms  "
                    f"= {row['reference_over_statements']:.3f} x the statement list",
                    flush=True,
                )
            rows.append(row)
            print(
                f"d={d} d'={dl} n={n} T={t}: PyTorch {tm:8.1f} ms  ours {om:8.1f} ms  ratio {tm / om:5.2f}x  "
                f"(ours: covariance {100 * row['covariance_share']:.1f} % of step (median of "
                f"{', '.join(f'{100 * s:.1f}' for s in shares)}), dense core at "
                f"{row['dense_core_efficiency']:.2f} of sgemm {row['sgemm_gflops']:.0f} GFLOP/s, "
                f"BLAS {row['blas_core']}, kernels {row['kernel_paths']})",
                flush=True,
            )
    if a.json:
        a.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
