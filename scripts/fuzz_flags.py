#!/usr/bin/env python3
"""Command-line flag fuzzing of the `bae` binary: every option of every subcommand (nested ones too)
gets hostile values, on top of a minimal valid invocation over tiny inputs, each run as a real process
under RLIMIT_AS, a file-size limit and a wall-time budget.

The option list comes from the binary itself: `bae --experimental-dump-help` (the structured form of
`--help`), cross-checked against every `bae <cmd> --help` page so a flag the dump misses fails the run.
A subcommand without a minimal invocation in BASE fails the run too, so a new command cannot go
unfuzzed. Inputs (a .npy, a tokens TSV, a packed dataset, a trained run, a feature report, a sweep
file) are built once with the binary into a mkdtemp sandbox by fuzz_cli.py's helpers.

Verdicts (one process run per case):
  FAIL crash       a signal, or "Fatal error" / "Program crashed" / a failed precondition on stderr
  FAIL hang        the run outlived its budget with a value that must be rejected or finish at once:
                   anything but the HUGE class below (0, -0, -1, nan, ±inf, "", garbage, huge strings,
                   bad paths, malformed lists)
  FAIL accepted    exit 0 with nonsense: nan/±inf/"" (or -1, unless NEGATIVE_OK says why it is
                   meaningful) for a numeric option, or a missing/empty/directory/device path for an
                   input option
  FAIL base        the minimal invocation itself does not exit 0 (the harness would test nothing)
  long (no fail)   a HUGE value (finite but enormous: 1e308, 99999999999, 2^31, 2^63-1, ...) still
                   running after --huge-seconds: the binary accepted a legal but enormous amount of
                   work (`--steps 99999999999` on a 256-row file). That is not a hang; such cases are
                   listed for review and given the shorter budget so they cost little.
  pass             any other exit: a non-zero exit with a message, or exit 0 with a sane value
Numeric vs string options are told apart by probing each with "x1": an ArgumentParser "is invalid"
error means a number (or an enum).

Safety (this runs as root): the sandbox is the only place anything is written. Output options
(--out, --dump-codes, --judge-cache) only ever get paths inside the case directory (never /dev/null:
an atomic write would replace it); /dev/null and other outside paths are given only to options the
binary only reads. The judge is pointed at 127.0.0.1 only.

  fuzz_flags.py --bae PATH [--cases N] [--seed S] [--jobs J] [--mem-mb M] [--case-seconds T]
                [--huge-seconds H] [--only CMD[:OPTION]] [--keep]
--cases 0 runs every case (a few thousand); --cases N runs N, spread round-robin over all options
(the probe first, then the values in a seeded order), so every option is hit whenever N covers them.
Replay a failure with the same --seed and --cases, or all values of one option with --only.
Exit 0 when nothing failed, 1 otherwise (the sandbox is then kept and printed).
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_cli  # noqa: E402  (its sandbox helpers: inside, put, make_seeds, child_limits)

# ---------------------------------------------------------------- values

HUGE = [
    "1e308",
    "99999999999",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
]
# legal values that may mean a lot of work: a run still going after --huge-seconds is "long", not a hang
LONG_OK = [*HUGE, "0x10"]  # 0x10 is 16 to Double's parser: `--seconds 0x10` is 16 s per configuration
NONSENSE = ["nan", "inf", "-inf", ""]
SCALAR = ["0", "-0", "-1", "1e-320", "0x10", "1.5", *NONSENSE, *HUGE, "A" * 100_000]
LISTS = [",", "1,,2", "3,2", "1,1", "-1,2", "0", "99999999999", "1e308,2", ",".join(str(i) for i in range(1, 20000))]
URLS = [
    "",
    "x",
    "http://",
    "http://127.0.0.1:0",
    "http://127.0.0.1:99999",
    "file:///dev/null",
    "http://[::1",
    "http://u:p@127.0.0.1:9",
    "http://127.0.0.1:9/" + "a" * 100_000,
]
PATH_NONSENSE = {"", "missing", "empty-dir", "/dev/null", "huge"}

INPUT_PATHS = {"data", "model", "config", "tokens", "input", "init-from", "npy", "dataset", "reports"}
OUTPUT_PATHS = {"out", "dump-codes", "judge-cache"}
LIST_OPTIONS = {"ranks", "buckets", "labels", "meta", "weak"}
PROBE = "x1"

# Options whose negative values mean something (a -1 that exits 0 is then no bug). Key: option name.
NEGATIVE_OK = {
    "entropy-threshold": "drops the entropy term in steps where H < this; any finite threshold is meaningful",
}

CRASH_MARKERS = re.compile(
    r"Fatal error|fatal error|Program crashed|Precondition failed|Assertion failed|"
    r"Segmentation fault|Illegal instruction"
)


def path_values(case_dir, seeds, output):
    """(label, value) pairs for a path option; outputs only inside the case directory."""
    v = [
        ("", ""),
        ("huge", "A" * 100_000),
        ("missing", os.path.join(case_dir, "missing", "x")),
        ("empty-dir", os.path.join(case_dir, "empty-dir")),
        ("file", os.path.join(case_dir, "junk.txt")),
        ("file/sub", os.path.join(case_dir, "junk.txt", "sub")),
        ("full-dir", os.path.join(case_dir, "full-dir")),
        (".", "."),
    ]
    if not output:
        v += [
            ("/dev/null", "/dev/null"),
            ("/", "/"),
            ("npy", seeds["npy"]),
            ("tsv", seeds["tsv"]),
            ("dataset", seeds["ds"]),
            ("run", seeds["run"]),
            ("config", os.path.join(seeds["run"], "config.json")),
        ]
    return v


def make_case_dir(case_dir):
    os.makedirs(fuzz_cli.inside(case_dir))
    os.makedirs(fuzz_cli.inside(os.path.join(case_dir, "empty-dir")))
    os.makedirs(fuzz_cli.inside(os.path.join(case_dir, "full-dir")))
    fuzz_cli.put(os.path.join(case_dir, "full-dir", "keep.txt"), b"unrelated\n")
    fuzz_cli.put(os.path.join(case_dir, "junk.txt"), b"not what any command reads\n\x00\xff")


# ---------------------------------------------------------------- minimal invocations


def extra_seeds(bae, seeds, limits):
    """A feature report (for features-compare) and a sweep file template, next to fuzz_cli's seeds."""
    root = os.path.dirname(seeds["npy"])
    report = os.path.join(root, "report")
    subprocess.run(
        [bae, "features", "--model", seeds["run"], "--data", seeds["ds"], "--out", fuzz_cli.inside(report)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=limits,
    )
    seeds["report"] = report


def sweep_file(seeds, case_dir):
    f = os.path.join(case_dir, "sweep.json")
    shared = {"data": seeds["npy"], "latentDim": 16, "batchSize": 32, "steps": 2, "logEvery": 100}
    models = [{"out": os.path.join(case_dir, "m0")}, {"out": os.path.join(case_dir, "m1"), "entropyWeight": 0}]
    fuzz_cli.put(f, json.dumps({"shared": shared, "models": models}).encode())
    return f


# command path -> function(seeds, case_dir) -> arguments after the command path. Small enough that a
# run takes well under a second.
def _out(case_dir, name="out"):
    return os.path.join(case_dir, name)


TRAIN = ["--latent-dim", "16", "--batch-size", "32", "--steps", "2", "--log-every", "100"]
BASE = {
    "train": lambda s, d: ["--data", s["npy"], *TRAIN, "--out", _out(d)],
    "sweep": lambda s, d: ["--config", sweep_file(s, d)],
    "eval": lambda s, d: ["--model", s["run"], "--data", s["npy"]],
    "export": lambda s, d: ["--model", s["run"], "--out", _out(d)],
    "synth": lambda s, d: ["--bits", "4", "--dim", "8", "--rows", "64", "--out", _out(d, "s.npy")],
    "entropy": lambda s, d: ["--model", s["run"], "--data", s["npy"]],
    "entropy-position": lambda s, d: [
        "--data",
        s["ds"],
        "--latent-dim",
        "8",
        "--steps",
        "2",
        "--bucket-batch",
        "16",
        "--out",
        _out(d),
    ],
    "features": lambda s, d: ["--model", s["run"], "--data", s["ds"], "--out", _out(d)],
    "features-compare": lambda s, d: [s["report"], "--out", _out(d)],
    "pack": lambda s, d: ["--input", s["npy"], "--dtype", "f16", "--rows-per-frame", "16", "--out", _out(d)],
    "inspect": lambda s, d: [s["ds"]],
    "bench step": lambda s, d: ["--dim", "8", "--latent", "16", "--rows", "32", "--repeats", "1"],
    "bench store": lambda s, d: ["--rows", "64", "--dim", "8", "--seconds", "0.01"],
    "bench scaling": lambda s, d: ["--dim", "8", "--latent", "16", "--rows", "32", "--repeats", "1", "--ranks", "2"],
}
JUDGE = [
    "--judge-url",
    "http://127.0.0.1:9",
    "--judge-model",
    "m",
    "--judge-retries",
    "0",
    "--judge-max-backoff",
    "0.1",
    "--judge-max-features",
    "1",
    "--judge-timeout",
    "2",
]
# extra arguments that make an option matter: (command, option) or option -> arguments
CONTEXT = {
    ("inspect", "batch-size"): ["--batch-mixing", "--batch-size", "32"],
    ("inspect", "seed"): ["--batch-mixing", "--batch-size", "32"],
    ("features", "random-seed"): ["--random-codes"],
    ("bench store", "max-rows"): ["--npy", "@npy"],
    ("bench scaling", "warmup"): ["--weak", "1=@metrics"],
}
ARCH_CONTEXT = {  # the help text's "arch:" prefix -> the architecture that reads the option
    "topk": ["--architecture", "topk", "--k", "4"],
    "topk/batchtopk": ["--architecture", "batchtopk", "--k", "4"],
    "topk AuxK": ["--architecture", "topk", "--k", "4", "--auxk-weight", "0.03"],
    "batchtopk": ["--architecture", "batchtopk", "--k", "4"],
    "relu": ["--architecture", "relu"],
    "SAEs": ["--architecture", "relu"],
    "jumprelu": ["--architecture", "jumprelu"],
}


def context_for(cmd, opt, abstract):
    if cmd == "features" and opt.startswith("judge-"):
        return list(JUDGE)
    if (cmd, opt) in CONTEXT:
        return list(CONTEXT[(cmd, opt)])
    prefix = abstract.split(":", 1)[0] if ":" in abstract[:20] else ""
    return list(ARCH_CONTEXT.get(prefix, []))


def merge(base, context, opt):
    """base + context + [opt[0] opt[1]], later occurrences of an option replacing earlier ones."""

    def pairs(args):
        out, i = [], 0
        while i < len(args):
            if args[i].startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
                out.append((args[i], args[i + 1]))
                i += 2
            elif args[i].startswith("--"):
                out.append((args[i], None))
                i += 1
            else:
                out.append((None, args[i]))
                i += 1
        return out

    given = {}
    for k, v in pairs(base) + pairs(context):
        given[k if k else ("pos", v)] = v
    if opt is not None:
        given.pop(opt[0], None)
        if opt[0] == "<positional>":
            given = {k: v for k, v in given.items() if not (isinstance(k, tuple) and k[0] == "pos")}
    args = []
    for k, v in given.items():
        if isinstance(k, tuple):
            args.append(v)
        else:
            args += [k] if v is None else [k, v]
    if opt is not None:
        args = ([opt[1]] + args) if opt[0] == "<positional>" else args + [opt[0], opt[1]]
    return args


# ---------------------------------------------------------------- the option list


def commands(bae):
    """[(command path, [option dicts])] from --experimental-dump-help, checked against --help."""
    tree = json.loads(subprocess.run([bae, "--experimental-dump-help"], capture_output=True, check=True).stdout)
    found = []

    def walk(node, path):
        for sub in node.get("subcommands", []):
            if sub["commandName"] == "help":  # ArgumentParser's own
                continue
            p = (path + " " + sub["commandName"]).strip()
            if sub.get("subcommands"):
                walk(sub, p)
            else:
                found.append((p, [a for a in sub.get("arguments", []) if a.get("shouldDisplay", True)]))

    walk(tree["command"], "")
    for path, args in found:
        page = subprocess.run([bae, *path.split(), "--help"], capture_output=True, text=True).stdout
        listed = set(re.findall(r"^\s+(--[a-z0-9-]+)", page, re.M))
        known = {"--" + a["preferredName"]["name"] for a in args if a.get("preferredName")}
        missing = listed - known - {"--help", "--version"}
        if missing:
            raise SystemExit(f"fuzz_flags: `bae {path} --help` lists {sorted(missing)} that the help dump lacks")
    return found


def cases_for(path, args, seeds):
    """(option name or <positional>, label, value, kind, context) for every hostile value of every option."""
    out = []
    for a in args:
        key = a["preferredName"]["name"] if a["kind"] == "option" else a["valueName"]
        if a["kind"] == "flag" or key in ("help", "version"):
            continue
        name = key if a["kind"] == "option" else "<positional>"
        ctx = context_for(path, key, a.get("abstract", ""))
        if "allValues" in a:
            vals = [(v, v, "enum") for v in ["", "x", "A" * 100_000, *a["allValues"]]]
        elif key in OUTPUT_PATHS:
            vals = [(lbl, v, "out") for lbl, v in path_values("@case", seeds, True)]
        elif key in INPUT_PATHS:
            vals = [(lbl, v, "in") for lbl, v in path_values("@case", seeds, False)]
        elif key == "judge-url":
            vals = [(v[:40], v, "url") for v in URLS]
        elif key in LIST_OPTIONS:
            extra = []
            if key == "weak":
                extra = ["1=/dev/null", "x", "0=@metrics", "99999999999=@metrics", "1=", "=1", "1=@case/missing"]
            if key == "meta":
                extra = ["=", "k=", "=v", "k=v=w", "k=" + "v" * 100_000]
            vals = [(v[:40], v, "list") for v in [*LISTS, *extra, "", "A" * 100_000]]
        else:
            vals = [(PROBE, PROBE, "probe")] + [(v[:40], v, "scalar") for v in SCALAR]
        for lbl, v, kind in vals:
            out.append((name if name == "<positional>" else "--" + name, lbl, v, kind, ctx))
    return out


# ---------------------------------------------------------------- running


def run_case(a, bae, seeds, limits, case, index):
    path, opt, label, value, kind, ctx = case
    case_dir = os.path.join(fuzz_cli.SANDBOX, "cases", str(index))
    make_case_dir(case_dir)

    def fill(s):
        s = s.replace("@case", case_dir).replace("@npy", seeds["npy"]).replace("@metrics", seeds["metrics"])
        return s

    base = [fill(x) for x in BASE[path](seeds, case_dir)]
    args = merge(base, [fill(x) for x in ctx], (opt, fill(value)) if opt else None)
    cmd = [bae, *path.split(), *args]
    budget = a.huge_seconds if value in LONG_OK else a.case_seconds
    t0 = time.time()
    try:
        p = subprocess.run(
            cmd,
            cwd=fuzz_cli.inside(case_dir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=budget,
            preexec_fn=limits,
            env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
        )
        rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, err = None, ""
    took = time.time() - t0
    shutil.rmtree(fuzz_cli.inside(case_dir), ignore_errors=True)
    return cmd, rc, err, took


def short(cmd):
    out = []
    for c in cmd[1:]:
        c = c.replace(fuzz_cli.SANDBOX, "$SANDBOX")
        out.append(c if len(c) <= 60 else c[:30] + f"...({len(c)} chars)")
    return "bae " + " ".join(repr(c) if (not c or " " in c) else c for c in out)


def verdict(opt, label, value, kind, rc, err, numeric):
    """'fail: why', 'long', 'pass' (numeric: whether the option parses numbers, from its probe)."""
    name = opt.lstrip("-")
    if rc is not None and rc < 0:
        return f"fail: crash (signal {-rc})"
    m = CRASH_MARKERS.search(err)
    if m:
        return f"fail: crash ({m.group(0)!r} on stderr)"
    if rc is None:
        return "long" if value in LONG_OK else "fail: hang"
    if rc != 0 or kind in ("probe", "enum"):
        return "pass"
    if kind == "scalar" and numeric:
        if value in NONSENSE:
            return f"fail: accepted {value!r} for a numeric option (exit 0)"
        if value == "-1" and name not in NEGATIVE_OK:
            return "fail: accepted -1 (exit 0); reject it, or list the option in NEGATIVE_OK with the reason"
    if kind == "scalar" and not numeric and value == "":
        return "fail: accepted an empty string (exit 0)"
    if kind == "in" and label in PATH_NONSENSE:
        return f"fail: accepted the input path {label!r} (exit 0)"
    if kind in ("out", "list", "url") and value == "":
        return "fail: accepted an empty string (exit 0)"
    return "pass"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bae", required=True)
    ap.add_argument("--cases", type=int, default=0, help="0 = all")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--mem-mb", type=int, default=2048)
    ap.add_argument("--case-seconds", type=float, default=10)
    ap.add_argument("--huge-seconds", type=float, default=3)
    ap.add_argument("--only", help="CMD or CMD:OPTION, e.g. 'bench store' or 'train:--lr'")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    a = ap.parse_args()
    fuzz_cli.SANDBOX = tempfile.mkdtemp(prefix="bae-fuzz-flags-")
    bae = os.path.join(fuzz_cli.SANDBOX, "bae")
    shutil.copy2(a.bae, fuzz_cli.inside(bae))
    limits = fuzz_cli.child_limits(a.mem_mb)
    start = time.time()
    seeds = fuzz_cli.make_seeds(bae, os.path.join(fuzz_cli.SANDBOX, "seeds"))
    extra_seeds(bae, seeds, limits)
    seeds["metrics"] = os.path.join(seeds["run"], "metrics.jsonl")
    found = commands(bae)
    unknown = [p for p, _ in found if p not in BASE]
    if unknown:
        raise SystemExit(f"fuzz_flags: no minimal invocation for {unknown}: add one to BASE")
    groups = []  # one list per option: the probe first, then its values in a seeded order
    for path, args in found:
        if a.only and a.only.split(":")[0] != path:
            continue
        by_opt = {}
        for c in cases_for(path, args, seeds):
            by_opt.setdefault(c[0], []).append((path, *c))
        for opt, cs in by_opt.items():
            if a.only and ":" in a.only and a.only.split(":", 1)[1] != opt:
                continue
            rng = random.Random(f"{a.seed}:{path}:{opt}")
            head = [c for c in cs if c[4] == "probe"]
            rest = [c for c in cs if c[4] != "probe"]
            rng.shuffle(rest)
            groups.append(head + rest)
    random.Random(a.seed).shuffle(groups)
    total = sum(len(g) for g in groups)
    want = total if a.cases <= 0 else min(a.cases, total)
    chosen, i = [], 0
    while len(chosen) < want:
        for g in groups:
            if i < len(g) and len(chosen) < want:
                chosen.append(g[i])
        i += 1
    if a.list:
        for c in chosen:
            print(c[0], c[1], repr(c[3][:40]), c[4], c[5])
        shutil.rmtree(fuzz_cli.inside(fuzz_cli.SANDBOX))
        return 0
    # the minimal invocations first: each must exit 0, or the cases built on it test nothing
    failures, longs, counts = [], [], {}
    paths = sorted({c[0] for c in chosen})

    def run_all(pool, cases, tag):
        return list(pool.map(lambda ic: run_case(a, bae, seeds, limits, ic[1], f"{tag}{ic[0]}"), enumerate(cases)))

    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        bases = run_all(pool, [(p, None, "", "", "base", []) for p in paths], "b")
        for path, (cmd, rc, err, _) in zip(paths, bases):
            if rc != 0:
                failures.append((path, "(base)", f"fail: base invocation exit {rc}", cmd, err))
        # probes decide numeric-ness; run them before the values of their option
        probes = [c for c in chosen if c[4] == "probe"]
        numeric = {}
        for c, (_, rc, err, _) in zip(probes, run_all(pool, probes, "p")):
            numeric[(c[0], c[1])] = rc not in (None, 0) and f"'{PROBE}' is invalid for" in err
        rest = [c for c in chosen if c[4] != "probe"]
        results = run_all(pool, rest, "")
    counts["probe"] = len(probes)
    for c, (cmd, rc, err, _) in zip(rest, results):
        path, opt, label, value, kind, ctx = c
        v = verdict(opt, label, value, kind, rc, err, numeric.get((path, opt), False))
        counts[v.split(":")[0]] = counts.get(v.split(":")[0], 0) + 1
        if v.startswith("fail"):
            failures.append((path, opt, v, cmd, err))
        elif v == "long":
            longs.append(cmd)
    took = time.time() - start
    print(
        f"fuzz_flags: {len(chosen)} of {total} cases over {len(groups)} options of {len(paths)} commands in "
        f"{took:.0f} s (seed {a.seed}, {a.jobs} jobs, RLIMIT_AS {a.mem_mb} MiB, {a.case_seconds:g} s per run, "
        f"{a.huge_seconds:g} s for huge values)"
    )
    for k in sorted(counts):
        print(f"  {k:10s} {counts[k]}")
    text = sorted(f"{p} {o}" for (p, o), n in numeric.items() if not n)
    print(f"  options that took the probe {PROBE!r} as text (so nan/inf are not judged there): {', '.join(text)}")
    for cmd in longs:
        print(f"long (accepted a huge value; review): {short(cmd)}")
    for path, opt, v, cmd, err in failures:
        tail = [line for line in err.strip().splitlines() if line.strip()][-2:]
        print(f"FAIL {path} {opt}: {v}\n  {short(cmd)}\n  " + "\n  ".join(t[:300] for t in tail))
    if failures or a.keep:
        print(f"fuzz_flags: sandbox kept: {fuzz_cli.SANDBOX}")
    else:
        shutil.rmtree(fuzz_cli.inside(fuzz_cli.SANDBOX))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
