"""Minimal safetensors reader/writer for numpy (format: u64 LE header length, JSON header, raw data).

Each header entry is {"dtype", "shape", "data_offsets": [begin, end]} relative to the data section;
"__metadata__" is an optional str → str map. Little-endian, C order.
"""

from __future__ import annotations

import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items()}


class SafetensorsFormatError(RuntimeError):
    pass


def load(path: str) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata). BF16 tensors are widened to float32."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SafetensorsFormatError(f"{path}: {len(raw)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise SafetensorsFormatError(f"{path}: header length {n} exceeds file size {len(raw)}")
    header = json.loads(raw[8 : 8 + n])
    data = memoryview(raw)[8 + n :]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        if not 0 <= a <= b <= len(data):
            raise SafetensorsFormatError(f"{path}: tensor '{name}' offsets {a}..{b} outside data ({len(data)} bytes)")
        shape = tuple(e["shape"])
        if e["dtype"] == "BF16":
            u = np.frombuffer(data[a:b], dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        elif e["dtype"] in _DTYPES:
            arr = np.frombuffer(data[a:b], dtype=np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<"))
        else:
            raise SafetensorsFormatError(f"{path}: tensor '{name}' has unsupported dtype {e['dtype']}")
        if arr.size != int(np.prod(shape)):
            raise SafetensorsFormatError(f"{path}: tensor '{name}' has {arr.size} elements for shape {shape}")
        out[name] = arr.reshape(shape).copy()
    return out, meta


def save(path: str, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        arr = arr.astype(arr.dtype.newbyteorder("<"))
        key = _NAMES.get(np.dtype(arr.dtype).str)
        if key is None:
            raise ValueError(f"tensor '{name}': dtype {arr.dtype} not supported")
        b = arr.tobytes()
        header[name] = {"dtype": key, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # pad so the data section is 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
