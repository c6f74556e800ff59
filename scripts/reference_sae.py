#!/usr/bin/env python3
"""Independent PyTorch reference for the SAE baselines (math: Documentation/Baselines.md).

Writes the JSON fixtures in Tests/BAEModelTests/Fixtures/sae that the Swift relu, topk, batchtopk and
jumprelu models are tested against: forward values, every loss term, gradients at the code, at z and
of every parameter, and a 10-step Adam trajectory (with the AuxK counters, the unit-norm projection
and the BatchTopK threshold θ). Gradients come from torch autograd, with custom autograd Functions
for the JumpReLU straight-through estimates. They are cross-checked against a float64 numpy manual
backward, against central finite differences in float64 (with the selection held fixed, which the
margins guarantee), and against a float64 re-run of the trajectory. BatchTopK's selection is also
computed by a simulated distributed radix selection over R = 1, 2 and 3 ranks, which must agree with
the sort. Any disagreement raises; nothing is written unless every check passes.

  scripts/setup_torch.sh && .venv-torch/bin/python scripts/reference_sae.py --out Tests/BAEModelTests/Fixtures/sae
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_bae import InputDistribution, max_rel, record, short_float32  # noqa: E402

MARGIN = 1e-3  # every decision (ReLU sign, k-th vs (k+1)-th value, z vs θ, kernel edge) is at least this far
ADAM_STEPS = 10
ATTEMPTS = 100  # fresh weight draws per case before giving up
FD_STEP = 1e-6
RANK_COUNTS = (1, 2, 3)


# --------------------------------------------------------------------------------------------- config


@dataclass
class Config:
    """Field names follow BAEModel.ModelConfig; fields that do not apply hold that type's default."""

    architecture: str
    inputDim: int
    latentDim: int
    rows: int
    lr: float
    k: int = 32
    topkReLU: bool = True
    l1Weight: float = 1e-3
    l1Form: str = "sum"
    auxkWeight: float = 0.0
    auxkK: int = 0  # 0 = d/2, as in ModelConfig
    deadAfterRows: int = 100_000
    unitNormDecoder: bool = False
    threshold: float = 0.5
    learnThreshold: bool = False
    bandwidth: float = 1e-3
    l0Weight: float = 1e-3
    thresholdMomentum: float = 0.01
    decoderBias: bool = True
    adamSteps: int = ADAM_STEPS

    @property
    def auxk(self) -> bool:
        return self.architecture == "topk" and self.auxkWeight != 0

    @property
    def auxk_latents(self) -> int:
        return self.auxkK if self.auxkK > 0 else max(1, self.inputDim // 2)


@dataclass
class Case:
    name: str
    config: Config
    seed: int
    # AuxK: rows since each latent last fired when training starts (latent j gets rule[j % len(rule)])
    initial_rows_since_fired: list[int] = field(default_factory=list)
    # "rows": the batch repeats rows (a triple, pairs, singles) so BatchTopK's boundary is an exact tie
    # split across ranks; "latents": some encoder rows are duplicated so a TopK row has a tie at its k-th value
    ties: str | None = None
    input_scale: float = 2.0
    mean_scale: float = 0.5


def cases() -> list[Case]:
    lr = 5e-3
    return [
        Case("relu_l1sum", Config("relu", 8, 16, 70, lr, l1Weight=1e-3), seed=11),
        Case("relu_l1decnorm", Config("relu", 7, 20, 70, lr, l1Weight=2e-3, l1Form="decoder-norm"), seed=12),
        Case(
            "relu_l1decnorm_unitnorm",
            Config("relu", 6, 16, 64, lr, l1Weight=2e-3, l1Form="decoder-norm", unitNormDecoder=True),
            seed=13,
        ),
        Case("topk_relu", Config("topk", 8, 16, 70, lr, k=4), seed=21),
        Case("topk_norelu", Config("topk", 8, 24, 64, lr, k=12, topkReLU=False), seed=22),
        Case("topk_relu_ties", Config("topk", 6, 16, 70, lr, k=4), seed=23, ties="latents"),
        Case(
            "topk_auxk",
            Config("topk", 8, 16, 70, lr, k=2, auxkWeight=1 / 32, deadAfterRows=100),
            seed=24,
            initial_rows_since_fired=[0, 100, 0, 40],
        ),
        Case(
            "topk_norelu_unitnorm_auxk",
            Config(
                "topk",
                8,
                16,
                70,
                lr,
                k=4,
                topkReLU=False,
                auxkWeight=0.25,
                auxkK=3,
                deadAfterRows=70,
                unitNormDecoder=True,
            ),
            seed=25,
            initial_rows_since_fired=[70, 0, 0],
        ),
        Case("batchtopk", Config("batchtopk", 8, 16, 70, lr, k=4), seed=31),
        Case(
            "batchtopk_unitnorm",
            Config("batchtopk", 7, 20, 64, 2e-3, k=3, unitNormDecoder=True, thresholdMomentum=0.25),
            seed=32,
        ),
        Case("batchtopk_ties", Config("batchtopk", 8, 16, 70, lr, k=3, thresholdMomentum=0.25), seed=33, ties="rows"),
        Case("jumprelu_fixed", Config("jumprelu", 8, 16, 70, lr, threshold=0.5), seed=41),
        Case(
            "jumprelu_learned",
            Config("jumprelu", 8, 16, 70, lr, threshold=0.5, learnThreshold=True, bandwidth=0.05, l0Weight=0.05),
            seed=42,
        ),
        Case(
            "jumprelu_learned_unitnorm",
            Config(
                "jumprelu",
                6,
                16,
                64,
                lr,
                threshold=0.3,
                learnThreshold=True,
                bandwidth=0.1,
                l0Weight=0.1,
                unitNormDecoder=True,
            ),
            seed=43,
        ),
    ]


# ------------------------------------------------------------------------------------ STE functions


def rectangle(z, theta, eps):
    """K((z − θ)/ε) with K(u) = 1[|u| < 1/2]."""
    return (((z - theta) / eps).abs() < 0.5).to(z.dtype)


class JumpReLU(torch.autograd.Function):
    """a = z·1[z > θ]; ∂a/∂z = 1[z > θ]; ∂a/∂θ_j = −(θ_j/ε)·K((z − θ_j)/ε) (Rajamanoharan et al.)."""

    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return z * (z > theta).to(z.dtype)

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        gz = g * (z > theta).to(z.dtype)
        gtheta = (g * (-(theta / ctx.eps)) * rectangle(z, theta, ctx.eps)).sum(0)
        return gz, gtheta, None


class Step(torch.autograd.Function):
    """1[z > θ]; no gradient to z; ∂/∂θ_j = −(1/ε)·K((z − θ_j)/ε)."""

    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return (z > theta).to(z.dtype)

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        gtheta = (g * (-1.0 / ctx.eps) * rectangle(z, theta, ctx.eps)).sum(0)
        return torch.zeros_like(z), gtheta, None


# ------------------------------------------------------------------------------------------ selection


def positive_part(z):
    """max(z, 0) with +0 (never −0) where z ≤ 0, so the float keys of equal values are equal."""
    return torch.where(z > 0, z, torch.zeros_like(z))


def row_topk_mask(v: np.ndarray, k: int) -> np.ndarray:
    """Per row, the k largest values; ties by latent index ascending. v: (n, m); −inf never wins a tie."""
    idx = np.broadcast_to(np.arange(v.shape[1]), v.shape)
    order = np.lexsort((idx, -v), axis=1)[:, :k]
    mask = np.zeros(v.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def batch_topk_mask(v: np.ndarray, count: int) -> np.ndarray:
    """The `count` largest values of the whole (n, m) array; ties by row, then latent, ascending."""
    flat = v.reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))[:count]
    mask = np.zeros(flat.size, dtype=bool)
    mask[order] = True
    return mask.reshape(v.shape)


