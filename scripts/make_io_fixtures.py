#!/usr/bin/env python3
"""Writes the BAEIO test fixtures (npy and safetensors files written by numpy / the safetensors
package, plus deliberately broken ones) and the expected values as JSON (float32 bit patterns as
integers, so the Swift tests compare bit for bit).

Run from the repository root (needs numpy, safetensors, ml_dtypes in .venv):
    scripts/setup.sh --python && .venv/bin/pip install ml_dtypes
    .venv/bin/python scripts/make_io_fixtures.py
Output: Tests/BAEIOTests/Fixtures/ (deterministic; a few KB).
"""

import json
import os
import struct
import sys

import ml_dtypes
import numpy as np
import safetensors
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "BAEIOTests", "Fixtures")


def bits32(a):
    """float32 bit patterns of `a` (any float dtype, widened exactly) as a flat list of ints."""
    return [int(x) for x in np.asarray(a).astype(np.float32).reshape(-1).view(np.uint32)]


def write_npy(name, array, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    return path


def header_offset(path):
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        # Versions 2.0 and 3.0 share the 4-byte length; our headers are ASCII, so 2.0's reader fits 3.0.
        (np.lib.format.read_array_header_1_0 if version[0] == 1 else np.lib.format.read_array_header_2_0)(f)
        return f.tell(), version[0]


def edge_f32():
    # Signed zeros, subnormals, extremes, infinities, and ordinary values.
    return np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.5,
            np.pi,
            1e-38,
            1e-45,
            3.4028235e38,
            np.inf,
            -np.inf,
            65504.0,
            1.0 / 3.0,
            -2.5e-3,
            123456.789,
            7.0,
        ],
        dtype=np.float32,
    )


def edge_f16_source():
    # float16 specials: max, overflow to inf, min normal, subnormals, ties.
    return np.array(
        [
            0.0,
            -0.0,
            1.0,
            -2.0,
            65504.0,
            70000.0,
            -np.inf,
            2.0**-14,
            2.0**-24,
            3 * 2.0**-24,
            -(2.0**-20),
            0.1,
            1.0 / 3.0,
            1000.5,
            -12.375,
            0.000123,
            1 + 2.0**-11,
            3.0,
            -7.25,
            42.0,
            0.5,
            0.25,
            -0.125,
            1e-3,
        ],
        dtype=np.float32,
    )


def conversion_cases():
    """float32 inputs whose float16 / bfloat16 roundings the Swift converters must reproduce."""
    rng = np.random.default_rng(20240601)
    randoms = np.concatenate([rng.standard_normal(64) * s for s in (1e-6, 1e-3, 1.0, 1e3, 6e4)])
    special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        np.inf,
        -np.inf,
        3.4028235e38,
        -3.4028235e38,
        1e-45,
        1.17549435e-38,
        65504.0,
        65519.99,
        65520.0,
        -65520.0,
        2.0**-14,
        2.0**-14 - 2.0**-25,
        2.0**-24,
        2.0**-25,
        1.5 * 2.0**-25,
        2.0**-26,
        1023 * 2.0**-24,
        1023.5 * 2.0**-24,
        1 + 2.0**-11,
        1 + 3 * 2.0**-11,
        1 + 2.0**-8,
        1 + 3 * 2.0**-8,
        1 + 2.0**-8 + 2.0**-20,
        256.5,
        257.0,
        2049.0,
        2051.0,
        -3.0e38,
        0.1,
        0.2,
        0.3,
    ]
    src = np.concatenate([randoms, np.array(special)]).astype(np.float32)
    return {
        "source_f32_bits": bits32(src),
        "f16_bits": [int(x) for x in src.astype(np.float16).view(np.uint16)],
        "bf16_bits": [int(x) for x in src.astype(ml_dtypes.bfloat16).view(np.uint16)],
    }


