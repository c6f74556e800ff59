#!/usr/bin/env python3
"""Binary-level fuzzing of the `bae` executable: mutated .npy, safetensors, token TSVs, shards,
manifests, config JSON and checkpoint directories, each run as a real process under a memory limit
(RLIMIT_AS), a file-size limit and a per-case time limit. Any signal or time-out is a failure.

Safety (this runs as root): every file is written inside one mkdtemp sandbox, through `put()`,
which refuses any other path. A path-traversal case exists only as a string inside a manifest
entry; nothing is ever written to the path it names. Every command gets --out inside the sandbox.

  fuzz_cli.py --bae PATH [--cases N] [--seed S] [--mem-mb M] [--case-seconds T]
              [--replay DIR ...] [--skip-ids FILE] [--keep]
Exit 0 when no case ended in a signal or a time-out; 1 otherwise (crash cases are left in
SANDBOX/crashes/, which is then kept and printed).
"""

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

SANDBOX = ""


def inside(path):
    """The absolute path, if it lies inside the sandbox; refuses anything else."""
    real = os.path.realpath(path)
    root = os.path.realpath(SANDBOX)
    if real != root and not real.startswith(root + os.sep):
        raise SystemExit(f"fuzz_cli: refusing to touch {path!r}: outside the sandbox {SANDBOX}")
    return real


def put(path, data):
    """Writes bytes to a file inside the sandbox (never through a symlink)."""
    real = inside(path)
    if os.path.islink(path):
        os.unlink(path)
    with open(real, "wb") as f:
        f.write(data)


def copytree(src, dst):
    inside(dst)
    shutil.copytree(src, dst, symlinks=False)


# ---------------------------------------------------------------- mutations

INTERESTING_INTS = [
    0,
    1,
    2,
    7,
    8,
    255,
    256,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
]
INTERESTING_TEXT = [
    "0",
    "-1",
    "1e9",
    "1e308",
    "-1e308",
    "NaN",
    "Infinity",
    "4611686018427387904",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "2147483648",
    '""',
    "null",
    "true",
    "[]",
    "{}",
    '"../../outside"',
    "\r\n",
    "\\",
    "\t",
    "\x00",
    "[" * 3000,
    "{" * 3000,
    "(" * 3000,
    '"' + "A" * 70000 + '"',
]


def mutate_bytes(rng, data, text=False):
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        kind = rng.randrange(9 if text else 7)
        if not b:
            b += bytes([rng.randrange(256)])
            continue
        p = rng.randrange(len(b))
        if kind == 0:  # bit flip
            b[p] ^= 1 << rng.randrange(8)
        elif kind == 1:  # interesting byte
            b[p] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x0D, 0x22, 0x5B])
        elif kind == 2:  # interesting little-endian integer
            width = rng.choice([2, 4, 8])
            v = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
            b[p : p + width] = v.to_bytes(width, "little")
        elif kind == 3:  # truncate
            del b[rng.randrange(len(b)) :]
        elif kind == 4:  # append junk
            b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        elif kind == 5:  # duplicate a block
            q = rng.randrange(len(b))
            b[p:p] = b[q : q + rng.randrange(1, 256)]
        elif kind == 6:  # delete a block
            del b[p : p + rng.randrange(1, 64)]
        elif kind == 7:  # replace a number with an interesting token
            digits = [i for i in range(len(b)) if 0x30 <= b[i] <= 0x39]
            if digits:
                i = rng.choice(digits)
                j = i
                while j < len(b) and (0x30 <= b[j] <= 0x39 or b[j] in b".eE+-"):
                    j += 1
                b[i:j] = rng.choice(INTERESTING_TEXT).encode("utf-8")
        else:  # insert an interesting token
            b[p:p] = rng.choice(INTERESTING_TEXT).encode("utf-8")
    if bytes(b) == data:
        b += b"\x00"
    return bytes(b)


JSON_VALUES = [
    0,
    -1,
    1,
    2**31,
    2**53,
    2**62,
    2**63 - 1,
    -(2**63),
    1e9,
    1e308,
    -1e308,
    0.5,
    1e-300,
    "",
    "x",
    "sequential",
    None,
    True,
    [],
    {},
    [1, 2],
    {"a": 1},
]


