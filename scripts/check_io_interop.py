#!/usr/bin/env python3
"""Checks that files written by BAEIO (Swift) read back correctly with numpy and safetensors.

    .venv/bin/python scripts/check_io_interop.py              # runs the Swift writer test, then checks
    .venv/bin/python scripts/check_io_interop.py --dir DIR    # only checks files already in DIR

The Swift side is BAEIOTests.InteropTests/testWriteFilesForPythonCheck, which writes into
$BAE_INTEROP_OUT. Expected float16/bfloat16 values are computed here by numpy / ml_dtypes from the
float32 source bits in manifest.json, so Swift's rounding is checked against an independent
implementation. Exits non-zero on any mismatch; prints "N passed, N failed".
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np
import safetensors

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def run_swift_writer(out_dir, package, scratch):
    env = dict(os.environ, BAE_INTEROP_OUT=out_dir)
    cmd = ["swift", "test", "--package-path", package, "--scratch-path", scratch, "--filter", "InteropTests"]
    subprocess.run(cmd, env=env, check=True)
    if not os.path.exists(os.path.join(out_dir, "manifest.json")):
        sys.exit("check_io_interop: the Swift test wrote nothing (was InteropTests filtered out or skipped?)")


def check(directory):
    results = []

    def expect(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")

    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    shape = tuple(manifest["shape"])
    src = np.array(manifest["source_f32_bits"], dtype=np.uint32).view(np.float32).reshape(shape)
    with np.errstate(over="ignore"):
        want_f16 = src.astype(np.float16)
    want_bf16 = src.astype(ml_dtypes.bfloat16)

    def same_bits(a, b):
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    a = np.load(os.path.join(directory, "swift_f32.npy"))
    expect("swift_f32.npy dtype/shape/bits", a.dtype == np.dtype("<f4") and same_bits(a, src), f"{a.dtype} {a.shape}")
    a = np.load(os.path.join(directory, "swift_f16.npy"))
    expect(
        "swift_f16.npy float16 rounding matches numpy",
        a.dtype == np.dtype("<f2") and same_bits(a, want_f16),
        f"{a.dtype} {a.shape}, {int(np.sum(a.view(np.uint16) != want_f16.view(np.uint16)))} elements differ",
    )
    a = np.load(os.path.join(directory, "swift_1d.npy"))
    expect("swift_1d.npy", same_bits(a, src.reshape(-1)[:5]), f"{a.shape}")
    mm = np.load(os.path.join(directory, "swift_f32.npy"), mmap_mode="r")
    expect("swift_f32.npy memory-maps (64-byte aligned data)", mm.offset % 64 == 0 and same_bits(np.asarray(mm), src))

    path = os.path.join(directory, "swift.safetensors")
    with open(path, "rb") as f:
        raw = safetensors.deserialize(f.read())
    tensors = {name: info for name, info in raw}
    with safetensors.safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    expect("safetensors metadata", meta == manifest["metadata"], str(meta))
    expect(
        "safetensors tensor names", sorted(tensors) == ["brain", "encoder.weight", "half", "step"], str(sorted(tensors))
    )
    # The ordinary numpy API too, for the dtypes it supports (it has no bfloat16).
    with safetensors.safe_open(path, framework="numpy") as f:
        expect(
            "safe_open numpy get_tensor F32/F16/I64",
            same_bits(f.get_tensor("encoder.weight"), src)
            and same_bits(f.get_tensor("half"), want_f16)
            and f.get_tensor("step").item() == manifest["step"],
        )
    w = tensors["encoder.weight"]
    expect(
        "encoder.weight F32 bits",
        w["dtype"] == "F32" and list(w["shape"]) == list(shape) and bytes(w["data"]) == src.tobytes(),
        f"{w['dtype']} {w['shape']}",
    )
    h = tensors["half"]
    expect(
        "half F16 matches numpy rounding", h["dtype"] == "F16" and bytes(h["data"]) == want_f16.tobytes(), h["dtype"]
    )
    b = tensors["brain"]
    expect(
        "brain BF16 matches ml_dtypes rounding",
        b["dtype"] == "BF16" and bytes(b["data"]) == want_bf16.tobytes(),
        b["dtype"],
    )
    s = tensors["step"]
    expect(
        "step I64 scalar",
        s["dtype"] == "I64"
        and list(s["shape"]) == []
        and int(np.frombuffer(bytes(s["data"]), "<i8")[0]) == manifest["step"],
        f"{s['dtype']} {s['shape']}",
    )

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return passed == len(results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="check Swift-written files already in DIR (skip running swift test)")
    parser.add_argument("--package-path", default=ROOT, help="Swift package to test (default: this repository)")
    parser.add_argument("--scratch-path", default=os.path.join(ROOT, ".build-interop"), help="swift build scratch path")
    args = parser.parse_args()
    if args.dir:
        ok = check(args.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="bae-interop-") as out:
            run_swift_writer(out, args.package_path, args.scratch_path)
            ok = check(out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
