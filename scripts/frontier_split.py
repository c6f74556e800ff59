#!/usr/bin/env python3
"""Split an extraction (P.npy + P.tokens.tsv from scripts/extract_activations.py) into a training part and
a held-out evaluation part at a document boundary: the last documents, at least --eval-fraction of the
rows, go to evaluation, so no document is shared by both parts.

Several --prefix values are concatenated in order first (an extraction run as parallel shards). A shard
made by `--write-shards` has P.ids.json next to it (its corpus line -> the Wikipedia article index), and its
document_id column is mapped back through it, so ids stay unique across shards.

Writes OUT.train.npy / OUT.train.tokens.tsv and OUT.eval.npy / OUT.eval.tokens.tsv (same dtype and header
as the input) and prints one JSON line with the row counts. Pack each part with `bae pack --tokens`.

  .venv-lm/bin/python scripts/frontier_split.py --prefix data/lm/smollm2_L15_t120000 --eval-fraction 0.15 \\
      --out data/lm/frontier
  # parallel extraction: 3 corpus shards of 400 documents of the seed-0 order, then one extractor per shard
  .venv-lm/bin/python scripts/frontier_split.py --write-shards 3 --shard-docs 400 --out data/lm/shards/shard
  .venv-lm/bin/python scripts/extract_activations.py --corpus data/lm/shards/shard0.jsonl --seed -1 ... \\
      --out-prefix data/lm/shards/shard0      # (likewise 1, 2; the .ids.json is already beside it)
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


def write_shards(count: int, per_shard: int, out: str) -> int:
    """OUTk.jsonl (text, title, topic) and OUTk.ids.json for k < count: consecutive slices of the
    Wikipedia summaries in the extractor's seed-0 order."""
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from lm import corpus, locate

    docs = corpus.select(corpus.load_corpus(locate.default_corpus()), None, 0)
    for k in range(count):
        part = docs[per_shard * k : per_shard * (k + 1)]
        with open(f"{out}{k}.jsonl", "w", encoding="utf-8") as f:
            for d in part:
                f.write(json.dumps({"text": d.text, "title": d.title, "topic": d.topic}) + "\n")
        with open(f"{out}{k}.ids.json", "w") as f:
            json.dump([d.document_id for d in part], f)
    print(json.dumps({"shards": count, "documents_per_shard": per_shard}))
    return 0


def read_part(prefix: str):
    """(rows array, header, lines) of one extraction; document ids mapped through P.ids.json if present."""
    import os

    x = np.load(f"{prefix}.npy", mmap_mode="r")
    with open(f"{prefix}.tokens.tsv", encoding="utf-8") as f:
        header = f.readline()
        lines = f.readlines()
    if len(lines) != x.shape[0]:
        raise ValueError(
            f"{prefix}.tokens.tsv has {len(lines)} rows but {prefix}.npy has {x.shape[0]}; re-run the extraction"
        )
    cols = header.rstrip("\n").split("\t")
    if "document_id" not in cols:
        raise ValueError(f"{prefix}.tokens.tsv: no 'document_id' column in the header")
    ids_path = f"{prefix}.ids.json"
    if os.path.isfile(ids_path):
        ids = json.load(open(ids_path))
        di = cols.index("document_id")
        mapped = []
        for ln in lines:
            f = ln.split("\t")
            f[di] = str(ids[int(f[di])])
            mapped.append("\t".join(f))
        lines = mapped
    return x, header, lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--prefix", nargs="+", help="extraction prefix(es) P (reads P.npy and P.tokens.tsv)")
    ap.add_argument("--eval-fraction", type=float, default=0.15, help="rows held out for evaluation, in (0, 1)")
    ap.add_argument("--write-shards", type=int, default=0, help="write this many corpus shards instead of splitting")
    ap.add_argument("--shard-docs", type=int, default=400, help="documents per shard (--write-shards)")
    ap.add_argument("--out", required=True, help="output prefix OUT")
    a = ap.parse_args(argv)
    if a.write_shards > 0:
        return write_shards(a.write_shards, a.shard_docs, a.out)
    if not a.prefix:
        print("frontier_split.py: --prefix is required (or --write-shards)", file=sys.stderr)
        return 2
    if not 0.0 < a.eval_fraction < 1.0:
        print(f"frontier_split.py: --eval-fraction must be in (0, 1), got {a.eval_fraction}", file=sys.stderr)
        return 2
    try:
        parts = [read_part(p) for p in a.prefix]
    except (OSError, ValueError) as e:
        print(f"frontier_split.py: {e}", file=sys.stderr)
        return 1
    header = parts[0][1]
    if any(h != header for _, h, _ in parts):
        print("frontier_split.py: the extractions have different token TSV headers", file=sys.stderr)
        return 1
    x = np.concatenate([np.asarray(p[0]) for p in parts]) if len(parts) > 1 else parts[0][0]
    lines = [ln for p in parts for ln in p[2]]
    cols = header.rstrip("\n").split("\t")
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
