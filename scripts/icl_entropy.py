#!/usr/bin/env python3
"""In-context learning vs entropy (spec §7): Ĥ of the final prompt token's hidden state against the
number of demonstrations, on a topic-classification task built from the Wikipedia corpus.

Prompt for query q with k demonstrations (BOS first, as in the extraction):
    <|endoftext|>Text: <first words of article d1>\\nTopic: <topic of d1>\\n\\n ... Text: <q>\\nTopic:
The last token is ":"; its layer-ℓ state is collected for every query, giving one (N, d) set per k.
Queries are the same for every k, and the demonstrations of k are the first k of a fixed per-query list
(nested), drawn from other articles than the queries. Topics: the corpus's 11 labels without
"Uncategorized". Then, per k: Ĥ = Σ_j H_b(p_j) of the set under a trained BAE, computed here in numpy
and by `bae entropy --json` (both are reported; they must agree), plus, with --accuracy, the LM's
accuracy when its next token is restricted to the first tokens of the 11 labels (runs all 30 blocks).

  .venv-lm/bin/python scripts/icl_entropy.py --model RUN/model --out RUN/icl [--shots 0,1,2,4,8]
      [--queries 48] [--words 24] [--layer 15] [--accuracy] [--bae .build/release/bae] [--seed 0]

Writes OUT/icl_k{K}.npy (N, d) float32, OUT/icl.json, and prints a table. Plot: scripts/plot_icl.py.
The BAE must have been trained on the same layer of the same LM (checked against the model's width).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lm import locate  # noqa: E402
from lm.backends import make_backend  # noqa: E402
from lm.bae import BAE  # noqa: E402
from lm.corpus import load_corpus  # noqa: E402
from lm.llama import rms_norm  # noqa: E402

EPS = 1e-10  # inside the logs of H_b, as in the trainer (spec §3)


def binary_entropy_bits(p: np.ndarray) -> float:
    p = np.asarray(p, dtype=np.float64)
    inner = (p > 0) & (p < 1)
    q = p[inner]
    return float(np.sum(-q * np.log2(q + EPS) - (1 - q) * np.log2(1 - q + EPS)))


def snippet(text: str, words: int) -> str:
    return " ".join(text.replace("\n", " ").split()[:words])


def build_task(docs, n_queries: int, max_shots: int, words: int, seed: int):
    """Queries and, per query, a list of max_shots demonstrations (nested prefixes give each k)."""
    labelled = [d for d in docs if d.text and d.topic and d.topic != "Uncategorized"]
    rng = random.Random(seed)
    rng.shuffle(labelled)
    queries = labelled[:n_queries]
    pool = labelled[n_queries:]
    demos = [rng.sample(pool, max_shots) for _ in queries]
    topics = sorted({d.topic for d in labelled})
    return queries, demos, topics


def prompt_text(query, demos, words: int) -> str:
    parts = [f"Text: {snippet(d.text, words)}\nTopic: {d.topic}\n\n" for d in demos]
    return "".join(parts) + f"Text: {snippet(query.text, words)}\nTopic:"


def last_logits(net, docs, x: np.ndarray, layer: int) -> np.ndarray:
    """Next-token logits of the LAST row of every doc, given the residual stream x after `layer` blocks."""
    _, pos, segments = net.pack(docs)
    for i in range(layer, net.cfg.n_layers):
        x = net.block(i, x, pos, segments)
    ends = np.cumsum([len(d) for d in docs]) - 1
    last = rms_norm(x[ends], net._w("output_norm.weight"), net.cfg.norm_eps)
    return last @ net.model.lm_head().T


def find_bae_binary(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("BAE"):
        return os.environ["BAE"]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for c in (shutil.which("bae"), os.path.join(here, ".build", "release", "bae")):
        if c and os.access(c, os.X_OK):
            return c
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="BAE run directory (model.safetensors) or the .safetensors file")
    ap.add_argument("--out", required=True)
    ap.add_argument("--shots", default="0,1,2,4,8")
    ap.add_argument("--queries", type=int, default=48)
    ap.add_argument("--words", type=int, default=24, help="words of each article's lead shown per example")
    ap.add_argument("--layer", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=8, help="prompts per forward call")
    ap.add_argument(
        "--accuracy", action="store_true", help="also run all blocks and score the restricted next-token choice"
    )
    ap.add_argument("--bae", help="bae binary for the cross-check (default: $BAE, PATH, .build/release/bae)")
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--corpus", default=None)
    a = ap.parse_args()

    shots = sorted({int(s) for s in a.shots.split(",")})
    if shots[0] < 0:
        sys.exit("--shots must be non-negative integers")
    model_path = a.model if a.model.endswith(".safetensors") else os.path.join(a.model, "model.safetensors")
    bae = BAE.load(model_path)
    os.makedirs(a.out, exist_ok=True)

    t0 = time.time()
    backend = make_backend("numpy", a.gguf or locate.default_gguf())
    if bae.input_dim != backend.dim:
        sys.exit(f"{model_path}: the BAE has input width {bae.input_dim} but the LM's width is {backend.dim}")
    backend.prepare(a.layer if not a.accuracy else backend.n_layers)
    net = backend.net
    bos = backend.token_id("<|endoftext|>")
    docs = load_corpus(a.corpus or locate.default_corpus())
    queries, demos, topics = build_task(docs, a.queries, max(shots), a.words, a.seed)
    label_first = [backend.tokenize([" " + t])[0][0] for t in topics]
    if len(set(label_first)) != len(topics):
        sys.exit(f"topic labels share first tokens: {dict(zip(topics, label_first))}")
    colon = backend.tokenize([":"])[0]

    results = []
    for k in shots:
        prompts = [[bos] + backend.tokenize([prompt_text(q, ds[:k], a.words)])[0] for q, ds in zip(queries, demos)]
        if any(p[-1] != colon[-1] for p in prompts):
            sys.exit("a prompt does not end in the ':' token; the tokenizer merged it with the text before")
        states, correct = [], 0
        tk = time.time()
        for i in range(0, len(prompts), a.batch):
            chunk = prompts[i : i + a.batch]
            x = net.hidden(chunk, a.layer)  # (Σ len, d)
            ends = np.cumsum([len(p) for p in chunk]) - 1
            states.append(x[ends].astype(np.float32))
            if a.accuracy:
                logits = last_logits(net, chunk, x, a.layer)[:, label_first]
                for j, row in enumerate(logits):
                    correct += int(topics[int(np.argmax(row))] == queries[i + j].topic)
        s = np.concatenate(states)
        path = os.path.join(a.out, f"icl_k{k}.npy")
        np.save(path, s)
        bits = bae.encode(s)
        rates = bits.mean(axis=0)
        r = {
            "shots": k,
            "rows": int(s.shape[0]),
            "mean_prompt_tokens": float(np.mean([len(p) for p in prompts])),
            "entropy_bits": binary_entropy_bits(rates),
            "l0": float(bits.sum(axis=1).mean()),
            "npy": path,
            "seconds": round(time.time() - tk, 1),
        }
        if a.accuracy:
            r["accuracy"] = correct / len(prompts)
        results.append(r)
        print(
            f"[icl] k={k}: {r['rows']} prompts of ~{r['mean_prompt_tokens']:.0f} tokens, "
            f"Ĥ {r['entropy_bits']:.2f} bits"
            + (f", accuracy {r['accuracy']:.3f}" if a.accuracy else "")
            + f" ({r['seconds']} s)",
            file=sys.stderr,
        )

    binary = find_bae_binary(a.bae)
    for r in results:
        if not binary:
            r["entropy_bits_bae_cli"] = None
            continue
        out = subprocess.run(
            [binary, "entropy", "--model", os.path.dirname(model_path), "--data", r["npy"], "--json"],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            sys.exit(f"{binary} entropy failed on {r['npy']}: {out.stderr.strip()}")
        r["entropy_bits_bae_cli"] = json.loads(out.stdout)["entropy_bits"]
        if abs(r["entropy_bits_bae_cli"] - r["entropy_bits"]) > 1e-3 * max(1.0, r["entropy_bits"]):
            print(
                f"[icl] warning: k={r['shots']}: numpy Ĥ {r['entropy_bits']:.4f} vs bae entropy {r['entropy_bits_bae_cli']:.4f} "
                "(rows near a bit's threshold can flip between float32 GEMMs)",
                file=sys.stderr,
            )

    report = {
        "model": model_path,
        "layer": a.layer,
        "queries": a.queries,
        "words": a.words,
        "seed": a.seed,
        "topics": topics,
        "prompt_format": "BOS + k x 'Text: ...\\nTopic: T\\n\\n' + 'Text: ...\\nTopic:'",
        "final_token": ":",
        "bae_binary": binary,
        "seconds": round(time.time() - t0, 1),
        "results": results,
    }
    with open(os.path.join(a.out, "icl.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"{'k':>3} {'tokens':>7} {'Ĥ bits':>8} {'bae CLI':>8} {'L0':>7}" + ("  accuracy" if a.accuracy else ""))
    for r in results:
        cli = r["entropy_bits_bae_cli"]
        print(
            f"{r['shots']:>3} {r['mean_prompt_tokens']:>7.0f} {r['entropy_bits']:>8.2f} "
            f"{(f'{cli:.2f}' if cli is not None else '-'):>8} {r['l0']:>7.1f}"
            + (f"  {r['accuracy']:.3f}" if a.accuracy else "")
        )
    print(os.path.join(a.out, "icl.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