def float_keys(v: np.ndarray) -> np.ndarray:
    """float32 → uint32 whose unsigned order is the float order (negatives flipped, positives sign-set)."""
    bits = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32)
    return np.where(bits & 0x80000000, ~bits, bits | 0x80000000).astype(np.uint32)


def radix_select(rank_values: list[np.ndarray], count: int):
    """Simulated distributed BatchTopK selection (Baselines.md): four rounds of an all-reduced 256-bin
    histogram find the exact key of the count-th largest value; values above it are selected; of the
    values equal to it, the remaining number is taken in rank order (= global row order), each rank
    taking its own in local (row, latent) order. Returns per-rank masks and the collective results."""
    keys = [float_keys(v) for v in rank_values]
    prefix, remaining = 0, count
    for round_ in range(4):
        shift = 24 - 8 * round_
        hist = np.zeros(256, dtype=np.int64)  # the all-reduce: a sum over ranks
        for k in keys:
            cand = k[(k >> np.uint32(shift + 8)) == prefix] if round_ > 0 else k.reshape(-1)
            hist += np.bincount(((cand >> np.uint32(shift)) & 0xFF).astype(np.int64), minlength=256)
        above = 0
        for b in range(255, -1, -1):
            if above + hist[b] >= remaining:
                break
            above += hist[b]
        remaining -= above
        prefix = (prefix << 8) | b
    key = np.uint32(prefix)
    tie_counts = [int((k == key).sum()) for k in keys]  # the all-gather
    masks, taken, before = [], [], 0
    for k, ties in zip(keys, tie_counts):
        take = max(0, min(ties, remaining - before))
        before += ties
        flat = k.reshape(-1)
        m = flat > key
        tie_idx = np.nonzero(flat == key)[0][:take]  # row-major = (row, latent) order
        m[tie_idx] = True
        masks.append(m.reshape(k.shape))
        taken.append(int(take))
    return masks, dict(key=int(key), tiesToTake=int(remaining), tieCounts=tie_counts, tiesTaken=taken)