def raw_safetensors(name, header, data):
    """A safetensors file from a hand-written header (for the broken cases the package refuses to write)."""
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith((".npy", ".safetensors", ".json")):
            os.remove(os.path.join(OUT, old))
    expected = {}

    def good(name, array, version=None):
        path = write_npy(name, array, version)
        offset, major = header_offset(path)
        expected[name] = {
            "shape": list(array.shape),
            "dtype": {"float32": "float32", "float16": "float16"}[array.dtype.name],
            "version": major,
            "data_offset": offset,
            "bits": bits32(array),
        }

    f32 = edge_f32()
    good("f32_2d_v1.npy", f32.reshape(3, 5))
    good("f32_1d_v1.npy", f32[:7].copy())
    good("f32_2d_v2.npy", (np.arange(12, dtype=np.float32) * np.float32(-0.75)).reshape(4, 3), version=(2, 0))
    good("f32_2d_v3.npy", (np.arange(6, dtype=np.float32) / np.float32(7)).reshape(2, 3), version=(3, 0))
    good("f32_scalar.npy", np.array(2.5, dtype=np.float32))
    good("f32_empty.npy", np.zeros((0, 4), dtype=np.float32))
    f16 = edge_f16_source().astype(np.float16)
    good("f16_2d_v1.npy", f16.reshape(4, 6))
    good("f16_1d_v3.npy", f16[:5].copy(), version=(3, 0))

    # Files that must be refused, each with the error case the Swift test expects.
    bad = {}
    write_npy("bad_fortran.npy", np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)))
    bad["bad_fortran.npy"] = "fortranOrder"
    write_npy("bad_bigendian.npy", np.arange(6, dtype=">f4").reshape(2, 3))
    bad["bad_bigendian.npy"] = "bigEndian"
    write_npy("bad_float64.npy", np.arange(6, dtype=np.float64))
    bad["bad_float64.npy"] = "unsupportedDType"
    write_npy("bad_int32.npy", np.arange(6, dtype=np.int32))
    bad["bad_int32.npy"] = "unsupportedDType"
    whole = open(os.path.join(OUT, "f32_2d_v1.npy"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.npy"), "wb").write(whole[:-6])
    bad["bad_truncated.npy"] = "truncated"
    open(os.path.join(OUT, "bad_truncated_header.npy"), "wb").write(whole[:40])
    bad["bad_truncated_header.npy"] = "truncated"
    open(os.path.join(OUT, "bad_extra_data.npy"), "wb").write(whole + b"\0" * 8)
    bad["bad_extra_data.npy"] = "dataSizeMismatch"
    open(os.path.join(OUT, "bad_magic.npy"), "wb").write(b"a,b,c\n1,2,3\n")
    bad["bad_magic.npy"] = "badMagic"
    open(os.path.join(OUT, "bad_version.npy"), "wb").write(whole[:6] + b"\x04\x00" + whole[8:])
    bad["bad_version.npy"] = "unsupportedVersion"

    # safetensors written by the package. numpy has no bfloat16: ml_dtypes provides the dtype,
    # and safetensors.numpy stores it as BF16 (its writer maps dtype name "bfloat16").
    bf16 = (
        np.array([1.0, -2.5, 3.140625, 1e-3, 65280.0, -0.0], dtype=np.float32).astype(ml_dtypes.bfloat16).reshape(3, 2)
    )
    tensors = {
        "encoder.weight": f32[:12].reshape(4, 3).copy(),
        "encoder.bias": np.array([0.5, -0.25, 1e-7, 3.0], dtype=np.float32),
        "half": f16[:6].reshape(2, 3).copy(),
        "brain": bf16,
        "step": np.array(123456789012, dtype=np.int64),
        "counts": np.array([-1, 0, 2147483647], dtype=np.int32),
    }
    metadata = {"format": "pt", "note": "BAE fixture"}
    save_file(tensors, os.path.join(OUT, "mixed.safetensors"), metadata=metadata)
    st = {"metadata": metadata, "writable_metadata": {"format": "pt"}, "tensors": {}}
    for name, a in tensors.items():
        entry = {"shape": list(a.shape)}
        if a.dtype.kind == "i":
            entry["ints"] = [int(x) for x in a.reshape(-1)]
        else:
            entry["bits"] = bits32(a)
        entry["dtype"] = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32"}[
            a.dtype.name
        ]
        st["tensors"][name] = entry
    save_file({"w": f32[:6].reshape(2, 3).copy()}, os.path.join(OUT, "plain.safetensors"))
    # What the Swift writer can produce (F32/F16/BF16/I64 + metadata), for a byte-for-byte writer test.
    save_file(
        {k: v for k, v in tensors.items() if k != "counts"},
        os.path.join(OUT, "writable.safetensors"),
        metadata={"format": "pt"},
    )  # one key: the package writes several in hash order, not reproducibly

    mixed = open(os.path.join(OUT, "mixed.safetensors"), "rb").read()
    open(os.path.join(OUT, "bad_st_truncated.safetensors"), "wb").write(mixed[:-4])
    bad["bad_st_truncated.safetensors"] = "invalidTensor"
    open(os.path.join(OUT, "bad_st_header_length.safetensors"), "wb").write(struct.pack("<Q", 1 << 40) + mixed[8:])
    bad["bad_st_header_length.safetensors"] = "headerLengthInvalid"

    def f4(*shape):
        return {"dtype": "F32", "shape": list(shape)}

    raw_safetensors(
        "bad_st_overlap.safetensors",
        {"a": {**f4(2), "data_offsets": [0, 8]}, "b": {**f4(2), "data_offsets": [4, 12]}},
        bytes(12),
    )
    bad["bad_st_overlap.safetensors"] = "invalidTensor"
    raw_safetensors("bad_st_out_of_file.safetensors", {"a": {**f4(4), "data_offsets": [0, 16]}}, bytes(8))
    bad["bad_st_out_of_file.safetensors"] = "invalidTensor"
    raw_safetensors("bad_st_size_mismatch.safetensors", {"a": {**f4(3), "data_offsets": [0, 8]}}, bytes(8))
    bad["bad_st_size_mismatch.safetensors"] = "invalidTensor"
    raw_safetensors(
        "bad_st_unknown_dtype.safetensors", {"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 2]}}, bytes(2)
    )
    bad["bad_st_unknown_dtype.safetensors"] = "unknownTensorDType"
    raw_safetensors("bad_st_trailing_data.safetensors", {"a": {**f4(2), "data_offsets": [0, 8]}}, bytes(12))
    bad["bad_st_trailing_data.safetensors"] = "malformedHeader"
    with open(os.path.join(OUT, "bad_st_json.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 16) + b'{"a": {"dtype":' + b"\0" * 4)
    bad["bad_st_json.safetensors"] = "malformedHeader"

    with open(os.path.join(OUT, "npy_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    with open(os.path.join(OUT, "safetensors_expected.json"), "w") as f:
        json.dump(st, f, indent=1, sort_keys=True)
    with open(os.path.join(OUT, "bad_expected.json"), "w") as f:
        json.dump(bad, f, indent=1, sort_keys=True)
    with open(os.path.join(OUT, "conversions.json"), "w") as f:
        json.dump(conversion_cases(), f)
    versions = f"numpy {np.__version__}, safetensors {safetensors.__version__}, ml_dtypes {ml_dtypes.__version__}"
    print(
        f"make_io_fixtures: wrote {len(os.listdir(OUT))} files to {os.path.normpath(OUT)} ({versions})", file=sys.stderr
    )


if __name__ == "__main__":
    with np.errstate(over="ignore"):  # 70000 -> float16 inf is one of the cases, on purpose
        main()
