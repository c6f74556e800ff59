#!/usr/bin/env python3
"""Split an extraction (P.npy + P.tokens.tsv from scripts/extract_activations.py) into a training part and
a held-out evaluation part at a document boundary: the last documents, at least --eval-fraction of the
rows, go to evaluation, so no document is shared by both parts.

Writes OUT.train.npy / OUT.train.tokens.tsv and OUT.eval.npy / OUT.eval.tokens.tsv (same dtype and header
as the input) and prints one JSON line with the row counts. Pack each part with `bae pack --tokens`.

  .venv-lm/bin/python scripts/frontier_split.py --prefix data/lm/smollm2_L15_t120000 --eval-fraction 0.15 \\
      --out data/lm/frontier
"""

import argparse
import json
import sys

import numpy as np


def split_row(doc_ids: list[str], eval_fraction: float) -> int:
    """First row of the evaluation part: the start of the document in which the cut at
    (1 - eval_fraction) of the rows falls, so the evaluation part holds whole documents only."""
    n = len(doc_ids)
    cut = int(np.floor(n * (1.0 - eval_fraction)))
    while cut > 0 and doc_ids[cut - 1] == doc_ids[cut]:
        cut -= 1
    return cut


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--prefix", required=True, help="extraction prefix P (reads P.npy and P.tokens.tsv)")
    ap.add_argument("--eval-fraction", type=float, default=0.15, help="rows held out for evaluation, in (0, 1)")
    ap.add_argument("--out", required=True, help="output prefix OUT")
    a = ap.parse_args(argv)
    if not 0.0 < a.eval_fraction < 1.0:
        print(f"frontier_split.py: --eval-fraction must be in (0, 1), got {a.eval_fraction}", file=sys.stderr)
        return 2
    x = np.load(f"{a.prefix}.npy", mmap_mode="r")
    with open(f"{a.prefix}.tokens.tsv", encoding="utf-8") as f:
        header = f.readline()
        lines = f.readlines()
    cols = header.rstrip("\n").split("\t")
    if "document_id" not in cols:
        print(f"frontier_split.py: {a.prefix}.tokens.tsv: no 'document_id' column in the header", file=sys.stderr)
        return 1
    if len(lines) != x.shape[0]:
        print(
            f"frontier_split.py: {a.prefix}.tokens.tsv has {len(lines)} rows but {a.prefix}.npy has {x.shape[0]};"
            " re-run the extraction",
            file=sys.stderr,
        )
        return 1
    di = cols.index("document_id")
    docs = [ln.split("\t")[di] for ln in lines]
    cut = split_row(docs, a.eval_fraction)
    if cut == 0 or cut == len(docs):
        print("frontier_split.py: the split leaves one part empty (one document only?)", file=sys.stderr)
        return 1
    for part, lo, hi in (("train", 0, cut), ("eval", cut, len(docs))):
        np.save(f"{a.out}.{part}.npy", np.ascontiguousarray(x[lo:hi]))
        with open(f"{a.out}.{part}.tokens.tsv", "w", encoding="utf-8") as f:
            f.write(header)
            f.writelines(lines[lo:hi])
    print(
        json.dumps(
            {
                "rows": len(docs),
                "train_rows": cut,
                "eval_rows": len(docs) - cut,
                "train_documents": len(set(docs[:cut])),
                "eval_documents": len(set(docs[cut:])),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
