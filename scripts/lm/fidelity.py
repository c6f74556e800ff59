"""Output fidelity of a BAE: splice its reconstruction into the LM and compare next-token distributions.

For every context, the residual stream after `layer` blocks (HF hidden_states[layer]) is replaced row by
row with x̂ = BAE(x), the remaining blocks run, and the next-token distribution is compared with the
clean run: Jensen–Shannon divergence (bits, base 2, in [0, 1]) per position, and cross-entropy of the
actual next token (nats). A mean-ablation baseline (every spliced row replaced by the mean clean row)
and a zero-ablation baseline give the scale: CE recovered = 1 − ΔCE(model) / ΔCE(ablation); KL(clean ‖ spliced)
in nats. Keys also carry SAELens's names: ce_loss_score = CE recovered vs zero ablation, kl_div_with_sae,
kl_div_with_ablation = KL(clean ‖ zero-ablated), kl_div_score = 1 − kl_div_with_sae / kl_div_with_ablation.
"""

from __future__ import annotations

import numpy as np


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def js_bits(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence per row, in bits, from log-probabilities (T, V)."""
    p, q = np.exp(lp), np.exp(lq)
    m = 0.5 * (p + q)
    lm = np.log(np.maximum(m, 1e-45))
    kl = lambda a, la: np.sum(a * (la - lm), axis=-1)  # noqa: E731
    return np.maximum(0.5 * kl(p, lp) + 0.5 * kl(q, lq), 0.0) / np.log(2.0)


def kl_nats(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """KL(P‖Q) per row, in nats, from log-probabilities (T, V): the clean P against the spliced Q."""
    return np.maximum(np.sum(np.exp(lp) * (lp - lq), axis=-1), 0.0)


def evaluate(net, docs, layer: int, reconstruct, skip_bos: bool, batch_tokens: int = 1024, progress=None) -> dict:
    """net: lm.llama.NumpyLlama; docs: token lists (BOS included); reconstruct: (n, d) → (n, d)."""
    groups, cur, n = [], [], 0
    for d in docs:
        if cur and n + len(d) > batch_tokens:
            groups.append(cur)
            cur, n = [], 0
        cur.append(d)
        n += len(d)
    if cur:
        groups.append(cur)

    # Pass 1: states at the layer (for the reconstruction and the mean-ablation baseline).
    states = [net.hidden(g, layer) for g in groups]
    pos_all = [np.concatenate([np.arange(len(d)) for d in g]) for g in groups]
    body = np.concatenate([s[p > 0] if skip_bos else s for s, p in zip(states, pos_all)])
    mean_row = body.mean(axis=0)

    acc = {
        k: [] for k in ("js_bae", "js_mean", "ce_clean", "ce_bae", "ce_mean", "ce_zero", "kl_bae", "kl_zero", "js_zero")
    }
    sq_err, sq_tot, rows = 0.0, 0.0, 0
    for gi, (g, x, pos) in enumerate(zip(groups, states, pos_all)):
        spliced = pos > 0 if skip_bos else np.ones(len(pos), bool)
        xr = x.copy()
        xr[spliced] = reconstruct(x[spliced])
        xm = x.copy()
        xm[spliced] = mean_row
        xz = x.copy()
        xz[spliced] = 0.0
        sq_err += float(((xr - x)[spliced] ** 2).sum())
        sq_tot += float(((x[spliced] - mean_row) ** 2).sum())
        rows += int(spliced.sum())
        lc = log_softmax(net.logits_from(g, x, layer))
        lb = log_softmax(net.logits_from(g, xr, layer))
        lmn = log_softmax(net.logits_from(g, xm, layer))
        lz = log_softmax(net.logits_from(g, xz, layer))
        ids = np.concatenate([np.asarray(d) for d in g])
        # Positions that have a next token inside their document; the BOS row's prediction is left out.
        has_next = np.concatenate([np.r_[np.ones(len(d) - 1, bool), False] for d in g])
        use = has_next & ((pos > 0) if skip_bos else True)
        nxt = np.roll(ids, -1)

        def pick(logp, use=use, nxt=nxt):  # next-token cross-entropy of this group's rows
            return -logp[np.flatnonzero(use), nxt[use]]

        acc["js_bae"].append(js_bits(lc[use], lb[use]))
        acc["js_mean"].append(js_bits(lc[use], lmn[use]))
        acc["ce_clean"].append(pick(lc))
        acc["ce_bae"].append(pick(lb))
        acc["ce_mean"].append(pick(lmn))
        acc["ce_zero"].append(pick(lz))
        acc["kl_bae"].append(kl_nats(lc[use], lb[use]))
        acc["kl_zero"].append(kl_nats(lc[use], lz[use]))
        acc["js_zero"].append(js_bits(lc[use], lz[use]))
        if progress:
            progress(gi + 1, len(groups))
    a = {k: np.concatenate(v) for k, v in acc.items()}
    ce_c, ce_b, ce_m, ce_z = (float(a[k].mean()) for k in ("ce_clean", "ce_bae", "ce_mean", "ce_zero"))
    recovered = lambda base: (1.0 - (ce_b - ce_c) / (base - ce_c)) if base != ce_c else None  # noqa: E731
    return {
        "layer": layer,
        "positions_scored": int(a["js_bae"].size),
        "rows_spliced": rows,
        "skip_bos": skip_bos,
        "js_bits_mean": float(a["js_bae"].mean()),
        "js_bits_median": float(np.median(a["js_bae"])),
        "js_bits_p90": float(np.percentile(a["js_bae"], 90)),
        "js_bits_mean_ablation": float(a["js_mean"].mean()),
        "ce_clean_nats": ce_c,
        "ce_bae_nats": ce_b,
        "ce_mean_ablation_nats": ce_m,
        "ce_increase_nats": ce_b - ce_c,
        "ce_increase_mean_ablation_nats": ce_m - ce_c,
        "fraction_ce_recovered": recovered(ce_m),
        # the names SAELens's evaluation uses
        "ce_loss_without_sae": ce_c,
        "ce_loss_with_sae": ce_b,
        "ce_loss_with_ablation": ce_z,
        "ce_loss_score": recovered(ce_z),
        "ce_loss_score_mean_ablation": recovered(ce_m),
        "kl_div_with_sae": float(a["kl_bae"].mean()),
        "kl_div_with_ablation": float(a["kl_zero"].mean()),
        "kl_div_score": (1.0 - float(a["kl_bae"].mean()) / float(a["kl_zero"].mean()))
        if float(a["kl_zero"].mean()) > 0
        else None,
        "js_bits_zero_ablation": float(a["js_zero"].mean()),
        "js_div_with_sae_bits": float(a["js_bae"].mean()),
        "reconstruction_fvu": sq_err / sq_tot if sq_tot > 0 else None,
    }
