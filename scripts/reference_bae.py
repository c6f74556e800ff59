#!/usr/bin/env python3
"""Independent PyTorch reference for the Binary Autoencoder (math: Documentation/Method.md).

Writes the JSON fixtures in Tests/BAEModelTests/Fixtures that the Swift model is tested against:
forward values, per-term gradients at the code h, total parameter gradients, and a 10-step Adam
trajectory. Gradients come from torch autograd through a custom straight-through Function (as in the
paper's official code), then are cross-checked against the spec's closed forms, a float64 manual
backward in numpy, torch.autograd.gradcheck on a continuous relaxation, and a float64 re-run of the
trajectory. Any disagreement raises; nothing is written unless every check passes.

  scripts/setup_torch.sh && .venv-torch/bin/python scripts/reference_bae.py --out Tests/BAEModelTests/Fixtures
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

EPSILON = 1e-10  # inside the entropy logs (spec §3)
COVARIANCE_SNAP = 1e-9  # |C| below this is an exact zero: binary codes make C a multiple of 1/(n(n-1))
Z_MARGIN = 1e-3  # no pre-activation closer to 0 than this at any evaluated point, so no bit can flip
THRESHOLD_MARGIN = 1e-2  # |H - threshold| at least this whenever a non-zero threshold is in play
ADAM_STEPS = 10


# ---------------------------------------------------------------------------------------------- model


class Binarize(torch.autograd.Function):
    """h = 1[z > 0]; backward applies the chosen estimator to the upstream gradient g = dL/dh."""

    @staticmethod
    def forward(ctx, z, estimator):
        ctx.estimator = estimator
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.estimator == "sign_s":  # the paper's x*(1-x) with x = the upstream gradient itself
            return g - g * g, None
        if ctx.estimator == "sign":  # plain straight-through
            return g, None
        raise ValueError(f"unknown estimator {ctx.estimator!r}")


class BAE(nn.Module):
    """Encoder d -> d'k (bias), binarise, k bits -> one value in [0,1] per feature, decoder d' -> d (bias)."""

    def __init__(self, input_dim: int, latent_dim: int, bits: int):
        super().__init__()
        self.latent_dim, self.bits = latent_dim, bits
        self.encoder = nn.Linear(input_dim, latent_dim * bits)
        self.decoder = nn.Linear(latent_dim, input_dim)
        # little-endian within a group: v = sum_i b_i 2^i / (2^k - 1); computed in the parameter dtype
        self.register_buffer("kernel", torch.tensor([2.0**i for i in range(bits)]) / (2**bits - 1))

    def forward(self, x, estimator):
        z = self.encoder(x)  # (n, d'k)
        h = Binarize.apply(z, estimator)  # (n, d'k) in {0,1}
        v = (h.view(x.shape[0], self.latent_dim, self.bits) * self.kernel).sum(-1)  # (n, d')
        xhat = self.decoder(v)  # (n, d)
        return z, h, v, xhat


def entropy_term(h, eps=EPSILON):
    """H = sum_j H_b(p_j), p = column means of h; returns (H, p). Works on relaxed (continuous) h too."""
    p = h.mean(0)
    return (-p * torch.log2(p + eps) - (1 - p) * torch.log2(1 - p + eps)).sum(), p


def covariance_term(h):
    """D = sum_{j != k} |C_jk|, C the unbiased covariance of the columns of h, computed in float64.

    Entries below COVARIANCE_SNAP become exact zeros (torch.where passes no gradient to them, which is
    the spec's sign(0) = 0); without the snap a true zero computed as +-1e-17 would get sign +-1.
    """
    hd = h.double()
    n = hd.shape[0]
    hc = hd - hd.mean(0, keepdim=True)
    c = hc.T @ hc / (n - 1)
    c = torch.where(c.abs() < COVARIANCE_SNAP, torch.zeros_like(c), c)
    off_diagonal = 1 - torch.eye(c.shape[0], dtype=c.dtype)
    return (c.abs() * off_diagonal).sum()


# --------------------------------------------------------------------------------------------- config


@dataclass
class Config:
    inputDim: int
    latentDim: int
    bitsPerFeature: int
    rows: int
    estimator: str
    entropyWeight: float
    covarianceWeight: float
    entropyStartStep: int
    entropyThreshold: float
    lr: float
    adamSteps: int = ADAM_STEPS
    epsilon: float = EPSILON


@dataclass
class Case:
    name: str
    config: Config
    seed: int
    input_scale: float = 2.0
    mean_scale: float = 0.5  # mean offset relative to input_scale; larger gives always-on/off bits
    # "below_initial": threshold set just under the step-0 entropy, so the term is applied at first and
    # dropped once the entropy falls below it (resolved after drawing the data; see resolve_threshold).
    threshold_rule: str | None = None


def cases() -> list[Case]:
    le, lc = 2e-2, 5e-2
    return [
        Case("k1_signs_plain", Config(8, 16, 1, 70, "sign_s", 0.0, 0.0, 0, 0.0, 5e-3), seed=101),
        Case("k1_sign_plain", Config(7, 20, 1, 70, "sign", 0.0, 0.0, 0, 0.0, 5e-3), seed=202),
        Case("k1_signs_entropy", Config(8, 16, 1, 70, "sign_s", le, 0.0, 0, 0.0, 5e-3), seed=303, mean_scale=1.5),
        Case("k1_signs_covariance", Config(6, 16, 1, 70, "sign_s", 0.0, lc, 0, 0.0, 5e-3), seed=404),
        Case("k1_signs_both", Config(8, 24, 1, 70, "sign_s", le, lc, 0, 0.0, 5e-3), seed=505, mean_scale=1.5),
        Case("k1_sign_both_n64", Config(8, 16, 1, 64, "sign", le, lc, 0, 0.0, 5e-3), seed=606),
        Case("k1_signs_both_start4", Config(7, 16, 1, 70, "sign_s", le, lc, 4, 0.0, 5e-3), seed=707),
        Case(
            "k1_signs_threshold",
            Config(8, 16, 1, 70, "sign_s", le, lc, 0, 0.0, 5e-3),
            seed=808,
            threshold_rule="below_initial",
        ),
        Case("k2_signs_both", Config(6, 16, 2, 70, "sign_s", le, lc, 0, 0.0, 5e-3), seed=909),
        Case("k2_sign_plain", Config(8, 16, 2, 70, "sign", 0.0, 0.0, 0, 0.0, 5e-4), seed=1010),
    ]


# ------------------------------------------------------------------------------------------- training


def loss_terms(model, x, cfg: Config, step: int):
    """Forward pass and the loss at optimizer step `step` (0-based). Returns a dict of tensors."""
    z, h, v, xhat = model(x, cfg.estimator)
    mse = ((xhat - x) ** 2).mean()
    entropy, p = entropy_term(h)
    covariance = covariance_term(h)
    applied = step >= cfg.entropyStartStep and entropy.item() >= cfg.entropyThreshold
    loss = mse
    if applied and cfg.entropyWeight != 0:
        loss = loss + cfg.entropyWeight * entropy
    if cfg.covarianceWeight != 0:
        loss = loss + (cfg.covarianceWeight * covariance).to(x.dtype)
    return dict(
        z=z, h=h, v=v, xhat=xhat, mse=mse, entropy=entropy, p=p, covariance=covariance, loss=loss, applied=applied
    )


def params(model):
    return [model.encoder.weight, model.encoder.bias, model.decoder.weight, model.decoder.bias]


PARAM_NAMES = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]


def train(model, x, cfg: Config):
    """10 full-batch Adam steps; returns the per-step record and the codes/pre-activations seen."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    record = dict(losses=[], mses=[], entropies=[], covariances=[], entropyApplied=[], codes=[], zs=[])
    for step in range(cfg.adamSteps):
        t = loss_terms(model, x, cfg, step)
        record["losses"].append(t["loss"].item())
        record["mses"].append(t["mse"].item())
        record["entropies"].append(t["entropy"].item())
        record["covariances"].append(t["covariance"].item())
        record["entropyApplied"].append(bool(t["applied"]))
        record["codes"].append(t["h"].detach().clone())
        record["zs"].append(t["z"].detach().clone())
        opt.zero_grad(set_to_none=True)
        t["loss"].backward()
        opt.step()
    with torch.no_grad():  # the 11th evaluated point: the parameters after the last update
        z, h, _, _ = model(x, cfg.estimator)
        record["codes"].append(h.clone())
        record["zs"].append(z.clone())
    return record


# ------------------------------------------------------------------------------------------ the draws


class InputDistribution:
    """Gaussian rows with structure: a mean offset, a rank-d/2 correlated part and isotropic noise."""

    def __init__(self, gen, d, scale, mean_scale):
        rank = max(2, d // 2)
        self.gen, self.scale, self.rank = gen, scale, rank
        self.mean = torch.randn(d, generator=gen) * mean_scale * scale
        self.mixing = torch.randn(rank, d, generator=gen) * scale / math.sqrt(rank)

    def rows(self, count):
        c = torch.randn(count, self.rank, generator=self.gen)
        noise = torch.randn(count, self.mixing.shape[1], generator=self.gen)
        return self.mean + c @ self.mixing + 0.3 * self.scale * noise


def fresh_model(cfg: Config, weight_seed: int):
    torch.manual_seed(weight_seed)  # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    return BAE(cfg.inputDim, cfg.latentDim, cfg.bitsPerFeature)


def trajectory_margins(cfg, state, x):
    model = fresh_model(cfg, 0)
    model.load_state_dict(state)
    rec = train(model, x, cfg)
    zs = torch.stack(rec["zs"])  # (11, n, d'k)
    bad_rows = (zs.abs() < Z_MARGIN).any(dim=2).any(dim=0)  # (n,)
    return rec, zs.abs().min().item(), bad_rows


def resolve_threshold(case: Case, cfg: Config, state, x):
    """For the threshold case: a threshold just under the step-0 entropy (midway to the next lower
    entropy seen in an unthresholded run), so the term is applied first and dropped after H falls."""
    if case.threshold_rule is None:
        return cfg
    probe = Config(**{**asdict(cfg), "entropyThreshold": 0.0})
    model = fresh_model(cfg, 0)
    model.load_state_dict(state)
    h0 = train(model, x, probe)["entropies"]
    lower = sorted({e for e in h0 if e < h0[0] - 2 * THRESHOLD_MARGIN}, reverse=True)
    if not lower:
        return None
    return Config(**{**asdict(cfg), "entropyThreshold": short_float32((h0[0] + lower[0]) / 2)})


def draw_case(case: Case):
    """Draw x and the initial weights so that every |z| at all 11 evaluated points is >= Z_MARGIN.

    Rows of x that come too close to a decision boundary are redrawn from the same distribution and
    the whole trajectory is re-run; after 30 such rounds the weights and distribution are redrawn.
    """
    cfg = case.config
    for attempt in range(50):
        gen = torch.Generator().manual_seed(case.seed * 1000 + attempt)
        dist = InputDistribution(gen, cfg.inputDim, case.input_scale, case.mean_scale)
        x = dist.rows(cfg.rows)
        state = {k: v.clone() for k, v in fresh_model(cfg, case.seed * 1000 + attempt).state_dict().items()}
        for _ in range(30):
            run_cfg = resolve_threshold(case, cfg, state, x)
            if run_cfg is None:
                break
            rec, min_abs_z, bad_rows = trajectory_margins(run_cfg, state, x)
            threshold_ok = True
            if run_cfg.entropyThreshold != 0.0:
                gaps = [abs(e - run_cfg.entropyThreshold) for e in rec["entropies"]]
                applied = rec["entropyApplied"]
                threshold_ok = min(gaps) >= THRESHOLD_MARGIN and any(applied) and not all(applied)
            if not bad_rows.any() and threshold_ok:
                return run_cfg, x, state, rec, min_abs_z, attempt
            if not bad_rows.any():
                break  # the threshold pattern is uninformative: new weights
            idx = bad_rows.nonzero().flatten()
            x = x.clone()
            x[idx] = dist.rows(len(idx))
    raise SystemExit(f"{case.name}: no draw kept every |z| >= {Z_MARGIN} in 50 attempts")


# ---------------------------------------------------------------------------------- one case, recorded


def grads_at(model, x, cfg: Config, step: int = 0):
    """Values and gradients at the given parameters: per-term dL/dh, total g, dL/dz and parameter grads."""
    t = loss_terms(model, x, cfg, step)
    h, z = t["h"], t["z"]
    (g_mse,) = torch.autograd.grad(t["mse"], h, retain_graph=True)
    (g_ent,) = torch.autograd.grad(t["entropy"], h, retain_graph=True)
    (g_cov,) = torch.autograd.grad(t["covariance"], h, retain_graph=True)
    g_all = torch.autograd.grad(t["loss"], [h, z] + params(model))
    return t, dict(mse=g_mse, entropy=g_ent, covariance=g_cov, total=g_all[0], z=g_all[1], params=list(g_all[2:]))


def short_float32(v) -> float:
    """The shortest decimal that reads back (via Double, then Float) as the same float32.

    Exact for float32 data and about half the size of the float64 repr of the same value; every
    value is verified to round-trip before it is returned.
    """
    f = np.float32(v)
    out = float(str(f))  # numpy prints the shortest float32 round-trip string
    if np.float32(out) != f and not (np.isnan(f) and np.isnan(out)):
        raise SystemExit(f"float32 {f!r} does not round-trip through {out!r}")
    return out


def scalar_json(t):
    """float32 scalars as short float32 decimals, float64 (the covariance D) with full float64 repr."""
    return short_float32(t.item()) if t.dtype == torch.float32 else float(t.item())


def tensor_json(t):
    t = t.detach()
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": [short_float32(v) for v in t.flatten().tolist()]}


def code_stats(h):
    """How much of the special-case machinery a code matrix exercises: bits with p in {0, 1} (the
    epsilon path of H'), off-diagonal exact zeros of C, and zeros the snap had to clean up."""
    hd = h.double()
    n = hd.shape[0]
    hc = hd - hd.mean(0, keepdim=True)
    c = hc.T @ hc / (n - 1)
    off = ~torch.eye(c.shape[0], dtype=torch.bool)
    p = hd.mean(0)
    return {
        "constantBits": int(((p == 0) | (p == 1)).sum()),
        "zeroCovariancePairs": int(((c.abs() < COVARIANCE_SNAP) & off).sum()),
        "snappedCovariancePairs": int(((c.abs() < COVARIANCE_SNAP) & (c != 0) & off).sum()),
    }


def relative_norm(a, b):
    return (a.norm() / b.norm()).item() if b.norm() > 0 else 0.0


def max_rel(a, b):
    """max |a - b| / max |b| (0 if b is all zero and a equals it)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.abs(b).max()
    diff = np.abs(a - b).max()
    return diff / scale if scale > 0 else diff


def build_case(case: Case, checks: dict):
    cfg, x, state, rec, min_abs_z, attempt = draw_case(case)
    model = fresh_model(cfg, 0)
    model.load_state_dict(state)
    t, g = grads_at(model, x, cfg, step=0)
    le = cfg.entropyWeight if t["applied"] else 0.0
    g_total = g["total"]
    weighted = dict(mse=g["mse"], entropy=le * g["entropy"], covariance=cfg.covarianceWeight * g["covariance"])

    # the reference trajectory (float32); a re-run must reproduce the draw's run bit for bit, and its
    # first point must be the step-0 values above
    traj_model = fresh_model(cfg, 0)
    traj_model.load_state_dict(state)
    rec2 = train(traj_model, x, cfg)
    if rec2["losses"] != rec["losses"] or rec2["losses"][0] != t["loss"].item():
        raise SystemExit(f"CHECK FAILED: {case.name}: float32 trajectory is not reproducible")

    # cross-checks (each raises on failure)
    check_closed_forms(case.name, cfg, t, g, checks)
    check_manual_backward(case.name, cfg, x, state, t, g, checks)
    check_total_is_sum(case.name, g_total, weighted, checks)
    check_float64_trajectory(case.name, cfg, x, state, rec, traj_model, checks)

    contributions = {k: relative_norm(w, g_total) for k, w in weighted.items()}
    contributions["estimatorCorrection"] = relative_norm(g["z"] - g_total, g_total)
    out = {
        "case": case.name,
        "config": asdict(cfg),
        "seed": case.seed * 1000 + attempt,
        "minAbsZ": min_abs_z,
        "entropyApplied": rec["entropyApplied"],
        "entropyThresholdMargin": min(abs(e - cfg.entropyThreshold) for e in rec["entropies"]),
        "gradHContribution": contributions,
        "codeStats": {
            "initial": code_stats(rec["codes"][0]),
            "final": code_stats(rec["codes"][-1]),
            "bitsChangedOverTrajectory": int((rec["codes"][0] != rec["codes"][-1]).sum()),
        },
        "x": tensor_json(x),
    }
    for name in PARAM_NAMES:
        out[name] = tensor_json(state[name])
    out["z"] = tensor_json(t["z"])
    out["h"] = tensor_json(t["h"])
    if cfg.bitsPerFeature > 1:
        out["v"] = tensor_json(t["v"])
    out["xhat"] = tensor_json(t["xhat"])
    for key in ("loss", "mse", "entropy", "covariance"):
        out[key] = scalar_json(t[key])
    out["p"] = tensor_json(t["p"])
    for name, gp in zip(PARAM_NAMES, g["params"]):
        out["grad." + name] = tensor_json(gp)
    out["grad_h.mse"] = tensor_json(g["mse"])
    out["grad_h.entropy"] = tensor_json(g["entropy"])
    out["grad_h.covariance"] = tensor_json(g["covariance"])
    out["grad_h.total"] = tensor_json(g_total)
    out["grad_z"] = tensor_json(g["z"])
    for key in ("losses", "mses", "entropies"):
        out[key] = [short_float32(v) for v in rec[key]]
    out["covariances"] = rec["covariances"]  # float64, like "covariance"
    for name, p in zip(PARAM_NAMES, params(traj_model)):
        out["final." + name] = tensor_json(p)
    return out


# ------------------------------------------------------------------------------------------ the checks


def record(checks, name, value, limit):
    checks.setdefault(name, []).append((value, limit))
    if not (value <= limit):
        raise SystemExit(f"CHECK FAILED: {name} = {value:.3e} exceeds {limit:.1e}")


def h_prime(p, eps=EPSILON):
    """dH_b/dp from the spec, float64."""
    ln2 = math.log(2)
    return -(np.log2(p + eps) + p / ((p + eps) * ln2) - np.log2(1 - p + eps) - (1 - p) / ((1 - p + eps) * ln2))


def covariance_grad_closed_form(h):
    """dD/dH = 2/(n-1) Hc S with S = sign(C), zero diagonal, sign(0) = 0; float64 numpy."""
    n = h.shape[0]
    hc = h - h.mean(0, keepdims=True)
    c = hc.T @ hc / (n - 1)
    s = np.sign(np.where(np.abs(c) < COVARIANCE_SNAP, 0.0, c))
    np.fill_diagonal(s, 0.0)
    return 2.0 / (n - 1) * hc @ s


def check_closed_forms(name, cfg, t, g, checks):
    h = t["h"].detach().double().numpy()
    n = h.shape[0]
    p = h.mean(0)
    dh_entropy = np.broadcast_to(h_prime(p) / n, h.shape)
    record(checks, "closed form dH/dh vs autograd (float32), max rel", max_rel(g["entropy"].numpy(), dh_entropy), 1e-5)
    dh_cov = covariance_grad_closed_form(h)
    record(checks, "closed form dD/dh vs autograd, max rel", max_rel(g["covariance"].numpy(), dh_cov), 1e-5)
    # C from popcounts (the spec's integer route) equals the float covariance exactly after snapping
    hb = h.astype(np.int64)
    n11 = hb.T @ hb
    counts = hb.sum(0)
    c_int = (n11 - np.outer(counts, counts) / n) / (n - 1)
    hc = h - p
    c_float = hc.T @ hc / (n - 1)
    record(checks, "popcount C vs float C, max abs", np.abs(c_int - c_float).max(), 1e-12)


def check_manual_backward(name, cfg, x, state, t, g, checks):
    """The spec's manual backward (§2, §3, §5) in float64 numpy vs torch autograd in float32."""
    X = x.double().numpy()
    We, be, Wd, bd = (state[k].double().numpy() for k in PARAM_NAMES)
    n, d = X.shape
    k, dp = cfg.bitsPerFeature, cfg.latentDim
    Z = X @ We.T + be
    H = (Z > 0).astype(np.float64)
    if not np.array_equal(H, t["h"].detach().numpy()):
        raise SystemExit(f"CHECK FAILED: {name}: float64 codes differ from float32 codes")
    kernel = np.array([2.0**i for i in range(k)]) / (2**k - 1)
    V = (H.reshape(n, dp, k) * kernel).sum(-1)
    Xhat = V @ Wd.T + bd
    E = 2 * (Xhat - X) / (n * d)  # dL_r/dxhat
    gV = E @ Wd  # (n, d')
    g_mse = (gV[:, :, None] * kernel).reshape(n, dp * k)
    p = H.mean(0)
    g_ent = np.broadcast_to(h_prime(p) / n, H.shape)
    g_cov = covariance_grad_closed_form(H)
    le = cfg.entropyWeight if t["applied"] else 0.0
    G = g_mse + le * g_ent + cfg.covarianceWeight * g_cov
    Gz = G - G * G if cfg.estimator == "sign_s" else G
    manual = {
        "encoder.weight": Gz.T @ X,
        "encoder.bias": Gz.sum(0),
        "decoder.weight": E.T @ V,
        "decoder.bias": E.sum(0),
    }
    record(checks, "manual float64 dL/dh (mse part) vs autograd, max rel", max_rel(g["mse"].numpy(), g_mse), 1e-5)
    record(checks, "manual float64 g vs autograd, max rel", max_rel(g["total"].numpy(), G), 1e-5)
    record(checks, "manual float64 dL/dz vs autograd, max rel", max_rel(g["z"].numpy(), Gz), 1e-5)
    for pname, gp in zip(PARAM_NAMES, g["params"]):
        record(checks, "manual float64 parameter grads vs autograd, max rel", max_rel(gp.numpy(), manual[pname]), 1e-5)
    xhat64 = t["xhat"].detach().double().numpy()
    record(checks, "manual float64 xhat vs torch, max rel", max_rel(xhat64, Xhat), 1e-6)
    for key, ref in (
        ("mse", ((Xhat - X) ** 2).mean()),
        ("entropy", float(np.sum(-p * np.log2(p + EPSILON) - (1 - p) * np.log2(1 - p + EPSILON)))),
        ("covariance", float(_offdiag_abs_cov(H).sum())),
    ):
        record(checks, f"manual float64 {key} vs torch, rel", abs(t[key].item() - ref) / max(abs(ref), 1e-30), 1e-5)


def _offdiag_abs_cov(h):
    n = h.shape[0]
    hc = h - h.mean(0, keepdims=True)
    c = hc.T @ hc / (n - 1)
    c = np.where(np.abs(c) < COVARIANCE_SNAP, 0.0, c)
    np.fill_diagonal(c, 0.0)
    return np.abs(c)


def check_total_is_sum(name, g_total, weighted, checks):
    s = weighted["mse"] + weighted["entropy"] + weighted["covariance"]
    record(checks, "g equals weighted sum of per-term dL/dh, max rel", max_rel(g_total.numpy(), s.numpy()), 1e-6)


def check_float64_trajectory(name, cfg, x, state, rec32, final32, checks):
    """Re-run the trajectory in float64 from the same float32 start: the codes must match at every
    point and the float32 fixture numbers must agree to well inside the Swift tests' tolerance
    (measured as max |a - b| / max |b| per array; element-wise ratios of near-zero entries are larger)."""
    model = fresh_model(cfg, 0).double()
    model.load_state_dict({k: v.double() for k, v in state.items()})
    rec64 = train(model, x.double(), cfg)
    for i, (a, b) in enumerate(zip(rec32["codes"], rec64["codes"])):
        if not torch.equal(a.double(), b):
            raise SystemExit(f"CHECK FAILED: {name}: float64 codes differ from float32 at point {i}")
    if rec32["entropyApplied"] != rec64["entropyApplied"]:
        raise SystemExit(f"CHECK FAILED: {name}: entropy schedule differs between float32 and float64")
    record(checks, "float32 vs float64 trajectory losses, max rel", max_rel(rec32["losses"], rec64["losses"]), 1e-5)
    for a, b in zip(params(final32), params(model)):
        record(
            checks,
            "float32 vs float64 final parameters, max rel",
            max_rel(a.detach().numpy(), b.detach().numpy()),
            1e-5,
        )


def check_gradcheck(checks):
    """torch.autograd.gradcheck (float64 finite differences) of H, D and the whole loss as functions of
    a continuous relaxation h in (0,1), plus the closed forms on that relaxation."""
    gen = torch.Generator().manual_seed(7)
    for _attempt in range(20):
        h = (0.05 + 0.9 * torch.rand(9, 6, generator=gen, dtype=torch.float64)).requires_grad_(True)
        hc = h.detach() - h.detach().mean(0)
        if (hc.T @ hc / 8).abs().min() > 1e-3:  # keep |C| away from abs()'s kink for finite differences
            break
    ok_h = torch.autograd.gradcheck(lambda t: entropy_term(t)[0], (h,), eps=1e-6, atol=1e-6, rtol=1e-4)
    ok_d = torch.autograd.gradcheck(covariance_term, (h,), eps=1e-6, atol=1e-6, rtol=1e-4)
    # the whole loss as a function of h, through the 2-bit kernel and the decoder
    torch.manual_seed(3)
    dec = nn.Linear(3, 4).double()
    target = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    kernel = torch.tensor([1.0, 2.0], dtype=torch.float64) / 3

    def loss_of_h(t):
        v = (t.view(9, 3, 2) * kernel).sum(-1)
        return ((dec(v) - target) ** 2).mean() + 2e-2 * entropy_term(t)[0] + 5e-2 * covariance_term(t)

    ok_l = torch.autograd.gradcheck(loss_of_h, (h,), eps=1e-6, atol=1e-6, rtol=1e-4)
    if not (ok_h and ok_d and ok_l):
        raise SystemExit("CHECK FAILED: gradcheck")
    # numeric deviation of autograd from central differences, reported
    hv = h.detach().clone()
    num = torch.zeros_like(hv)
    for idx in np.ndindex(*hv.shape):
        e = torch.zeros_like(hv)
        e[idx] = 1e-6
        with torch.no_grad():
            num[idx] = (loss_of_h(hv + e) - loss_of_h(hv - e)) / 2e-6
    (ana,) = torch.autograd.grad(loss_of_h(h), h)
    record(
        checks,
        "gradcheck relaxation: autograd vs central differences (loss), max rel",
        max_rel(ana.numpy(), num.numpy()),
        1e-6,
    )
    # closed forms hold on the relaxation as well (they never used binariness)
    (gh,) = torch.autograd.grad(entropy_term(h)[0], h)
    p = h.detach().numpy().mean(0)
    record(
        checks,
        "relaxation: closed form dH/dh vs autograd (float64), max rel",
        max_rel(gh.numpy(), np.broadcast_to(h_prime(p) / 9, (9, 6))),
        1e-12,
    )
    (gd,) = torch.autograd.grad(covariance_term(h), h)
    record(
        checks,
        "relaxation: closed form dD/dh vs autograd (float64), max rel",
        max_rel(gd.numpy(), covariance_grad_closed_form(h.detach().numpy())),
        1e-12,
    )


def check_estimators(checks):
    """The custom Function's backward really is g - g^2 (sign_s) and g (sign), for an arbitrary g."""
    z = torch.tensor([-1.5, -0.2, 0.3, 2.0], requires_grad=True)
    g = torch.tensor([0.3, -0.7, 1.5, -0.01])
    for est, expect in (("sign_s", g - g * g), ("sign", g)):
        (gz,) = torch.autograd.grad(Binarize.apply(z, est), z, grad_outputs=g)
        record(checks, f"estimator {est} backward vs formula, max abs", (gz - expect).abs().max().item(), 0.0)


# ------------------------------------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("Tests/BAEModelTests/Fixtures"),
        help="directory for the <case>.json fixtures (default: %(default)s)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # deterministic reductions, and the machine is shared

    checks: dict = {}
    check_estimators(checks)
    check_gradcheck(checks)
    built = []
    for case in cases():
        out = build_case(case, checks)
        built.append(out)
        c = out["config"]
        contrib = out["gradHContribution"]
        print(
            f"{out['case']:24s} d={c['inputDim']} d'={c['latentDim']} k={c['bitsPerFeature']} n={c['rows']} "
            f"{c['estimator']:6s} le={c['entropyWeight']:g} lc={c['covarianceWeight']:g} "
            f"start={c['entropyStartStep']} thr={c['entropyThreshold']:.6g} lr={c['lr']:g}  "
            f"min|z|={out['minAbsZ']:.2e}  |g_mse|/|g|={contrib['mse']:.3f} "
            f"|le gH|/|g|={contrib['entropy']:.3f} |lc gD|/|g|={contrib['covariance']:.3f} "
            f"|gz-g|/|g|={contrib['estimatorCorrection']:.2e}  applied={''.join('1' if a else '0' for a in out['entropyApplied'])} "
            f"codes={json.dumps(out['codeStats'])}"
        )

    print("\ncross-checks (worst value over all cases; limit):")
    for name, values in checks.items():
        worst = max(v for v, _ in values)
        print(f"  {name:70s} {worst:.3e}  (<= {values[0][1]:.0e}, {len(values)} checks)")

    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for out in built:
        path = args.out / f"{out['case']}.json"
        text = json.dumps(out, separators=(",", ":")) + "\n"
        path.write_text(text)
        total += len(text)
    print(f"\nwrote {len(built)} fixtures to {args.out} ({total / 1e6:.2f} MB), torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
