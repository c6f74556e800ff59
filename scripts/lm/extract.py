"""One extraction run: corpus → token lists → hidden states at a layer → .npy + TSVs + meta JSON.

Outputs for --out-prefix P (the meta JSON is written last and doubles as the completion marker):
  P.npy           (rows, d) float32 or float16, rows in TSV order
  P.tokens.tsv    row, context, position, token_id, document_id, text   (one line per kept row)
  P.docs.tsv      context, document_id, title, topic, description, n_tokens, n_rows_kept, truncated
  P.dropped.tsv   context, position, token_id, document_id, norm, reason (rows left out of P.npy)
  P.meta.json     {"config": what determines the outputs, "stats": norms/sinks/timing, "files": …}
A run whose P.meta.json has the same "config" and whose files exist is skipped (cache hit).
TSV text fields escape backslash, tab, newline and carriage return as \\\\, \\t, \\n, \\r.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import corpus as corpus_mod
from .gguf_model import file_sha256

FORMAT_VERSION = 1


@dataclass
class ExtractConfig:
    out_prefix: str
    gguf: str
    corpus: str
    layer: int = 15
    backend: str = "numpy"
    hf_model: str | None = None
    max_docs: int | None = None
    max_tokens: int | None = 100_000
    context: int = 512
    bos: str | None = "<|endoftext|>"
    dtype: str = "f32"
    drop_bos: bool = False
    drop_sinks: float = 0.0
    seed: int | None = 0
    batch_tokens: int = 2048
    threads: int | None = None
    progress: bool = True
    force: bool = False
    extra: dict = field(default_factory=dict)


def escape_tsv(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def unescape_tsv(s: str) -> str:
    out, i = [], 0
    table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in table:
            out.append(table[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _paths(prefix: str) -> dict:
    return {k: f"{prefix}.{k}" for k in ("npy", "tokens.tsv", "docs.tsv", "dropped.tsv", "meta.json")}


def _log(cfg: ExtractConfig, msg: str) -> None:
    if cfg.progress:
        print(f"[extract] {msg}", file=sys.stderr, flush=True)


def _fmt_eta(sec: float) -> str:
    sec = int(max(sec, 0))
    return f"{sec // 3600}h{sec % 3600 // 60:02d}m" if sec >= 3600 else f"{sec // 60}m{sec % 60:02d}s"


def identity(cfg: ExtractConfig) -> dict:
    """Everything that determines the outputs (the cache key). Files are identified by sha256."""
    return {
        "format_version": FORMAT_VERSION,
        "backend": cfg.backend,
        "model_file": os.path.basename(cfg.gguf) if not cfg.hf_model else None,
        "model_sha256": file_sha256(cfg.gguf) if not cfg.hf_model else None,
        "hf_model": cfg.hf_model,
        "layer": cfg.layer,
        "layer_convention": "HF hidden_states[layer]: 0 = embeddings, l = residual stream after l blocks, "
        "n_layers = after the final RMSNorm",
        "corpus_file": os.path.basename(cfg.corpus),
        "corpus_sha256": file_sha256(cfg.corpus),
        "max_docs": cfg.max_docs,
        "max_tokens": cfg.max_tokens,
        "context": cfg.context,
        "bos": cfg.bos,
        "dtype": cfg.dtype,
        "drop_bos": cfg.drop_bos,
        "drop_sinks": cfg.drop_sinks,
        "seed": cfg.seed,
        **cfg.extra,
    }


def cached(cfg: ExtractConfig, ident: dict) -> dict | None:
    p = _paths(cfg.out_prefix)
    if cfg.force or not all(os.path.isfile(x) for x in p.values()):
        return None
    try:
        with open(p["meta.json"]) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    return meta if meta.get("config") == ident else None


def _tokenized(backend, docs, chunk: int = 256):
    """(doc, ids) pairs, tokenising lazily in chunks so a small --max-tokens reads few documents."""
    for a in range(0, len(docs), chunk):
        part = docs[a : a + chunk]
        yield from zip(part, backend.tokenize([d.text for d in part]))


def plan_contexts(cfg, doc_tokens, bos_id):
    """[(doc, ids, truncated)] with BOS prepended, each ≤ context tokens, in total ≤ max_tokens."""
    plan, total = [], 0
    for doc, ids in doc_tokens:
        ids = ([bos_id] if bos_id is not None else []) + list(ids)
        truncated = len(ids) > cfg.context
        ids = ids[: cfg.context]
        if cfg.max_tokens is not None and total + len(ids) > cfg.max_tokens:
            ids, truncated = ids[: cfg.max_tokens - total], True
        if len(ids) < 2 and bos_id is not None or not ids:
            break
        plan.append((doc, ids, truncated))
        total += len(ids)
        if cfg.max_tokens is not None and total >= cfg.max_tokens:
            break
    return plan


def norm_stats(x: np.ndarray, positions: np.ndarray, token_ids: np.ndarray, special_ids: set) -> dict:
    """Norm and outlier-dimension facts over all rows (before any dropping)."""
    n = np.linalg.norm(x, axis=1)
    med = float(np.median(n))
    inner = positions >= 2
    sep = np.isin(token_ids, list(special_ids)) & (positions > 0)
    body = x[inner] if inner.any() else x
    mean = body.mean(axis=0)
    top = np.argsort(-np.abs(mean))[:4]

    def group(mask):
        if not mask.any():
            return None
        g = n[mask]
        return {"rows": int(mask.sum()), "mean_norm": float(g.mean()), "ratio_to_median": float(g.mean() / med)}

    return {
        "median_norm": med,
        "mean_norm": float(n.mean()),
        "p99_norm": float(np.percentile(n, 99)),
        "max_norm": float(n.max()),
        "max_abs_value": float(np.abs(x).max()),
        "position_0": group(positions == 0),
        "position_1": group(positions == 1),
        "positions_2_plus": group(inner),
        "special_token_rows_after_0": group(sep),
        "rows_over_10x_median": int((n > 10 * med).sum()),
        "rows_over_50x_median": int((n > 50 * med).sum()),
        "rows_over_100x_median": int((n > 100 * med).sum()),
        "top_mean_dims_positions_2_plus": [
            {"dim": int(d), "mean": float(mean[d]), "std": float(body[:, d].std())} for d in top
        ],
        "median_abs_dim_mean": float(np.median(np.abs(mean))),
    }


def run(cfg: ExtractConfig, backend=None) -> dict:
    """Runs (or reuses) an extraction; returns the meta dict."""
    from .backends import make_backend

    ident = identity(cfg)
    hit = cached(cfg, ident)
    if hit is not None:
        _log(cfg, f"cached: {cfg.out_prefix}.* has the same config ({hit['stats']['rows_kept']} rows); skipping")
        return hit
    t_load = time.time()
    if backend is None:
        backend = make_backend(cfg.backend, cfg.gguf, cfg.hf_model, cfg.threads)
    if cfg.threads and cfg.backend == "numpy":
        _log(cfg, "note: numpy's BLAS threads follow OPENBLAS_NUM_THREADS (set before start), not --threads")
    if not 0 <= cfg.layer <= backend.n_layers:
        raise ValueError(f"--layer {cfg.layer} outside 0..{backend.n_layers} for this model")
    bos_id = backend.token_id(cfg.bos) if cfg.bos else None
    backend.prepare(cfg.layer)
    all_docs = corpus_mod.load_corpus(cfg.corpus)
    docs = corpus_mod.select(all_docs, cfg.max_docs, cfg.seed)
    plan = plan_contexts(cfg, _tokenized(backend, docs), bos_id)
    total = sum(len(ids) for _, ids, _ in plan)
    load_s = time.time() - t_load
    _log(
        cfg,
        f"{backend.name} backend, layer {cfg.layer}/{backend.n_layers}: {len(plan)} documents, "
        f"{total} tokens (load {load_s:.1f} s)",
    )

    # Forward in batches of whole documents (≈ batch_tokens rows each).
    chunks, done, t0, last = [], 0, time.time(), 0.0
    i = 0
    while i < len(plan):
        j, n = i, 0
        while j < len(plan) and (j == i or n + len(plan[j][1]) <= cfg.batch_tokens):
            n += len(plan[j][1])
            j += 1
        chunks.append(backend.hidden([ids for _, ids, _ in plan[i:j]], cfg.layer).astype(np.float32))
        done += n
        i = j
        now = time.time()
        if now - last > 2.0 or i == len(plan):
            rate = done / max(now - t0, 1e-9)
            _log(
                cfg,
                f"{done}/{total} tokens  {i}/{len(plan)} docs  {rate:.0f} tok/s  "
                f"ETA {_fmt_eta((total - done) / max(rate, 1e-9))}",
            )
            last = now
    forward_s = time.time() - t0
    x = np.concatenate(chunks) if chunks else np.zeros((0, backend.dim), np.float32)
    del chunks

    ctx = np.concatenate([np.full(len(ids), c) for c, (_, ids, _) in enumerate(plan)])
    pos = np.concatenate([np.arange(len(ids)) for _, ids, _ in plan])
    tok = np.concatenate([np.asarray(ids) for _, ids, _ in plan])
    doc_id = np.concatenate([np.full(len(ids), d.document_id) for d, ids, _ in plan])
    special = {bos_id} if bos_id is not None else set()
    try:
        special.add(backend.token_id("<|endoftext|>"))  # SmolLM2's document separator
    except KeyError:
        pass
    stats = norm_stats(x, pos, tok, special)

    # Drops: BOS rows, then rows whose norm exceeds K × the median norm of all rows.
    norms = np.linalg.norm(x, axis=1)
    reason = np.full(len(x), "", dtype=object)
    if cfg.drop_bos and bos_id is not None:
        reason[(pos == 0) & (tok == bos_id)] = "bos"
    if cfg.drop_sinks > 0:
        thr = cfg.drop_sinks * stats["median_norm"]
        reason[(reason == "") & (norms > thr)] = f"sink(norm>{cfg.drop_sinks:g}x median={thr:.1f})"
    keep = reason == ""
    dropped = {
        "rows": int((~keep).sum()),
        "bos": int((reason == "bos").sum()),
        "sinks": int(((reason != "") & (reason != "bos")).sum()),
        "sink_threshold_norm": cfg.drop_sinks * stats["median_norm"] if cfg.drop_sinks > 0 else None,
        "sinks_by_position": {
            str(k): int(v)
            for k, v in zip(*np.unique(np.minimum(pos[(reason != "") & (reason != "bos")], 2), return_counts=True))
        },
        "documents_truncated": int(sum(t for _, _, t in plan)),
        "documents_skipped_empty": sum(1 for d in all_docs if not d.text),
    }
    xk = x[keep]
    if cfg.dtype == "f16":
        if np.abs(xk).max(initial=0) > 65504:
            raise ValueError("values exceed float16 range (65504): use --dtype f32 or --drop-sinks")
        xk = xk.astype(np.float16)

    paths = _paths(cfg.out_prefix)
    os.makedirs(os.path.dirname(os.path.abspath(cfg.out_prefix)), exist_ok=True)
    if os.path.exists(paths["meta.json"]):
        os.remove(paths["meta.json"])  # an interrupted rewrite must not look complete
    texts = {}

    def text(t):
        if t not in texts:
            texts[t] = escape_tsv(backend.decode_one(int(t)))
        return texts[t]

    tmp = paths["npy"] + ".tmp.npy"
    np.save(tmp, xk)
    os.replace(tmp, paths["npy"])
    kept_per_ctx = np.bincount(ctx[keep], minlength=len(plan))
    with open(paths["tokens.tsv"], "w", encoding="utf-8") as f:
        f.write("row\tcontext\tposition\ttoken_id\tdocument_id\ttext\n")
        for r, k in enumerate(np.flatnonzero(keep)):
            f.write(f"{r}\t{ctx[k]}\t{pos[k]}\t{tok[k]}\t{doc_id[k]}\t{text(tok[k])}\n")
    with open(paths["docs.tsv"], "w", encoding="utf-8") as f:
        f.write("context\tdocument_id\ttitle\ttopic\tdescription\tn_tokens\tn_rows_kept\ttruncated\n")
        for c, (d, ids, tr) in enumerate(plan):
            f.write(
                f"{c}\t{d.document_id}\t{escape_tsv(d.title)}\t{escape_tsv(d.topic)}\t"
                f"{escape_tsv(d.description)}\t{len(ids)}\t{kept_per_ctx[c]}\t{int(tr)}\n"
            )
    with open(paths["dropped.tsv"], "w", encoding="utf-8") as f:
        f.write("context\tposition\ttoken_id\tdocument_id\tnorm\treason\ttext\n")
        for k in np.flatnonzero(~keep):
            f.write(f"{ctx[k]}\t{pos[k]}\t{tok[k]}\t{doc_id[k]}\t{norms[k]:.2f}\t{reason[k]}\t{text(tok[k])}\n")

    stats.update(
        {
            "rows_total": int(len(x)),
            "rows_kept": int(keep.sum()),
            "documents": len(plan),
            "dim": int(backend.dim),
            "dropped": dropped,
            "load_seconds": round(load_s, 2),
            "forward_seconds": round(forward_s, 2),
            "tokens_per_second": round(len(x) / max(forward_s, 1e-9), 1),
        }
    )
    meta = {
        "config": ident,
        "model": backend.info(),
        "stats": stats,
        "corpus": {
            "path": os.path.abspath(cfg.corpus),
            "documents_available": len(docs),
            "order": "file" if cfg.seed is None else f"shuffled with seed {cfg.seed}",
        },
        "files": {k: os.path.basename(v) for k, v in paths.items()},
        "npy": {"shape": list(xk.shape), "dtype": str(xk.dtype)},
    }
    with open(paths["meta.json"] + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(paths["meta.json"] + ".tmp", paths["meta.json"])
    _log(
        cfg,
        f"wrote {paths['npy']} {tuple(xk.shape)} {xk.dtype}; dropped {dropped['rows']} rows; "
        f"{stats['tokens_per_second']:.0f} tok/s",
    )
    return meta