def mutate_json(rng, data):
    """Sets one field of a JSON object to a hostile value (half the time), else byte mutations."""
    try:
        obj = json.loads(data)
    except ValueError:
        obj = None
    if not isinstance(obj, dict) or not obj or rng.random() < 0.5:
        return mutate_bytes(rng, data, text=True)
    numeric = sorted(k for k, v in obj.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    for _ in range(rng.choice([1, 1, 2, 3])):
        if not obj:
            break
        key = rng.choice(numeric if numeric and rng.random() < 0.7 else sorted(obj))
        if rng.random() < 0.1:
            del obj[key]
        else:
            obj[key] = rng.choice(JSON_VALUES)
    return json.dumps(obj).encode()


def mutate_manifest(rng, data):
    """JSON-aware mutations of a manifest (hostile names as strings only), else byte mutations."""
    try:
        m = json.loads(data)
    except ValueError:
        return mutate_bytes(rng, data, text=True)
    if rng.random() < 0.5 or not m.get("shards"):
        return mutate_bytes(rng, data, text=True)
    s = rng.choice(m["shards"])
    field = rng.choice(["file", "tokens", "rows", "bytes", "xxh64", "tokensXXH64"])
    hostile = [
        "../../etc/passwd",
        "..",
        ".",
        "",
        "/etc/hostname",
        "a/../../b",
        "shard\u0000x",
        "/dev/zero",
        "manifest.json",
        "%s" % ("x" * 5000),
    ]
    if field in ("file", "tokens"):
        s[field] = rng.choice(hostile)  # a string in the manifest: never a path we write to
    elif field in ("rows", "bytes"):
        s[field] = rng.choice([-1, 0, 2**31, 2**62, 2**63 - 1, 1.5, "7", None])
        if rng.random() < 0.5:
            m["rows"] = rng.choice([-1, 0, 2**63 - 1])
    else:
        s[field] = rng.choice(["", "zz", "0" * 16, None, 7])
    return json.dumps(m).encode()


# ---------------------------------------------------------------- seeds and targets


def child_limits(mem_mb):
    """A preexec_fn for one bae process: RLIMIT_AS of mem_mb MiB, files of at most 256 MiB, no core."""

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return limits


def run(args, cmd, case_dir, seconds, mem_mb):
    """Runs one command; returns ("ok"|"error"|"signal N"|"timeout", stderr tail)."""
    limits = child_limits(mem_mb)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    try:
        p = subprocess.run(
            cmd,
            cwd=inside(case_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=seconds,
            preexec_fn=limits,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return "timeout", ""
    tail = p.stderr.decode("utf-8", "replace")[-400:]
    if p.returncode < 0:
        return f"signal {-p.returncode}", tail
    return ("ok" if p.returncode == 0 else "error"), tail


def make_seeds(bae, seeds):
    os.makedirs(inside(seeds))
    npy = os.path.join(seeds, "s.npy")
    subprocess.run(
        [bae, "synth", "--bits", "4", "--dim", "8", "--rows", "256", "--seed", "1", "--out", npy],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lines = ["token_id\tdocument_id\tposition\ttext"] + [f"{i}\t{i // 64}\t{i % 64}\tw{i}" for i in range(256)]
    put(os.path.join(seeds, "tokens.tsv"), ("\n".join(lines) + "\n").encode())
    # one F32 tensor (64, 8), written by hand in the safetensors layout
    values = struct.pack("<512f", *[((i * 37) % 101) / 50.0 - 1 for i in range(512)])
    header = json.dumps(
        {"__metadata__": {"format": "pt"}, "acts": {"dtype": "F32", "shape": [64, 8], "data_offsets": [0, len(values)]}}
    ).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    put(os.path.join(seeds, "st.safetensors"), struct.pack("<Q", len(header)) + header + values)
    ds = os.path.join(seeds, "ds")
    subprocess.run(
        [
            bae,
            "pack",
            "--input",
            npy,
            "--tokens",
            os.path.join(seeds, "tokens.tsv"),
            "--dtype",
            "f16",
            "--rows-per-frame",
            "16",
            "--rows-per-shard",
            "128",
            "--out",
            inside(ds),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run_dir = os.path.join(seeds, "run")
    subprocess.run(
        [
            bae,
            "train",
            "--data",
            npy,
            "--latent-dim",
            "16",
            "--batch-size",
            "32",
            "--steps",
            "4",
            "--checkpoint-every",
            "2",
            "--log-every",
            "100",
            "--out",
            inside(run_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # configs without path fields: every command passes --data and --out inside the sandbox
    for root, _, files in os.walk(run_dir):
        for name in files:
            if name == "config.json":
                path = os.path.join(root, name)
                c = json.load(open(path))
                for key in ("data", "out"):
                    c.pop(key, None)
                put(path, json.dumps(c, indent=1, sort_keys=True).encode())
    return {
        "npy": npy,
        "tsv": os.path.join(seeds, "tokens.tsv"),
        "st": os.path.join(seeds, "st.safetensors"),
        "ds": ds,
        "run": run_dir,
    }


TARGETS = ["npy", "safetensors", "tokens", "shard", "manifest", "config", "checkpoint", "model"]
CHECKPOINT_FILES = ["DONE", "config.json", "model.safetensors", "optimizer.safetensors", "sampler.json"]


def build_case(rng, target, seeds, case_dir, bae, replay=None, replay_name=""):
    """Writes one mutated input (or the kept file `replay`) into case_dir; returns (commands, path
    of the mutated file). A kept file is named DIGEST-ORIGINAL, ORIGINAL saying which file it replaces."""
    original = replay_name.split("-", 1)[-1]
    os.makedirs(inside(case_dir))
    npy = seeds["npy"]
    train = ["--latent-dim", "16", "--batch-size", "32", "--steps", "2", "--log-every", "100"]
    out = os.path.join(case_dir, "out")
    if target == "npy":
        f = os.path.join(case_dir, "x.npy")
        put(f, replay or mutate_bytes(rng, open(npy, "rb").read(), text=rng.random() < 0.3))
        return [
            [bae, "pack", "--input", f, "--dtype", "f16", "--rows-per-frame", "16", "--out", out],
            [bae, "train", "--data", f, *train, "--out", out + "-train"],
        ], f
    if target == "safetensors":
        f = os.path.join(case_dir, "x.safetensors")
        put(f, replay or mutate_bytes(rng, open(seeds["st"], "rb").read(), text=rng.random() < 0.3))
        return [[bae, "pack", "--input", f, "--dtype", "bf16", "--rows-per-frame", "8", "--out", out]], f
    if target == "tokens":
        f = os.path.join(case_dir, "x.tsv")
        put(f, replay or mutate_bytes(rng, open(seeds["tsv"], "rb").read(), text=True))
        return [[bae, "pack", "--input", npy, "--tokens", f, "--dtype", "f16", "--out", out]], f
    if target in ("shard", "manifest"):
        ds = os.path.join(case_dir, "ds")
        copytree(seeds["ds"], ds)
        if target == "shard":
            name = sorted(n for n in os.listdir(ds) if n.endswith(".baes"))[rng.randrange(2)]
            if replay is not None and original.endswith(".baes"):
                name = original
            f = os.path.join(ds, name)
            put(f, replay or mutate_bytes(rng, open(f, "rb").read()))
        else:
            f = os.path.join(ds, "manifest.json")
            put(f, replay or mutate_manifest(rng, open(f, "rb").read()))
        return [[bae, "inspect", "--verify", ds], [bae, "train", "--data", ds, *train, "--out", out]], f
    if target == "config":
        f = os.path.join(case_dir, "config.json")
        put(f, replay or mutate_json(rng, open(os.path.join(seeds["run"], "config.json"), "rb").read()))
        return [[bae, "train", "--config", f, "--data", npy, "--steps", "2", "--log-every", "100", "--out", out]], f
    # checkpoint (train --resume) and model (entropy --model): one file of a step directory mutated or removed
    run_dir = os.path.join(case_dir, "run")
    copytree(seeds["run"], run_dir)
    step = os.path.join(run_dir, "step_00000004")
    name = rng.choice(CHECKPOINT_FILES) if target == "checkpoint" else rng.choice(["config.json", "model.safetensors"])
    if replay is not None and original in CHECKPOINT_FILES:
        name = original
    f = os.path.join(step, name)
    if replay is not None:
        put(f, replay)
    elif rng.random() < 0.1:
        os.unlink(inside(f))
    else:
        seed = open(f, "rb").read()
        put(f, mutate_json(rng, seed) if name.endswith(".json") else mutate_bytes(rng, seed))
    if target == "checkpoint":
        return [
            [
                bae,
                "train",
                "--resume",
                "--data",
                npy,
                "--latent-dim",
                "16",
                "--batch-size",
                "32",
                "--steps",
                "6",
                "--checkpoint-every",
                "2",
                "--log-every",
                "100",
                "--out",
                run_dir,
            ]
        ], f
    return [[bae, "entropy", "--model", step, "--data", npy]], f


def main():
    global SANDBOX
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bae", required=True)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--mem-mb", type=int, default=2048)
    ap.add_argument("--case-seconds", type=float, default=10)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--replay", action="append", default=[], help="a directory of kept cases: TARGET/NAME files")
    ap.add_argument("--skip-ids", help="file of case ids (TARGET:SEED:INDEX) not to run (known-open)")
    ap.add_argument("--keep", action="store_true", help="keep the sandbox even when nothing failed")
    ap.add_argument("--only", help="run just this case id (TARGET:SEED:INDEX), e.g. to reproduce a failure")
    a = ap.parse_args()
    SANDBOX = tempfile.mkdtemp(prefix="bae-fuzz-cli-")
    # a private copy, so a rebuild during the run cannot swap the binary under it
    bae = os.path.join(SANDBOX, "bae")
    shutil.copy2(a.bae, inside(bae))
    skip = set()
    if a.skip_ids:
        skip = {line.split()[0] for line in open(a.skip_ids) if line.strip() and not line.startswith("#")}
    seeds = make_seeds(bae, os.path.join(SANDBOX, "seeds"))
    targets = a.targets.split(",")
    cases = []  # (id, target, replay bytes or None, kept file name)
    for d in a.replay:
        for target in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            for name in sorted(os.listdir(os.path.join(d, target))):
                if target in targets:
                    cases.append(
                        (f"{target}:kept:{name}", target, open(os.path.join(d, target, name), "rb").read(), name)
                    )
    for i in range(a.cases):
        target = targets[i % len(targets)]
        cases.append((f"{target}:{a.seed}:{i}", target, None, ""))
    counts, bad = {}, []
    start = time.time()
    os.makedirs(inside(os.path.join(SANDBOX, "crashes")))
    for cid, target, replay, kept_name in cases:
        if a.only and cid != a.only:
            continue
        if cid in skip:
            counts["known-open (skipped)"] = counts.get("known-open (skipped)", 0) + 1
            continue
        rng = random.Random(cid)
        case_dir = os.path.join(SANDBOX, "case")
        if os.path.exists(case_dir):
            shutil.rmtree(inside(case_dir))
        commands, mutated = build_case(rng, target, seeds, case_dir, bae, replay, kept_name)
        # the input as built (a run may rewrite or prune the file it was given)
        built = open(mutated, "rb").read() if os.path.exists(mutated) else None
        for cmd in commands:
            outcome, tail = run(a, cmd, case_dir, a.case_seconds, a.mem_mb)
            key = f"{target} {outcome.split()[0]}"
            counts[key] = counts.get(key, 0) + 1
            if outcome.startswith("signal") or outcome == "timeout":
                keep = os.path.join(SANDBOX, "crashes", target)
                os.makedirs(inside(keep), exist_ok=True)
                if built is not None:  # None: the case removed the file (its name is in the case id's log line)
                    digest = hashlib.sha256(built).hexdigest()[:12]
                    put(os.path.join(keep, f"{digest}-{os.path.basename(mutated)}"), built)
                print(f"fuzz_cli: FAIL {cid} ({outcome})", file=sys.stderr, flush=True)
                bad.append(
                    (
                        cid,
                        outcome,
                        " ".join(os.path.relpath(c, SANDBOX) if c.startswith(SANDBOX) else c for c in cmd[1:]),
                        tail.strip().splitlines()[-1:] if tail.strip() else [],
                    )
                )
    took = time.time() - start
    ran = sum(v for k, v in counts.items() if not k.startswith("known"))
    print(
        f"fuzz_cli: {len(cases)} cases, {ran} process runs in {took:.0f} s (seed {a.seed}, RLIMIT_AS {a.mem_mb} MiB, "
        f"{a.case_seconds:g} s per run)"
    )
    for k in sorted(counts):
        print(f"  {k:32s} {counts[k]}")
    for cid, outcome, cmd, tail in bad:
        print(f"FAIL {cid}: {outcome}: bae {cmd} {tail}")
    if bad or a.keep:
        print(f"fuzz_cli: sandbox kept: {SANDBOX} (crash inputs in crashes/TARGET/)")
    else:
        shutil.rmtree(inside(SANDBOX))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
