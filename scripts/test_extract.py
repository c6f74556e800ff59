#!/usr/bin/env python3
"""Tests of the LM extraction path. Run with either venv; each check prints RAN/PASS, FAIL or NOT RUN (why).
The numpy Llama is always compared with committed transformers numbers (scripts/lm/fixtures, rewritten by
scripts/lm/reference_states.py); the live comparison needs torch.

  .venv-lm/bin/python scripts/test_extract.py             light checks; the torch comparison runs in
                                                          .venv-torch as a subprocess when that venv exists
  .venv-lm/bin/python scripts/test_extract.py --require-torch   a NOT RUN torch check becomes a failure
Exit status 0 only if every check that ran passed (and, with --require-torch, the torch checks ran).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from lm import backends, extract, locate  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PY = os.path.join(ROOT, ".venv-torch", "bin", "python")
REFERENCE_STATES = os.path.join(ROOT, "scripts", "lm", "fixtures", "reference_states.npz")
DOCS = [
    {
        "title": "Paris",
        "topic": "Geography",
        "text": "Paris is the capital and largest city of France. It had 2,102,650 residents in January 2023.",
    },
    {"title": "Tabs", "topic": "Test", "text": "A\ttab, a new\nline, a back\\slash and café — naïve façade."},
    {"title": "Cat", "topic": "Biology", "text": "The cat (Felis catus) is a small carnivorous mammal."},
]
TEXTS = [d["text"] for d in DOCS]
results = []


def check(name, fn):
    try:
        note = fn()
        results.append((name, "PASS", note or ""))
    except NotRun as e:
        results.append((name, "NOT RUN", str(e)))
    except Exception as e:  # a failing check must not hide the others
        import traceback

        tb = traceback.extract_tb(e.__traceback__)[-1]
        results.append((name, "FAIL", f"{type(e).__name__} at line {tb.lineno}: {e}"))
    status, note = results[-1][1], results[-1][2]
    print(f"[{status:7}] {name}{': ' + note if note else ''}", flush=True)


class NotRun(Exception):
    pass


def rel_dev(a, b):
    """(max |a−b| / max |b|, max over rows of ‖a−b‖/‖b‖)."""
    return (
        float(np.abs(a - b).max() / np.abs(b).max()),
        float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)).max()),
    )


# ---------------------------------------------------------------------------------------------
def light_checks(tmp):
    gguf = locate.default_gguf()
    nb = backends.NumpyBackend(gguf)
    corpus = os.path.join(tmp, "docs.jsonl")
    with open(corpus, "w") as f:
        for d in DOCS:
            f.write(json.dumps(d) + "\n")

    def escape_roundtrip():
        s = "a\tb\nc\\d\re\\t"
        e = extract.escape_tsv(s)
        assert "\t" not in e and "\n" not in e and extract.unescape_tsv(e) == s, e

    def tokenizer_basics():
        ids = nb.tokenize(["In 1968 Paris"])[0]
        texts = [nb.decode_one(i) for i in ids]
        assert texts[texts.index(" ") + 1 : texts.index(" ") + 5] == ["1", "9", "6", "8"], texts  # digits split
        assert nb.tok.decode(ids) == "In 1968 Paris"
        assert nb.tokenize(["<|endoftext|>"])[0] == [0], "control tokens must not be split"

    def packing_equals_single():
        toks = [[0] + t for t in nb.tokenize(TEXTS)]
        packed = nb.hidden(toks, 15)
        single = np.concatenate([nb.hidden([t], 15) for t in toks])
        a, r = rel_dev(packed, single)
        assert r < 1e-5, (a, r)
        return f"max row rel dev {r:.1e}"

    def layer0_is_embedding():
        ids = nb.tokenize(["hello world"])[0]
        assert np.array_equal(nb.hidden([ids], 0), nb.gguf.weight("token_embd.weight")[ids])

    def outputs(dtype, drop_bos, drop_sinks):
        prefix = os.path.join(tmp, f"out_{dtype}_{int(drop_bos)}")
        cfg = extract.ExtractConfig(
            out_prefix=prefix,
            gguf=gguf,
            corpus=corpus,
            layer=15,
            max_tokens=None,
            context=24,
            dtype=dtype,
            drop_bos=drop_bos,
            drop_sinks=drop_sinks,
            seed=None,
            progress=False,
        )
        meta = extract.run(cfg, backend=nb)
        x = np.load(prefix + ".npy")
        with open(prefix + ".tokens.tsv", encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        assert rows[0] == ["row", "context", "position", "token_id", "document_id", "text"], rows[0]
        assert all(len(r) == 6 for r in rows), "every TSV line has 6 fields (tabs/newlines escaped)"
        n_tok = [min(len(t) + 1, 24) for t in nb.tokenize(TEXTS)]
        total = sum(n_tok)
        assert meta["stats"]["rows_total"] == total
        expect_rows = total - meta["stats"]["dropped"]["rows"]
        assert x.shape == (expect_rows, 576) and len(rows) - 1 == expect_rows, (x.shape, len(rows))
        assert x.dtype == (np.float16 if dtype == "f16" else np.float32)
        assert [int(r[0]) for r in rows[1:]] == list(range(expect_rows))
        if drop_bos:
            assert meta["stats"]["dropped"]["bos"] == len(DOCS)
            assert all(int(r[2]) > 0 for r in rows[1:])
        else:
            assert rows[1][2] == "0" and rows[1][3] == "0" and rows[1][5] == "<|endoftext|>"
        # Row → token consistency: re-running the first document reproduces row 1's state.
        doc0 = [0] + nb.tokenize(TEXTS[:1])[0][:23]
        ref = nb.hidden([doc0], 15)[1]  # position 1 of document 0
        got = x[1 if not drop_bos else 0].astype(np.float32)
        assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max() + (0.1 if dtype == "f16" else 1e-4)
        with open(prefix + ".docs.tsv", encoding="utf-8") as f:
            docs = [line.rstrip("\n").split("\t") for line in f]
        assert len(docs) == 4 and docs[2][2] == "Tabs" and docs[1][3] == "Geography", docs
        assert sum(int(d[6]) for d in docs[1:]) == expect_rows
        joined = "".join(extract.unescape_tsv(r[5]) for r in rows[1:] if r[4] == "1")
        assert "\t" in joined and "\n" in joined, "escaped text round-trips"
        m = meta["config"]
        assert m["layer"] == 15 and len(m["model_sha256"]) == 64 and m["drop_sinks"] == drop_sinks
        # Cache: an identical second run reuses the files.
        mtime = os.path.getmtime(prefix + ".npy")
        again = extract.run(cfg, backend=nb)
        assert again == meta and os.path.getmtime(prefix + ".npy") == mtime
        return f"{x.shape} {x.dtype}, dropped {meta['stats']['dropped']['rows']}"

    def matches_committed_reference():
        # transformers' numbers for one text, committed by scripts/lm/reference_states.py: the numpy path is
        # compared with an independent implementation on every run, torch installed or not
        ref = np.load(REFERENCE_STATES)
        meta = json.loads(str(ref["meta"]))
        assert meta["model_sha256"] == nb.gguf.sha256, (
            f"{REFERENCE_STATES} was made from another model file ({meta['model_file']}, sha256 "
            f"{meta['model_sha256'][:12]}…): regenerate it with scripts/lm/reference_states.py"
        )
        ids = [0] + nb.tokenize([meta["text"]])[0]
        assert ids == ref["tokens"].tolist(), (ids, ref["tokens"].tolist())
        notes = []
        for i, layer in enumerate(ref["layers"].tolist()):
            a, r = rel_dev(nb.hidden([ids], layer), ref["hidden"][i])
            assert r < 1e-4, f"layer {layer}: row-relative deviation {r:.2e} from transformers"
            notes.append(f"L{layer} {r:.1e}")
        got = nb.logits([ids])[-1][ref["logit_ids"]]
        lr = float(np.abs(got - ref["logits"]).max() / np.abs(ref["logits"]).max())
        assert lr < 1e-4, f"last-token logits deviate {lr:.2e} from transformers"
        return (
            f"{len(ids)} tokens; max row-relative ‖Δ‖/‖h‖ {', '.join(notes)}; top-{len(got)} logits {lr:.1e} "
            f"(transformers {meta['transformers']})"
        )

    check("tsv escaping round-trips", escape_roundtrip)
    check("gguf tokenizer: digits split, control tokens atomic", tokenizer_basics)
    check("numpy: packed documents == each alone", packing_equals_single)
    check("numpy: layer 0 == token embeddings", layer0_is_embedding)
    check("numpy == committed transformers reference (scripts/lm/fixtures)", matches_committed_reference)
    check("outputs f32 (npy/tsv/docs/meta, cache hit)", lambda: outputs("f32", False, 0.0))
    check("outputs f16 + --drop-bos --drop-sinks 20", lambda: outputs("f16", True, 20.0))

    def sinks_dropped():
        prefix = os.path.join(tmp, "sinks")
        cfg = extract.ExtractConfig(
            out_prefix=prefix,
            gguf=gguf,
            corpus=corpus,
            layer=15,
            max_tokens=None,
            context=64,
            drop_sinks=20.0,
            seed=None,
            progress=False,
        )
        st = extract.run(cfg, backend=nb)["stats"]
        assert st["dropped"]["sinks"] >= len(DOCS) and st["dropped"]["sinks_by_position"].get("0") == len(DOCS)
        assert st["position_0"]["ratio_to_median"] > 20, st["position_0"]
        return (
            f"BOS rows {st['position_0']['ratio_to_median']:.0f}x median norm; "
            f"top |mean| dims {[(d['dim'], round(d['mean'], 1)) for d in st['top_mean_dims_positions_2_plus'][:2]]}"
        )

    fidelity_checks(tmp, nb)
    check("layer-15 sinks: BOS rows >20x median, dropped by --drop-sinks 20", sinks_dropped)
    return nb


# ---------------------------------------------------------------------------------------------
def fidelity_checks(tmp, nb):
    from lm import bae, fidelity, safetensors_io

    def safetensors_roundtrip():
        t = bae.random_bae(8, 4, bits=3, seed=2)
        t["ints"] = np.arange(6, dtype=np.int64).reshape(2, 3)
        path = os.path.join(tmp, "rt.safetensors")
        safetensors_io.save(path, t, {"k": "v"})
        back, meta = safetensors_io.load(path)
        assert meta == {"k": "v"} and all(np.array_equal(back[k], t[k]) for k in t)
        try:
            from safetensors.numpy import load_file
        except ImportError:
            return "independent reader not installed: own round-trip only"
        other = load_file(path)
        assert all(np.array_equal(other[k], t[k]) for k in t)
        return "also read back by the safetensors package"

    def multibit_grouping():
        # d = 2, d' = 2 latents, k = 2 bits each: encoder rows j·k+i fire by sign of x·e.
        t = {
            "encoder.weight": np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], np.float32),
            "encoder.bias": np.zeros(4, np.float32),
            "decoder.weight": np.array([[3, 0], [0, 3]], np.float32),
            "decoder.bias": np.array([1, 2], np.float32),
            "kb2f.kernel": np.array([1 / 3, 2 / 3], np.float32),
        }
        path = os.path.join(tmp, "mb.safetensors")
        safetensors_io.save(path, t)
        m = bae.BAE.load(path)
        x = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]], np.float32)
        # row 0: bits [1,1 | 0,0] → v = [1, 0]; row 1: [0,1 | 1,0] → v = [2/3, 1/3]; row 2: [0,0 | 1,1] → [0, 1]
        want_v = np.array([[1, 0], [2 / 3, 1 / 3], [0, 1]], np.float32)
        assert np.allclose(m.values(m.encode(x)), want_v), m.values(m.encode(x))
        assert np.allclose(m.reconstruct(x), want_v * 3 + [1, 2])

    def js_bounds():
        a = np.log(np.array([[0.5, 0.5, 1e-30], [1.0, 1e-30, 1e-30]]))
        b = np.log(np.array([[0.5, 0.5, 1e-30], [1e-30, 1.0, 1e-30]]))
        js = fidelity.js_bits(fidelity.log_softmax(a), fidelity.log_softmax(b))
        assert abs(js[0]) < 1e-9 and abs(js[1] - 1.0) < 1e-6, js

    def splice_identity_and_random():
        toks = [[0] + t[:40] for t in nb.tokenize(TEXTS)]
        ident = fidelity.evaluate(nb.net, toks, 15, lambda x: x, skip_bos=True)
        assert ident["js_bits_mean"] < 1e-5 and abs(ident["ce_increase_nats"]) < 1e-4, ident
        assert ident["ce_increase_mean_ablation_nats"] > 0.1 and ident["js_bits_mean_ablation"] > 0.01, ident
        # SAELens's KL names: the identity keeps the distribution (score 1), zero ablation does not
        assert ident["kl_div_with_sae"] < 1e-5 and ident["kl_div_with_ablation"] > 0.1, ident
        assert abs(ident["kl_div_score"] - 1.0) < 1e-4 and abs(ident["ce_loss_score"] - 1.0) < 1e-3, ident
        path = os.path.join(tmp, "rand.safetensors")
        safetensors_io.save(path, bae.random_bae(576, 64, bits=2, seed=3))
        out = subprocess.run(
            [
                sys.executable,
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "output_fidelity.py"),
                "--model",
                path,
                "--layer",
                "15",
                "--max-docs",
                "2",
                "--max-tokens",
                "80",
                "--skip-bos",
            ],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr[-1500:]
        rep = json.loads(out.stdout)
        assert rep["bae"] == {"input_dim": 576, "latent_dim": 64, "bits": 2}, rep["bae"]
        assert rep["js_bits_mean"] > 0.05 and rep["ce_increase_nats"] > 0.1, rep
        assert rep["kl_div_with_sae"] > 0.0 and rep["kl_div_score"] < 1.0, rep
        return (
            f"identity splice JS {ident['js_bits_mean']:.1e} bits; mean-ablation JS "
            f"{ident['js_bits_mean_ablation']:.2f}; random BAE JS {rep['js_bits_mean']:.2f}, "
            f"ΔCE {rep['ce_increase_nats']:.2f} nats"
        )

    check("safetensors writer/reader round-trip", safetensors_roundtrip)
    check("BAE multi-bit little-endian grouping", multibit_grouping)
    check("Jensen–Shannon bounds (0 equal, 1 bit disjoint)", js_bounds)
    check("fidelity: identity splice ≈ 0, random BAE CLI > 0", splice_identity_and_random)


# ---------------------------------------------------------------------------------------------
def torch_checks():
    """Numpy vs transformers (same GGUF via gguf_file=). Runs in the interpreter that has torch."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise NotRun(f"{e.name} is not importable in {sys.executable}") from None
    nb = backends.NumpyBackend(locate.default_gguf())
    tb = backends.make_backend("transformers", locate.default_gguf(), threads=2)
    out = {}

    def tokenizer_same():
        a, b = nb.tokenize(TEXTS), tb.tokenize(TEXTS)
        assert a == b, (a, b)
        return f"{sum(map(len, a))} ids identical"

    def hidden_agree():
        toks = [[0] + t for t in nb.tokenize(TEXTS)]
        notes = []
        for layer in (1, 15, 29, 30):
            a, r = rel_dev(nb.hidden(toks, layer), tb.hidden(toks, layer))
            out[f"layer{layer}"] = {"max_abs_over_max": a, "max_row_rel": r}
            assert r < 1e-4, f"layer {layer}: row-relative deviation {r:.2e}"
            notes.append(f"L{layer} {r:.1e}")
        return "max row-relative ‖Δ‖/‖h‖: " + ", ".join(notes)

    def logits_agree():
        toks = [[0] + t for t in nb.tokenize(TEXTS)]
        a, r = rel_dev(nb.logits(toks), tb.logits(toks))
        out["logits"] = {"max_abs_over_max": a, "max_row_rel": r}
        assert r < 1e-4, r
        return f"max row-relative {r:.1e}"

    check("transformers tokenizer ids == gguf tokenizer ids", tokenizer_same)
    check("numpy hidden states == transformers hidden_states[l]", hidden_agree)
    check("numpy logits == transformers logits", logits_agree)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--require-torch", action="store_true")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_only:
        check("torch/transformers available", lambda: None if torch_checks() is not None else None)
    else:
        print(f"python: {sys.executable}")
        with tempfile.TemporaryDirectory() as tmp:
            light_checks(tmp)
        try:
            import torch  # noqa: F401

            have_torch = True
        except ImportError:
            have_torch = False
        if have_torch:
            check("torch/transformers checks", lambda: None if torch_checks() is not None else None)
        elif os.path.exists(TORCH_PY):
            print(f"torch not in this venv; running the comparison with {TORCH_PY}", flush=True)
            p = subprocess.run([TORCH_PY, os.path.abspath(__file__), "--torch-only"], capture_output=True, text=True)
            lines = [l for l in p.stdout.splitlines() if l.startswith("[")]
            for l in lines:
                print("  " + l)
                status = l[1:8].strip()
                results.append((l, status, ""))
            if p.returncode != 0 and not lines:
                results.append(("torch subprocess", "FAIL", p.stderr[-2000:]))
                print("[FAIL   ] torch subprocess:", p.stderr[-2000:])
        else:
            results.append(("torch/transformers checks", "NOT RUN", f"no torch here and no {TORCH_PY}"))
            print(
                f"[NOT RUN] torch/transformers checks: no torch in {sys.executable} and no {TORCH_PY} "
                "(scripts/setup_torch.sh, then scripts/setup_lm.sh --transformers)"
            )
    fails = [r for r in results if r[1] == "FAIL"]
    notrun = [r for r in results if r[1] == "NOT RUN"]
    ran = [r for r in results if r[1] == "PASS"]
    print(f"\nsummary: {len(ran)} passed, {len(fails)} failed, {len(notrun)} not run")
    if fails or (a.require_torch and notrun):
        sys.exit(1)


if __name__ == "__main__":
    main()
