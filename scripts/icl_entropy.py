#!/usr/bin/env python3
"""In-context learning vs entropy (spec §7): Ĥ of the final prompt token's hidden state against the
number of demonstrations, on a topic-classification task built from the Wikipedia corpus.

Prompt for query q with k demonstrations (BOS first, as in the extraction):
    <|endoftext|>Text: <first words of article d1>\\nTopic: <topic of d1>\\n\\n ... Text: <q>\\nTopic:
The last token is ":"; its layer-ℓ state is collected for every query, giving one (N, d) set per k.
Queries are the same for every k, and the demonstrations of k are the first k of a fixed per-query list
(nested), drawn from other articles than the queries. Topics: the corpus's 11 labels without
"Uncategorized". With --accuracy the LM's accuracy is measured too, its next token restricted to the
first tokens of the 11 labels (runs all 30 blocks): the sanity check that in-context learning happens.

Two ways to measure Ĥ per k (equal set sizes: every k has the same N queries):
  --train-seeds S1,S2,..  (the paper's way) train one BAE per seed ON THE ICL STATES: the union of all k's
      sets (shuffled rows; `bae train`, no validation split), then Ĥ of each k's set under it with
      `bae entropy --json`; reports mean ± std over the seeds. One BAE on the union, not one per k, so that
      every k is measured in the same code: Ĥ's scale depends on the model it is measured with.
      --center first subtracts the union's mean and divides by its RMS deviation (one affine map for all
      k): without it the few huge offset dimensions of the residual stream leave almost every bit constant
      on these small sets (Ĥ of a few bits; Analysis.md).
  --model RUN/model        a BAE trained elsewhere (e.g. on Wikipedia token states): Ĥ in numpy and with
      `bae entropy --json` (a disagreement is printed).
States are cached in OUT (icl_k{K}.npy + states.json) and reused when the task settings match.

  python scripts/icl_entropy.py --out RUN/icl --train-seeds 0,1,2 --center --queries 32 --accuracy
      [--accuracy-queries N] [--shots 0,1,2,4,8] [--words 24] [--layer 15] [--latent-dim 576]
      [--train-steps 1500] [--train-batch 64] [--model RUN/model] [--bae .build/release/bae] [--seed 0]

Writes OUT/icl_k{K}.npy (N, d) float32 + icl_k{K}.json (per k, so an interrupted LM pass resumes),
OUT/states.json, OUT/icl.json (icl.centered.json with --center), OUT/seed_S/ (BAEs), and prints a table. Plot: scripts/plot_icl.py.
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


def extract_states(a, shots, out):
    """LM pass: the final ':' state of every prompt per k (cached), with the restricted accuracy."""
    key = {
        "shots": shots,
        "queries": a.queries,
        "words": a.words,
        "layer": a.layer,
        "seed": a.seed,
        "accuracy": a.accuracy,
        "accuracy_queries": a.accuracy_queries,
        "gguf": a.gguf,
        "corpus": a.corpus,
    }
    meta_path = os.path.join(out, "states.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("key") == key and all(os.path.exists(r["npy"]) for r in meta["results"]):
            print(f"[icl] states cached in {meta_path}", file=sys.stderr)
            return meta
    t0 = time.time()
    backend = make_backend("numpy", a.gguf or locate.default_gguf())
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
    n_acc = min(a.accuracy_queries or len(queries), len(queries)) if a.accuracy else 0
    for k in shots:
        part = os.path.join(out, f"icl_k{k}.json")
        if os.path.exists(part):
            with open(part) as f:
                r = json.load(f)
            if r.get("key") == key and os.path.exists(r["npy"]):
                print(f"[icl] k={k}: cached in {part}", file=sys.stderr)
                results.append(r)
                continue
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
            if i < n_acc:  # the rest of the blocks only for the first n_acc queries
                scored = chunk[: n_acc - i]
                logits = last_logits(net, scored, x[: sum(len(p) for p in scored)], a.layer)[:, label_first]
                for j, row in enumerate(logits):
                    correct += int(topics[int(np.argmax(row))] == queries[i + j].topic)
        s = np.concatenate(states)
        path = os.path.join(out, f"icl_k{k}.npy")
        np.save(path, s)
        r = {
            "shots": k,
            "rows": int(s.shape[0]),
            "mean_prompt_tokens": float(np.mean([len(p) for p in prompts])),
            "npy": path,
            "seconds": round(time.time() - tk, 1),
        }
        if a.accuracy:
            r["accuracy"] = correct / n_acc
            r["accuracy_queries"] = n_acc
        r["key"] = key
        with open(part, "w") as f:
            json.dump(r, f, indent=2)
        results.append(r)
        print(
            f"[icl] k={k}: {r['rows']} prompts of ~{r['mean_prompt_tokens']:.0f} tokens"
            + (f", accuracy {r['accuracy']:.3f}" if a.accuracy else "")
            + f" ({r['seconds']} s)",
            file=sys.stderr,
        )
    majority = max(topics, key=lambda t: sum(q.topic == t for q in queries))
    meta = {
        "key": key,
        "topics": topics,
        "query_topics": [q.topic for q in queries],
        "majority_baseline": sum(q.topic == majority for q in queries) / len(queries),
        "lm_seconds": round(time.time() - t0, 1),
        "results": results,
    }
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def run_bae(binary: str, args: list[str]) -> str:
    out = subprocess.run([binary] + args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args[:1])} failed: {out.stderr.strip()[-2000:]}")
    return out.stdout


def cli_entropy(binary: str, model_dir: str, npy: str) -> dict:
    return json.loads(run_bae(binary, ["entropy", "--model", model_dir, "--data", npy, "--json"]))


def train_on_states(a, binary: str, results: list, seeds: list[int], out: str) -> list[dict]:
    """One BAE per seed on the shuffled union of all k's states; Ĥ of each k's set under each."""
    sets = {r["shots"]: np.load(r["npy"]) for r in results}
    union = np.concatenate(list(sets.values()))
    tag = ""
    if a.center:
        # one affine map for every k: subtract the union's mean, divide by its RMS deviation per dimension
        mu = union.mean(axis=0)
        scale = float(np.sqrt(((union - mu) ** 2).sum(axis=1).mean() / union.shape[1]))
        union = (union - mu) / scale
        tag = ".centered"
        for r in results:
            r["npy_trained"] = os.path.join(out, f"icl_k{r['shots']}{tag}.npy")
            np.save(r["npy_trained"], ((sets[r["shots"]] - mu) / scale).astype(np.float32))
    rng = np.random.default_rng(a.seed)
    union = union[rng.permutation(len(union))]
    union_path = os.path.join(out, f"icl_union{tag}.npy")
    np.save(union_path, union)
    runs = []
    for s in seeds:
        model_dir = os.path.join(out, f"seed_{s}{tag}")
        shutil.rmtree(model_dir, ignore_errors=True)
        t0 = time.time()
        args = [
            "train",
            "--data",
            union_path,
            "--latent-dim",
            str(a.latent_dim),
            "--steps",
            str(a.train_steps),
            "--batch-size",
            str(min(a.train_batch, len(union))),
            "--seed",
            str(s),
            "--validation-fraction",
            "0",
            "--log-every",
            str(max(1, a.train_steps // 5)),
            "--out",
            model_dir,
        ]
        run_bae(binary, args)
        per_k = {}
        for r in results:
            e = cli_entropy(binary, model_dir, r.get("npy_trained", r["npy"]))
            per_k[str(r["shots"])] = {
                "entropy_bits": e["entropy_bits"],
                "l0": e["l0"],
                "fvu": e["fvu"],
                "dead_bits": e["dead_bits"],
                "always_on_bits": e["always_on_bits"],
            }
        u = cli_entropy(binary, model_dir, union_path)
        runs.append(
            {
                "seed": s,
                "model": model_dir,
                "train_seconds": round(time.time() - t0, 1),
                "union_entropy_bits": u["entropy_bits"],
                "union_fvu": u["fvu"],
                "per_k": per_k,
            }
        )
        print(
            f"[icl] seed {s}: "
            + ", ".join(f"k={k} Ĥ {v['entropy_bits']:.1f}" for k, v in per_k.items())
            + f" (union fvu {u['fvu']:.3f}, {runs[-1]['train_seconds']} s)",
            file=sys.stderr,
        )
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", help="also measure under this BAE (run directory or .safetensors) trained elsewhere")
    ap.add_argument("--train-seeds", default="", help="train one BAE per seed on the union of the ICL states")
    ap.add_argument("--latent-dim", type=int, default=576, help="d' of the BAEs trained on the states")
    ap.add_argument("--train-steps", type=int, default=1500)
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument(
        "--center",
        action="store_true",
        help="train and measure on the states minus the union's mean, divided by its RMS deviation (one map for all k)",
    )
    ap.add_argument("--shots", default="0,1,2,4,8")
    ap.add_argument("--queries", type=int, default=48)
    ap.add_argument("--words", type=int, default=24, help="words of each article's lead shown per example")
    ap.add_argument("--layer", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0, help="task seed (queries, demonstrations, union shuffle)")
    ap.add_argument("--batch", type=int, default=8, help="prompts per forward call")
    ap.add_argument(
        "--accuracy", action="store_true", help="also run all blocks and score the restricted next-token choice"
    )
    ap.add_argument(
        "--accuracy-queries", type=int, default=0, help="with --accuracy: score only the first N queries (0 = all)"
    )
    ap.add_argument("--bae", help="bae binary (default: $BAE, PATH, .build/release/bae)")
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--corpus", default=None)
    a = ap.parse_args()

    shots = sorted({int(s) for s in a.shots.split(",")})
    if shots[0] < 0:
        sys.exit("--shots must be non-negative integers")
    seeds = [int(s) for s in a.train_seeds.split(",") if s.strip()]
    if not seeds and not a.model:
        sys.exit("give --train-seeds (BAEs trained on the ICL states) and/or --model (a BAE trained elsewhere)")
    binary = find_bae_binary(a.bae)
    if seeds and not binary:
        sys.exit("--train-seeds needs the bae binary: pass --bae or set $BAE")
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    meta = extract_states(a, shots, a.out)
    results = [dict(r) for r in meta["results"]]

    if a.model:
        model_path = a.model if a.model.endswith(".safetensors") else os.path.join(a.model, "model.safetensors")
        bae = BAE.load(model_path)
        for r in results:
            s = np.load(r["npy"])
            if bae.input_dim != s.shape[1]:
                sys.exit(f"{model_path}: the BAE has input width {bae.input_dim} but the states have {s.shape[1]}")
            bits = bae.encode(s)
            r["external"] = {
                "entropy_bits": binary_entropy_bits(bits.mean(axis=0)),
                "l0": float(bits.sum(axis=1).mean()),
            }
            if binary:
                cli = cli_entropy(binary, os.path.dirname(model_path), r["npy"])["entropy_bits"]
                r["external"]["entropy_bits_bae_cli"] = cli
                if abs(cli - r["external"]["entropy_bits"]) > 1e-3 * max(1.0, cli):
                    print(
                        f"[icl] warning: k={r['shots']}: numpy Ĥ {r['external']['entropy_bits']:.4f} vs "
                        f"bae entropy {cli:.4f} (rows near a threshold can flip between float32 GEMMs)",
                        file=sys.stderr,
                    )

    runs = train_on_states(a, binary, results, seeds, a.out) if seeds else []
    for r in results:
        h = [run["per_k"][str(r["shots"])]["entropy_bits"] for run in runs]
        if h:
            r["entropy_bits_mean"] = float(np.mean(h))
            r["entropy_bits_std"] = float(np.std(h, ddof=1)) if len(h) > 1 else 0.0
            r["entropy_bits_seeds"] = h

    report = {
        "layer": a.layer,
        "queries": a.queries,
        "words": a.words,
        "seed": a.seed,
        "topics": meta["topics"],
        "majority_baseline": meta["majority_baseline"],
        "prompt_format": "BOS + k x 'Text: ...\\nTopic: T\\n\\n' + 'Text: ...\\nTopic:'",
        "final_token": ":",
        "external_model": a.model,
        "trained_on_states": {
            "centered": a.center,
            "seeds": seeds,
            "latent_dim": a.latent_dim,
            "steps": a.train_steps,
            "batch": a.train_batch,
            "training_set": "union of all k (shuffled)",
            "runs": runs,
        }
        if seeds
        else None,
        "bae_binary": binary,
        "lm_seconds": meta["lm_seconds"],
        "seconds": round(time.time() - t0, 1),
        "results": results,
    }
    with open(os.path.join(a.out, "icl.centered.json" if a.center else "icl.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(
        f"{'k':>3} {'tokens':>7} {'Ĥ on-states (mean ± std)':>26} {'Ĥ external':>11}"
        + ("  accuracy" if a.accuracy else "")
    )
    for r in results:
        own = f"{r['entropy_bits_mean']:.2f} ± {r['entropy_bits_std']:.2f}" if "entropy_bits_mean" in r else "-"
        ext = f"{r['external']['entropy_bits']:.2f}" if "external" in r else "-"
        print(
            f"{r['shots']:>3} {r['mean_prompt_tokens']:>7.0f} {own:>26} {ext:>11}"
            + (f"  {r['accuracy']:.3f}" if a.accuracy else "")
        )
    print(os.path.join(a.out, "icl.centered.json" if a.center else "icl.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