def rank_rows(n: int, ranks: int) -> list[tuple[int, int]]:
    """Contiguous row ranges as the sampler splits a global batch: rank r gets [r·n/R, (r+1)·n/R)."""
    return [(r * n // ranks, (r + 1) * n // ranks) for r in range(ranks)]


# ---------------------------------------------------------------------------------------------- model


class SAE(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.encoder = nn.Linear(cfg.inputDim, cfg.latentDim)
        self.decoder = nn.Linear(cfg.latentDim, cfg.inputDim)
        if cfg.architecture == "jumprelu" and cfg.learnThreshold:
            self.log_threshold = nn.Parameter(torch.full((cfg.latentDim,), math.log(cfg.threshold)))


def param_names(cfg: Config) -> list[str]:
    names = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
    return names + (["log_threshold"] if cfg.architecture == "jumprelu" and cfg.learnThreshold else [])


def params(model, cfg):
    return [dict(model.named_parameters())[n] for n in param_names(cfg)]


def thresholds_of(model, cfg, dtype):
    if cfg.learnThreshold:
        return torch.exp(model.log_threshold)
    return torch.full((cfg.latentDim,), cfg.threshold, dtype=dtype)


def forward(model, x, cfg: Config, rows_since_fired: np.ndarray | None = None):
    """Code, reconstruction and every loss term for the full batch x: (n, d). Returns a dict."""
    n, d = x.shape
    z = model.encoder(x)  # (n, d') = x·W_encᵀ + b_enc
    out = dict(z=z)
    zd = z.detach().numpy()
    if cfg.architecture == "relu":
        a = positive_part(z)
    elif cfg.architecture == "topk":
        v = positive_part(z) if cfg.topkReLU else z
        mask = row_topk_mask(v.detach().numpy(), cfg.k)
        a = torch.where(torch.from_numpy(mask), v, torch.zeros_like(v))
        out["selected"] = mask
    elif cfg.architecture == "batchtopk":
        r = positive_part(z)
        mask = batch_topk_mask(r.detach().numpy(), n * cfg.k)
        a = torch.where(torch.from_numpy(mask), r, torch.zeros_like(r))
        out["selected"] = mask
    elif cfg.architecture == "jumprelu":
        theta = thresholds_of(model, cfg, x.dtype)
        out["theta"] = theta
        a = JumpReLU.apply(z, theta, cfg.bandwidth)
    else:
        raise ValueError(cfg.architecture)
    xhat = model.decoder(a)  # (n, d) = a·W_decᵀ + b_dec
    mse = ((xhat - x) ** 2).mean()
    zero = torch.zeros((), dtype=x.dtype)
    sparsity, aux = zero, zero
    if cfg.architecture == "relu":
        if cfg.l1Form == "sum":
            sparsity = cfg.l1Weight * a.sum()  # a ≥ 0, so Σ|a| = Σa (and ∂S/∂a = λ everywhere)
        else:
            norms = model.decoder.weight.norm(dim=0)  # (d') = ‖W_dec[:, j]‖
            sparsity = cfg.l1Weight * (a.sum(0) * norms).sum()
    if cfg.architecture == "jumprelu" and cfg.learnThreshold:
        sparsity = cfg.l0Weight * Step.apply(z, out["theta"], cfg.bandwidth).sum() / n
    if cfg.auxk:
        dead = rows_since_fired >= cfg.deadAfterRows
        k_aux = min(cfg.auxk_latents, int(dead.sum()))
        out["dead"], out["kAux"] = dead, k_aux
        if k_aux > 0:
            r = positive_part(z)
            vals = np.where(dead[None, :], r.detach().numpy(), -np.inf)
            aux_mask = row_topk_mask(vals, k_aux)
            a_aux = torch.where(torch.from_numpy(aux_mask), r, torch.zeros_like(r))
            ehat = a_aux @ model.decoder.weight.T  # (n, d), no bias
            e = (x - xhat).detach()  # the residual is a constant
            aux = cfg.auxkWeight * ((ehat - e) ** 2).mean()
            out.update(aux_selected=aux_mask, a_aux=a_aux, ehat=ehat)
        else:
            out.update(aux_selected=np.zeros(zd.shape, dtype=bool), a_aux=None, ehat=torch.zeros_like(x))
    out.update(a=a, xhat=xhat, mse=mse, sparsity=sparsity, aux=aux, loss=mse + sparsity + aux)
    return out


def fired(cfg, t) -> np.ndarray:
    """Latents selected with a positive value anywhere in the (global) batch."""
    return (t["selected"] & (t["a"].detach().numpy() > 0)).any(0)


def smallest_selected_positive(t) -> float:
    a = t["a"].detach().numpy()
    pos = a[t["selected"] & (a > 0)]
    return float(pos.min()) if pos.size else 0.0


def project_decoder_grad(model):
    """G[:, j] ← G[:, j] − (G[:, j]·w_j) w_j: drop the part of the gradient that would change ‖w_j‖."""
    w, g = model.decoder.weight, model.decoder.weight.grad
    g -= w.detach() * (g * w.detach()).sum(0, keepdim=True)


def normalize_decoder(model):
    with torch.no_grad():
        w = model.decoder.weight
        w /= w.norm(dim=0, keepdim=True)


def train(model, x, cfg: Config, rows_since_fired0: np.ndarray | None):
    """10 full-batch Adam steps with the kind's post-step work; records every evaluated point."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    counters = None if rows_since_fired0 is None else rows_since_fired0.copy()
    theta = None
    rec = dict(losses=[], mses=[], sparsities=[], auxes=[], deadCounts=[], thresholds=[], points=[])
    n = x.shape[0]
    for _step in range(cfg.adamSteps):
        t = forward(model, x, cfg, counters)
        rec["losses"].append(t["loss"].item())
        rec["mses"].append(t["mse"].item())
        rec["sparsities"].append(t["sparsity"].item())
        rec["auxes"].append(t["aux"].item())
        rec["points"].append(point_of(cfg, t, counters, theta))
        opt.zero_grad(set_to_none=True)
        t["loss"].backward()
        if cfg.unitNormDecoder:
            project_decoder_grad(model)
        opt.step()
        if cfg.unitNormDecoder:
            normalize_decoder(model)
        if cfg.auxk:
            rec["deadCounts"].append(int(t["dead"].sum()))
            counters = np.where(fired(cfg, t), 0, counters + n)
        if cfg.architecture == "batchtopk":
            s = smallest_selected_positive(t)  # θ starts at the first step's t, then moves by β
            theta = s if theta is None else theta + cfg.thresholdMomentum * (s - theta)
            rec["thresholds"].append(theta)
    with torch.no_grad():  # the 11th evaluated point: the parameters after the last update
        t = forward(model, x, cfg, counters)
        rec["points"].append(point_of(cfg, t, counters, theta))
    rec["rowsSinceFired"] = counters
    rec["threshold"] = theta
    return rec


def point_of(cfg, t, counters, theta):
    """What the margin checks and the float64 comparison need from one evaluated point."""
    p = dict(z=t["z"].detach().double().numpy().copy(), active=(t["a"].detach().numpy() != 0))
    if "selected" in t:
        p["selected"] = t["selected"].copy()
    if cfg.auxk:
        p["dead"] = t["dead"].copy()
        p["auxSelected"] = t["aux_selected"].copy()
    if "theta" in t:
        p["theta"] = t["theta"].detach().double().numpy().copy()
    p["batchThreshold"] = theta  # θ entering this point (batchtopk)
    return p


# ------------------------------------------------------------------------------------------ the draws


def fresh_model(cfg: Config, weight_seed: int, ties: str | None = None):
    torch.manual_seed(weight_seed)  # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    model = SAE(cfg)
    with torch.no_grad():
        if ties == "latents":  # latent j+8 copies latent j for j in DUPLICATED_LATENTS
            for j1, j2 in duplicated_latents(cfg):
                model.encoder.weight[j2] = model.encoder.weight[j1]
                model.encoder.bias[j2] = model.encoder.bias[j1]
    if cfg.unitNormDecoder:  # the decoder starts unit-norm
        normalize_decoder(model)
    return model


def duplicated_latents(cfg) -> list[tuple[int, int]]:
    half = cfg.latentDim // 2
    return [(j, j + half) for j in (1, 3, 4, 6)]


def row_map(cfg: Config, ties: str | None) -> np.ndarray:
    """Which underlying draw each batch row is. For "rows": rows i and i + n/2 repeat a draw, one draw
    appears three times and three appear once, so tie groups of 1, 2 and 3 exist and every repeated
    draw sits on different ranks for R = 2 and R = 3."""
    n = cfg.rows
    if ties != "rows":
        return np.arange(n)
    half = n // 2
    first = list(range(half))  # rows 0..half-1: draws 0..half-1
    second = list(range(half - 2)) + [0, half]  # rows half..n-1: pairs, a third copy of draw 0, a new single
    return np.array(first + second[: n - half])


def margins(cfg: Config, pt: dict, final: bool, ties: str | None):
    """Distances from every decision boundary at one evaluated point (in float32 z). Returns
    (bad rows, smallest distance, fatal) — fatal when no row redraw can help (e.g. θ would be 0)."""
    z = pt["z"]
    n = z.shape[0]
    bad = np.zeros(n, dtype=bool)
    worst = [math.inf]

    def need(dist):
        viol = dist < MARGIN
        if dist.size:
            worst.append(float(dist.min()))
        if viol.ndim == 2:
            viol = viol.any(1)
        bad[:] |= viol

    if cfg.architecture == "jumprelu":
        dist = np.abs(z - pt["theta"][None, :])
        need(dist)
        if cfg.learnThreshold:
            need(np.abs(dist - cfg.bandwidth / 2))  # kernel edges
    else:
        need(np.abs(z))
    r = np.maximum(z, 0)
    if cfg.architecture == "topk":
        v = r if cfg.topkReLU else z
        s = -np.sort(-v, axis=1)
        gap = s[:, cfg.k - 1] - s[:, cfg.k]
        exempt = (s[:, cfg.k - 1] == 0) & (s[:, cfg.k] == 0)
        if ties == "latents":
            exempt |= gap == 0
        need(np.where(exempt, math.inf, gap))
        if cfg.auxk:
            dead = pt["dead"]
            k_aux = min(cfg.auxk_latents, int(dead.sum()))
            if 0 < k_aux < dead.sum():
                s = -np.sort(-r[:, dead], axis=1)
                gap = s[:, k_aux - 1] - s[:, k_aux]
                need(np.where((s[:, k_aux - 1] == 0) & (s[:, k_aux] == 0), math.inf, gap))
    if cfg.architecture == "batchtopk":
        flat = r.reshape(-1)
        count = n * cfg.k
        order = np.lexsort((np.arange(flat.size), -flat))
        v_k = flat[order[count - 1]]
        if v_k <= MARGIN:
            return bad, 0.0, True
        dist = np.abs(flat - v_k)
        dist[order[count - 1]] = math.inf
        if ties == "rows":
            dist[dist == 0] = math.inf  # exact repeats of the boundary value are the point of this case
        near = (dist < MARGIN).reshape(r.shape).any(1)
        worst.append(float(dist.min()))
        if near.any():
            bad |= near
            bad[order[count - 1] // r.shape[1]] = True
        if final:  # the inference code z·1[z > θ] at the final θ
            need(np.abs(z - pt["batchThreshold"]))
    return bad, min(worst), False


def initial_counters(case: Case):
    if not case.config.auxk:
        return None
    rule = case.initial_rows_since_fired
    return np.array([rule[j % len(rule)] for j in range(case.config.latentDim)], dtype=np.int64)


def tie_requirement(case: Case, rec) -> bool:
    """--no-relu must select some negative z at step 0. The deliberate ties must matter at step 0: for "rows", the BatchTopK boundary value is shared by
    several entries of which only some are taken; for "latents", at least two rows hold a duplicated pair
    at their k-th and (k+1)-th places."""
    cfg, p = case.config, rec["points"][0]
    if cfg.architecture == "topk" and not cfg.topkReLU and negative_selections(p) < 5:
        return False  # --no-relu would be indistinguishable from the ReLU form
    if case.ties == "rows":
        info = boundary_group(cfg, p)
        return 0 < len(info["taken"]) < len(info["members"])
    if case.ties == "latents":
        return len(straddling_rows(cfg, p)) >= 2
    return True


def negative_selections(p) -> int:
    return int((p["selected"] & (p["z"] < 0)).sum())


def boundary_group(cfg, p):
    r = np.maximum(p["z"], 0).astype(np.float32)
    flat = r.reshape(-1)
    order = np.lexsort((np.arange(flat.size), -flat))
    v_k = flat[order[cfg.rows * cfg.k - 1]]
    members = [divmod(int(i), cfg.latentDim) for i in np.nonzero(flat == v_k)[0]]
    taken = [m for m in members if p["selected"][m]]
    return dict(value=short_float32(v_k), members=members, taken=taken)


def straddling_rows(cfg, p):
    rows = []
    for i in range(cfg.rows):
        for j1, j2 in duplicated_latents(cfg):
            if p["z"][i, j1] == p["z"][i, j2] and p["z"][i, j1] > 0 and p["selected"][i, j1] != p["selected"][i, j2]:
                rows.append([i, j1, j2])
    return rows


def draw_case(case: Case):
    """Draw x and the initial weights so that every decision at all 11 evaluated points is at least
    MARGIN from its boundary; offending rows are redrawn, after 30 rounds the weights too."""
    cfg = case.config
    counters0 = initial_counters(case)
    rmap = row_map(cfg, case.ties)
    draws = int(rmap.max()) + 1
    for attempt in range(ATTEMPTS):
        seed = case.seed * 1000 + attempt
        gen = torch.Generator().manual_seed(seed)
        dist = InputDistribution(gen, cfg.inputDim, case.input_scale, case.mean_scale)
        base = dist.rows(draws)
        state = {k: v.clone() for k, v in fresh_model(cfg, seed, case.ties).state_dict().items()}
        for _ in range(30):
            x = base[torch.from_numpy(rmap)]
            model = fresh_model(cfg, 0)
            model.load_state_dict(state)
            rec = train(model, x, cfg, counters0)
            bad = np.zeros(cfg.rows, dtype=bool)
            worst, fatal = math.inf, False
            for i, p in enumerate(rec["points"]):
                b, w, f = margins(cfg, p, i == len(rec["points"]) - 1, case.ties)
                bad |= b
                worst, fatal = min(worst, w), fatal or f
            if fatal:
                break
            if not bad.any():
                if tie_requirement(case, rec):
                    return x, state, seed, worst, counters0
                break
            idx = np.unique(rmap[bad])
            base = base.clone()
            base[torch.from_numpy(idx)] = dist.rows(len(idx))
    raise SystemExit(f"{case.name}: no draw kept every decision {MARGIN} from its boundary in {ATTEMPTS} attempts")


# ---------------------------------------------------------------------------------- one case, recorded


def grads_at(model, x, cfg: Config, counters):
    """Values and gradients at the given parameters: ∂L/∂a, ∂L/∂a_aux, ∂L/∂z and every ∂L/∂θ (raw,
    before any unit-norm projection)."""
    t = forward(model, x, cfg, counters)
    has_aux = t.get("a_aux") is not None
    inputs = [t["a"], t["z"]] + ([t["a_aux"]] if has_aux else []) + params(model, cfg)
    g = list(torch.autograd.grad(t["loss"], inputs, allow_unused=True))
    g = [torch.zeros_like(i) if gi is None else gi for gi, i in zip(g, inputs)]
    out = dict(a=g[0], z=g[1], a_aux=g[2] if has_aux else None)
    out["params"] = dict(zip(param_names(cfg), g[3 if has_aux else 2 :]))
    if cfg.unitNormDecoder:
        w, gw = model.decoder.weight.detach(), out["params"]["decoder.weight"]
        out["projected"] = gw - w * (gw * w).sum(0, keepdim=True)
    return t, out


def tensor_json(t):
    t = t.detach() if isinstance(t, torch.Tensor) else torch.from_numpy(np.asarray(t))
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": [short_float32(v) for v in t.flatten().tolist()]}


def mask_json(m):
    m = np.asarray(m, dtype=bool)
    return {"shape": list(m.shape), "data": [int(v) for v in m.reshape(-1)]}


def build_case(case: Case, checks: dict):
    cfg = case.config
    x, state, seed, min_margin, counters0 = draw_case(case)
    model = fresh_model(cfg, 0)
    model.load_state_dict(state)
    t, g = grads_at(model, x, cfg, counters0)

    traj = fresh_model(cfg, 0)
    traj.load_state_dict(state)
    rec = train(traj, x, cfg, counters0)
    if rec["losses"][0] != t["loss"].item():
        raise SystemExit(f"CHECK FAILED: {case.name}: trajectory's first loss is not the step-0 loss")

    check_exact_repeats(case, rec, checks)
    check_manual_backward(case.name, cfg, x, state, counters0, t, g, checks)
    check_finite_differences(case.name, cfg, x, state, counters0, checks, case.ties)
    check_float64_trajectory(case.name, cfg, x, state, counters0, rec, traj, checks)
    ranks = check_radix(case.name, cfg, rec, checks) if cfg.architecture == "batchtopk" else None

    out = {"case": case.name, "config": asdict(cfg), "seed": seed, "minMargin": min_margin}
    if cfg.auxk:
        out["auxkLatents"] = cfg.auxk_latents
        out["initialRowsSinceFired"] = [int(c) for c in counters0]
    if case.ties == "latents":
        out["duplicatedLatents"] = [list(p) for p in duplicated_latents(cfg)]
        out["tieRows"] = straddling_rows(cfg, rec["points"][0])
    out["x"] = tensor_json(x)
    for name in param_names(cfg):
        out[name] = tensor_json(state[name])
    out["z"] = tensor_json(t["z"])
    if "theta" in t and cfg.learnThreshold:
        out["theta"] = tensor_json(t["theta"])
    out["a"] = tensor_json(t["a"])
    if "selected" in t:
        out["selected"] = mask_json(t["selected"])
    if cfg.auxk:
        out["dead"] = mask_json(t["dead"])
        out["kAux"] = t["kAux"]
        out["auxSelected"] = mask_json(t["aux_selected"])
        out["aAux"] = tensor_json(t["a_aux"] if t["a_aux"] is not None else torch.zeros_like(t["z"]))
        out["xhatAux"] = tensor_json(t["ehat"])
    out["xhat"] = tensor_json(t["xhat"])
    for key in ("loss", "mse", "sparsity", "aux"):
        out[key] = short_float32(t[key].item())
    for name in param_names(cfg):
        out["grad." + name] = tensor_json(g["params"][name])
    if cfg.unitNormDecoder:
        out["grad.decoder.weight.projected"] = tensor_json(g["projected"])
    out["grad_a"] = tensor_json(g["a"])
    if cfg.auxk:
        out["grad_a_aux"] = tensor_json(g["a_aux"] if g["a_aux"] is not None else torch.zeros_like(t["z"]))
    out["grad_z"] = tensor_json(g["z"])
    if ranks is not None:
        out["batchTopK"] = ranks
        if case.ties == "rows":
            out["tieGroup"] = boundary_group(cfg, rec["points"][0])
    for key in ("losses", "mses", "sparsities", "auxes"):
        out[key] = [short_float32(v) for v in rec[key]]
    if cfg.auxk:
        out["deadCounts"] = rec["deadCounts"]
        out["final.rowsSinceFired"] = [int(c) for c in rec["rowsSinceFired"]]
    if cfg.architecture == "batchtopk":
        out["thresholds"] = rec["thresholds"]  # float64, as the Swift model's buffer
    for name, p in zip(param_names(cfg), params(traj, cfg)):
        out["final." + name] = tensor_json(p)
    if cfg.architecture == "batchtopk":
        zf = rec["points"][-1]["z"]
        out["final.inferenceActive"] = mask_json(zf > rec["threshold"])
    out["gradContribution"] = term_contributions(cfg, x, state, counters0)
    if cfg.learnThreshold:
        out["kernelHits"] = [
            int((np.abs(p["z"] - p["theta"][None, :]) < cfg.bandwidth / 2).sum()) for p in rec["points"][:-1]
        ]
    first, last = rec["points"][0], rec["points"][-1]
    key = "selected" if "selected" in first else "active"
    out["selectionChanges"] = int((first[key] != last[key]).sum())
    if "selected" in first and cfg.topkReLU:  # selected latents holding 0 (z ≤ 0): the row had < k positives
        out["zeroSelections"] = int((first["selected"] & (first["z"] <= 0)).sum())
    elif "selected" in first:  # --no-relu: selected latents holding a negative z
        out["negativeSelections"] = negative_selections(first)
    return out


def term_contributions(cfg, x, state, counters):
    """‖∂term/∂θ‖ / ‖∂L/∂θ‖ over all parameters flattened together, per loss term, at step 0."""
    model = fresh_model(cfg, 0)
    model.load_state_dict(state)
    t = forward(model, x, cfg, counters)
    ps = params(model, cfg)

    def flat(term):
        if not term.requires_grad:
            return torch.zeros(sum(p.numel() for p in ps))
        g = torch.autograd.grad(term, ps, retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if gi is None else gi).reshape(-1) for gi, p in zip(g, ps)])

    total = flat(t["loss"]).norm().item()
    return {k: flat(t[k]).norm().item() / total for k in ("mse", "sparsity", "aux")}


# ------------------------------------------------------------------------------------------ the checks


def manual_backward(cfg: Config, X, P, counters):
    """Baselines.md's forward and backward written out in float64 numpy, with its own selection code
    (Python sorts on (−value, index) tuples)."""
    We, be, Wd, bd = (P[k] for k in ("encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"))
    n, d = X.shape
    m = cfg.latentDim
    Z = X @ We.T + be
    R = np.where(Z > 0, Z, 0.0)
    sel = None
    if cfg.architecture == "relu":
        A, dAdZ = R, Z > 0
    elif cfg.architecture == "topk":
        V = R if cfg.topkReLU else Z
        sel = np.zeros((n, m), dtype=bool)
        for i in range(n):
            for j in sorted(range(m), key=lambda j: (-V[i, j], j))[: cfg.k]:
                sel[i, j] = True
        A, dAdZ = np.where(sel, V, 0.0), sel & (Z > 0) if cfg.topkReLU else sel
    elif cfg.architecture == "batchtopk":
        sel = np.zeros((n, m), dtype=bool)
        for _, i, j in sorted((-R[i, j], i, j) for i in range(n) for j in range(m))[: n * cfg.k]:
            sel[i, j] = True
        A, dAdZ = np.where(sel, R, 0.0), sel & (Z > 0)
    else:
        theta = np.exp(P["log_threshold"]) if cfg.learnThreshold else np.full(m, cfg.threshold)
        act = Z > theta
        A, dAdZ = Z * act, act
    Xhat = A @ Wd.T + bd
    E = 2 * (Xhat - X) / (n * d)  # ∂MSE/∂x̂
    gA = E @ Wd
    gWd = E.T @ A
    res = dict(z=Z, a=A, selected=sel, xhat=Xhat, mse=((Xhat - X) ** 2).mean(), sparsity=0.0, aux=0.0)
    if cfg.architecture == "relu":
        norms = np.sqrt((Wd**2).sum(0))
        if cfg.l1Form == "sum":
            res["sparsity"] = cfg.l1Weight * A.sum()
            gA = gA + cfg.l1Weight
        else:
            res["sparsity"] = cfg.l1Weight * (A.sum(0) * norms).sum()
            gA = gA + cfg.l1Weight * norms
            gWd = gWd + cfg.l1Weight * A.sum(0) * Wd / norms
    gZ = gA * dAdZ
    glog = None
    if cfg.architecture == "jumprelu" and cfg.learnThreshold:
        K = np.abs((Z - theta) / cfg.bandwidth) < 0.5
        res["sparsity"] = cfg.l0Weight * act.sum() / n
        gtheta = (gA * (-theta / cfg.bandwidth) * K).sum(0) + cfg.l0Weight / n * ((-1 / cfg.bandwidth) * K).sum(0)
        glog = theta * gtheta
    if cfg.auxk:
        dead = counters >= cfg.deadAfterRows
        k_aux = min(cfg.auxk_latents, int(dead.sum()))
        aux_sel = np.zeros((n, m), dtype=bool)
        if k_aux > 0:
            cand = [j for j in range(m) if dead[j]]
            for i in range(n):
                for j in sorted(cand, key=lambda j: (-R[i, j], j))[:k_aux]:
                    aux_sel[i, j] = True
        Aaux = np.where(aux_sel, R, 0.0)
        Ehat = Aaux @ Wd.T
        resid = X - Xhat
        res["aux"] = cfg.auxkWeight * ((Ehat - resid) ** 2).mean()
        Eaux = 2 * cfg.auxkWeight * (Ehat - resid) / (n * d)
        gAaux = Eaux @ Wd
        gWd = gWd + Eaux.T @ Aaux
        gZ = gZ + gAaux * (aux_sel & (Z > 0))
        res.update(dead=dead, aux_selected=aux_sel, a_aux=Aaux, ehat=Ehat, grad_a_aux=gAaux)
    res["loss"] = res["mse"] + res["sparsity"] + res["aux"]
    grads = {"encoder.weight": gZ.T @ X, "encoder.bias": gZ.sum(0), "decoder.weight": gWd, "decoder.bias": E.sum(0)}
    if glog is not None:
        grads["log_threshold"] = glog
    if cfg.unitNormDecoder:
        res["projected"] = gWd - Wd * (Wd * gWd).sum(0)
    res.update(grad_a=gA, grad_z=gZ, grads=grads)
    return res


def check_manual_backward(name, cfg, x, state, counters, t, g, checks):
    """The float64 manual backward vs torch autograd, in float32 (the fixtures) and in float64."""
    P = {k: v.double().numpy() for k, v in state.items()}
    man = manual_backward(cfg, x.double().numpy(), P, counters)
    for key in ("selected", "dead", "aux_selected"):
        if man.get(key) is not None and not np.array_equal(man[key], t[key]):
            raise SystemExit(f"CHECK FAILED: {name}: float64 manual {key} differs from torch's")
    m64 = fresh_model(cfg, 0).double()
    m64.load_state_dict({k: v.double() for k, v in state.items()})
    t64, g64 = grads_at(m64, x.double(), cfg, counters)
    for label, tt, gg, lim in (("float32", t, g, 1e-5), ("float64", t64, g64, 1e-10)):
        pairs = [
            ("xhat", tt["xhat"], man["xhat"]),
            ("a", tt["a"], man["a"]),
            ("grad_a", gg["a"], man["grad_a"]),
            ("grad_z", gg["z"], man["grad_z"]),
        ]
        pairs += [(k, gg["params"][k], man["grads"][k]) for k in param_names(cfg)]
        if cfg.auxk and gg["a_aux"] is not None:
            pairs += [("grad_a_aux", gg["a_aux"], man["grad_a_aux"]), ("xhatAux", tt["ehat"], man["ehat"])]
        if cfg.unitNormDecoder:
            pairs.append(("projected", gg["projected"], man["projected"]))
        for _, a, b in pairs:
            record(
                checks, f"manual float64 backward vs autograd ({label}), max rel", max_rel(a.detach().numpy(), b), lim
            )
        for key in ("mse", "sparsity", "aux", "loss"):
            ref = man[key]
            record(
                checks,
                f"manual float64 loss terms vs torch ({label}), rel",
                abs(tt[key].item() - ref) / max(abs(ref), 1e-30),
                lim,
            )


def surrogate_loss(model, x, cfg: Config, counters, frozen, normalize=False):
    """The loss as an ordinary function of the parameters, for finite differences: the selection is
    recomputed (and returned, so the caller can see it did not change), AuxK's residual e is the frozen
    e₀ (the stop-gradient), and for a learned θ the straight-through estimates are the exact derivatives
    of a surrogate: θ₀·ramp and ramp, ramp(u) = clamp((z₀ − θ)/ε + 1/2, 0, 1) with z frozen at z₀."""
    with torch.no_grad():
        wd = model.decoder.weight
        if normalize:
            wd = wd / wd.norm(dim=0, keepdim=True)
        z = model.encoder(x)
        n = x.shape[0]
        sig = []

        def ramp(th):
            return ((frozen["z"] - th) / cfg.bandwidth + 0.5).clamp(0, 1)

        if cfg.architecture == "relu":
            a = positive_part(z)
        elif cfg.architecture == "topk":
            v = positive_part(z) if cfg.topkReLU else z
            mask = row_topk_mask(v.numpy(), cfg.k)
            a = torch.where(torch.from_numpy(mask), v, torch.zeros_like(v))
            sig.append(mask)
        elif cfg.architecture == "batchtopk":
            r = positive_part(z)
            mask = batch_topk_mask(r.numpy(), n * cfg.k)
            a = torch.where(torch.from_numpy(mask), r, torch.zeros_like(r))
            sig.append(mask)
        else:
            theta = thresholds_of(model, cfg, x.dtype)
            act = z > theta
            sig.append(act.numpy())
            a = z * act
        sig.append((a != 0).numpy())
        if cfg.architecture == "jumprelu" and cfg.learnThreshold:
            a = a + frozen["theta"] * (ramp(theta) - ramp(frozen["theta"]))
            sig.append(rectangle(frozen["z"], theta, cfg.bandwidth).numpy())
        xhat = a @ wd.T + model.decoder.bias
        loss = ((xhat - x) ** 2).mean()
        if cfg.architecture == "relu":
            if cfg.l1Form == "sum":
                loss = loss + cfg.l1Weight * a.sum()
            else:
                loss = loss + cfg.l1Weight * (a.sum(0) * wd.norm(dim=0)).sum()
        if cfg.architecture == "jumprelu" and cfg.learnThreshold:
            l0 = (frozen["z"] > frozen["theta"]).to(x.dtype) + ramp(theta) - ramp(frozen["theta"])
            loss = loss + cfg.l0Weight * l0.sum() / n
        if cfg.auxk:
            dead = counters >= cfg.deadAfterRows
            k_aux = min(cfg.auxk_latents, int(dead.sum()))
            if k_aux > 0:
                r = positive_part(z)
                aux_mask = row_topk_mask(np.where(dead[None, :], r.numpy(), -np.inf), k_aux)
                sig.append(aux_mask)
                a_aux = torch.where(torch.from_numpy(aux_mask), r, torch.zeros_like(r))
                loss = loss + cfg.auxkWeight * ((a_aux @ wd.T - frozen["e"]) ** 2).mean()
        return loss.item(), sig


def check_finite_differences(name, cfg, x, state, counters, checks, ties=None):
    """Central differences (float64, step 1e-6, far inside the margin) of the loss with the selection
    fixed, vs float64 autograd. For a unit-norm decoder, also the derivative of L(W_dec/‖W_dec‖) vs
    the projected gradient (on the sphere they are the same thing). With duplicated latents, moving one
    copy's encoder row breaks an exact tie (a kink, no derivative), so those entries are left out."""
    tied = {j for pair in duplicated_latents(cfg) for j in pair} if ties == "latents" else set()
    model = fresh_model(cfg, 0).double()
    model.load_state_dict({k: v.double() for k, v in state.items()})
    x = x.double()
    t, g = grads_at(model, x, cfg, counters)
    frozen = dict(e=(x - t["xhat"]).detach(), z=t["z"].detach())
    if "theta" in t:
        frozen["theta"] = t["theta"].detach()
    variants = [(False, None)] + ([(True, "decoder.weight")] if cfg.unitNormDecoder else [])
    for normalize, only in variants:
        base_loss, base_sig = surrogate_loss(model, x, cfg, counters, frozen, normalize)
        if abs(base_loss - t["loss"].item()) > 1e-12 * max(1.0, abs(base_loss)) and not normalize:
            raise SystemExit(f"CHECK FAILED: {name}: surrogate loss {base_loss} != loss {t['loss'].item()}")
        for pname, p in zip(param_names(cfg), params(model, cfg)):
            if only is not None and pname != only:
                continue
            fd = torch.zeros_like(p)
            with torch.no_grad():
                for idx in np.ndindex(*p.shape):
                    if pname.startswith("encoder.") and idx[0] in tied:
                        fd[idx] = g["params"][pname][idx]
                        continue
                    old = p[idx].item()
                    vals = []
                    for s in (FD_STEP, -FD_STEP):
                        p[idx] = old + s
                        v, sig = surrogate_loss(model, x, cfg, counters, frozen, normalize)
                        if any(not np.array_equal(a, b) for a, b in zip(sig, base_sig)) or len(sig) != len(base_sig):
                            raise SystemExit(f"CHECK FAILED: {name}: a finite-difference step changed the selection")
                        vals.append(v)
                    p[idx] = old
                    fd[idx] = (vals[0] - vals[1]) / (2 * FD_STEP)
            ref = g["projected"] if normalize else g["params"][pname]
            label = (
                "projected decoder grad vs differences of L(W/‖W‖)" if normalize else "autograd vs central differences"
            )
            record(checks, f"{label} (float64), max rel", max_rel(ref.numpy(), fd.numpy()), 1e-6)


def check_float64_trajectory(name, cfg, x, state, counters, rec32, final32, checks):
    """Re-run the trajectory in float64 from the same float32 start: every selection, dead set and
    active set must match at all 11 points, and the float32 numbers must agree to well inside the Swift
    tests' tolerance (max |a − b| / max |b| per array)."""
    model = fresh_model(cfg, 0).double()
    model.load_state_dict({k: v.double() for k, v in state.items()})
    rec64 = train(model, x.double(), cfg, counters)
    for i, (p32, p64) in enumerate(zip(rec32["points"], rec64["points"])):
        for key in ("selected", "active", "dead", "auxSelected"):
            if key in p32 and not np.array_equal(p32[key], p64[key]):
                raise SystemExit(f"CHECK FAILED: {name}: float64 {key} differs from float32 at point {i}")
    if rec32["deadCounts"] != rec64["deadCounts"]:
        raise SystemExit(f"CHECK FAILED: {name}: dead counts differ between float32 and float64")
    for key in ("losses", "mses", "sparsities", "auxes", "thresholds"):
        if rec32[key] and any(rec32[key]):
            record(checks, "float32 vs float64 trajectory values, max rel", max_rel(rec32[key], rec64[key]), 1e-5)
    for a, b in zip(params(final32, cfg), params(model, cfg)):
        record(
            checks,
            "float32 vs float64 final parameters, max rel",
            max_rel(a.detach().numpy(), b.detach().numpy()),
            1e-5,
        )


def check_radix(name, cfg, rec, checks):
    """At every evaluated point, the simulated distributed radix selection over R = 1, 2, 3 ranks must
    give exactly the sort's selection. Returns the step-0 record for the fixture."""
    result = None
    for i, p in enumerate(rec["points"]):
        r = np.maximum(p["z"], 0).astype(np.float32)
        count = cfg.rows * cfg.k
        per_r = {}
        for ranks in RANK_COUNTS:
            ranges = rank_rows(cfg.rows, ranks)
            masks, info = radix_select([r[a:b] for a, b in ranges], count)
            if not np.array_equal(np.concatenate(masks), p["selected"]):
                raise SystemExit(f"CHECK FAILED: {name}: radix selection over {ranks} ranks differs at point {i}")
            per_r[str(ranks)] = dict(
                rowRanges=[list(rg) for rg in ranges], tieCounts=info["tieCounts"], tiesTaken=info["tiesTaken"]
            )
            if ranks > 1:  # R = 1's is the top-level "selected"
                per_r[str(ranks)]["selected"] = [mask_json(mk) for mk in masks]
        record(checks, "radix selection (R = 1, 2, 3) vs sort, entries differing", 0, 0)
        if i == 0:
            key = np.uint32(info["key"])
            value = short_float32(np.array([key ^ np.uint32(0x80000000)], dtype=np.uint32).view(np.float32)[0])
            result = dict(count=count, key=info["key"], keyValue=value, tiesToTake=info["tiesToTake"], ranks=per_r)
    return result


def check_exact_repeats(case: Case, rec, checks):
    """The tie cases need equal inputs to give bit-equal z (repeated rows of x, or duplicated encoder
    rows) at step 0; count the entries where torch's z differs."""
    cfg, z = case.config, rec["points"][0]["z"]
    bad = 0
    if case.ties == "rows":
        rmap = row_map(cfg, case.ties)
        for i in range(cfg.rows):
            first = int(np.nonzero(rmap == rmap[i])[0][0])
            bad += int((z[i] != z[first]).sum())
    if case.ties == "latents":
        bad = sum(int((z[:, j1] != z[:, j2]).sum()) for j1, j2 in duplicated_latents(cfg))
    if case.ties:
        record(checks, "repeated inputs give bit-equal z at step 0, entries differing", bad, 0)


def check_ste_functions(checks):
    """The custom Functions' backward really is Baselines.md's formulas, on hand-picked values."""
    z = torch.tensor([[0.2, 0.504, 0.497, 0.9], [0.51, 0.3, 0.7, 0.4951]], requires_grad=True)
    theta = torch.tensor([0.5, 0.5, 0.5, 0.5], requires_grad=True)
    g = torch.tensor([[0.3, -0.7, 1.5, -0.01], [2.0, 0.1, -0.4, 0.8]])
    eps = 0.01
    k = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    gz, gt = torch.autograd.grad(JumpReLU.apply(z, theta, eps), [z, theta], grad_outputs=g)
    record(checks, "STE backward vs formula, max abs", (gz - g * (z > 0.5)).abs().max().item(), 0.0)
    record(checks, "STE backward vs formula, max abs", (gt - (g * -(0.5 / eps) * k).sum(0)).abs().max().item(), 1e-6)
    gz, gt = torch.autograd.grad(Step.apply(z, theta, eps), [z, theta], grad_outputs=g)
    record(checks, "STE backward vs formula, max abs", gz.abs().max().item(), 0.0)
    record(checks, "STE backward vs formula, max abs", (gt - (g * (-1 / eps) * k).sum(0)).abs().max().item(), 1e-6)


def check_radix_ties(checks):
    """Hand-made ties: the radix selection takes tied values in global row order across ranks."""
    v = np.array([[3, 1, 1], [1, 2, 0], [1, 1, 5], [0, 1, 2]], dtype=np.float32)  # count 6: 5,3,2,2 + two 1s
    expect = np.array([[1, 1, 1], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool)
    for ranks in (1, 2, 3, 4):
        masks, _ = radix_select([v[a:b] for a, b in rank_rows(4, ranks)], 6)
        bad = int((np.concatenate(masks) != expect).sum()) + int((batch_topk_mask(v, 6) != expect).sum())
        record(checks, "hand-made tie cases (radix and sort), entries differing", bad, 0)
    m = row_topk_mask(np.array([[1, 2, 2, 0, 2]], dtype=np.float32), 2)
    record(
        checks,
        "hand-made tie cases (radix and sort), entries differing",
        int((m != np.array([[0, 1, 1, 0, 0]], dtype=bool)).sum()),
        0,
    )


# ------------------------------------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("Tests/BAEModelTests/Fixtures/sae"),
        help="directory for the <case>.json fixtures (default: %(default)s)",
    )
    ap.add_argument("--only", help="build just this case (for debugging; writes nothing)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # deterministic reductions, and the machine is shared

    checks: dict = {}
    check_ste_functions(checks)
    check_radix_ties(checks)
    built = []
    for case in cases():
        if args.only and case.name != args.only:
            continue
        out = build_case(case, checks)
        built.append(out)
        c = out["config"]
        extra = ""
        if c["architecture"] == "topk" and "deadCounts" in out:
            extra = f" dead/step={out['deadCounts']}"
        if "thresholds" in out:
            extra = f" θ: {out['thresholds'][0]:.4f}→{out['thresholds'][-1]:.4f}"
        if "tieGroup" in out:
            tg = out["tieGroup"]
            extra += f" tie group {len(tg['taken'])}/{len(tg['members'])} taken"
        gc = out["gradContribution"]
        extra += f" |g_S|/|g|={gc['sparsity']:.3f} |g_aux|/|g|={gc['aux']:.3f}"
        if "kernelHits" in out:
            extra += f" kernel hits/step={out['kernelHits']}"
        if "tieRows" in out:
            extra += f" tie rows {len(out['tieRows'])}"
        print(
            f"{out['case']:28s} d={c['inputDim']} d'={c['latentDim']} n={c['rows']}  margin={out['minMargin']:.2e} "
            f"mse={out['mse']:.4g} sparsity={out['sparsity']:.4g} aux={out['aux']:.4g} "
            f"loss {out['losses'][0]:.4g}→{out['losses'][-1]:.4g} changes={out['selectionChanges']}{extra}"
        )

    print("\ncross-checks (worst value over all cases; limit):")
    for name, values in checks.items():
        worst = max(v for v, _ in values)
        print(f"  {name:72s} {worst:.3e}  (<= {values[0][1]:.0e}, {len(values)} checks)")
    if args.only:
        return 0

    texts = {out["case"]: json.dumps(out, separators=(",", ":")) + "\n" for out in built}  # all, before any write
    args.out.mkdir(parents=True, exist_ok=True)
    for case_name, text in texts.items():
        (args.out / f"{case_name}.json").write_text(text)
    total = sum(len(t) for t in texts.values())
    print(f"\nwrote {len(built)} fixtures to {args.out} ({total / 1e6:.2f} MB), torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
