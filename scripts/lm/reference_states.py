#!/usr/bin/env python3
"""Writes the committed reference that keeps the numpy Llama honest where torch is not installed.

transformers (torch, float32, the same GGUF via gguf_file=) runs one short text after BOS; the fixture
holds its token ids, HF hidden_states[l] at LAYERS, and the last token's logits at transformers' top
TOP_K ids, with the GGUF's sha256 and the library versions. scripts/test_extract.py compares the numpy
path against it on every run (about 20 KB, float32).

  scripts/setup_torch.sh                                   # .venv-torch: torch, transformers, the model package
  .venv-torch/bin/python scripts/lm/reference_states.py    # rewrites scripts/lm/fixtures/reference_states.npz
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lm import backends, locate  # noqa: E402

TEXT = "The cat sat on"
LAYERS = (1, 30)  # after the first block (embedding, RoPE, attention) and the last (whole stack + final norm)
TOP_K = 8
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "reference_states.npz")


def build(threads: int = 2) -> dict[str, np.ndarray]:
    import torch
    import transformers

    gguf = locate.default_gguf()
    tb = backends.make_backend("transformers", gguf, threads=threads)
    ids = [0] + tb.tokenize([TEXT])[0]  # 0 = <|endoftext|>, the BOS the extractor prepends
    hidden = np.stack([tb.hidden([ids], layer) for layer in LAYERS]).astype(np.float32)
    last = tb.logits([ids])[-1]
    top = np.argsort(-last)[:TOP_K]
    from lm.gguf_model import file_sha256

    meta = {
        "text": TEXT,
        "model_file": os.path.basename(gguf),
        "model_sha256": file_sha256(gguf),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "convention": "hidden[i] = transformers hidden_states[layers[i]][0]; logits = last row at logit_ids",
    }
    return {
        "tokens": np.array(ids, np.int64),
        "layers": np.array(LAYERS, np.int64),
        "hidden": hidden,
        "logit_ids": top.astype(np.int64),
        "logits": last[top].astype(np.float32),
        "meta": np.array(json.dumps(meta, sort_keys=True)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=FIXTURE)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    arrays = build(a.threads)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    np.savez(a.out, **arrays)
    print(
        f"wrote {a.out}: tokens {arrays['tokens'].tolist()}, hidden {arrays['hidden'].shape}, "
        f"{os.path.getsize(a.out)} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
