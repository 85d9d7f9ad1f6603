"""Minimal safetensors writer and reader (numpy only, no external packages).

File layout:
  bytes 0..7      : N, unsigned 64-bit little-endian header length
  bytes 8..8+N-1  : UTF-8 JSON header, right-padded with spaces so that N % 8 == 0
  bytes 8+N..     : data section; each tensor is row-major, little-endian, at
                    data_offsets [begin, end) relative to the data start.
Header entries: name -> {"dtype", "shape", "data_offsets"}; optional
"__metadata__": {str: str}.  Tensors tile the data section exactly.
"""

import json
import struct

import numpy as np

# safetensors dtype name <-> little-endian numpy dtype
_DTYPES = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "U64": np.dtype("<u8"),
}


def _dtype_name(arr):
    for name, dt in _DTYPES.items():
        if arr.dtype == dt or arr.dtype == dt.newbyteorder("="):
            return name
    raise ValueError("unsupported dtype %s" % arr.dtype)


def serialize(tensors, metadata=None):
    """Return the bytes of a safetensors file.

    tensors: dict name -> numpy array (any supported dtype).
    metadata: optional dict str -> str.
    Order in the data section: dtype size descending, then name (like the
    reference writer).
    """
    if "__metadata__" in tensors:
        raise ValueError("'__metadata__' is reserved")
    items = []
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        dname = _dtype_name(arr)
        arr = np.ascontiguousarray(arr, dtype=_DTYPES[dname])
        items.append((name, dname, arr))
    items.sort(key=lambda it: (-it[2].dtype.itemsize, it[0]))

    header = {}
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, dname, arr in items:
        data = arr.tobytes(order="C")
        header[name] = {
            "dtype": dname,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)

    hbytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pad = (-len(hbytes)) % 8
    hbytes += b" " * pad
    return struct.pack("<Q", len(hbytes)) + hbytes + b"".join(chunks)


def save_file(tensors, path, metadata=None):
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def deserialize(buf):
    """Parse safetensors bytes -> (dict name -> numpy array, metadata dict or None).

    Validates the layout: header length, JSON object, offsets tiling the data
    section exactly, sizes matching shape x element size.
    """
    if len(buf) < 8:
        raise ValueError("file too short")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > 100_000_000 or 8 + n > len(buf):
        raise ValueError("bad header length %d" % n)
    hraw = buf[8 : 8 + n]
    if not hraw.startswith(b"{"):
        raise ValueError("header must start with '{'")
    header = json.loads(hraw.decode("utf-8"))
    data = buf[8 + n :]
    metadata = header.pop("__metadata__", None)
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    pos = 0
    out = {}
    for name, e in entries:
        dt = _DTYPES[e["dtype"]]
        shape = tuple(int(s) for s in e["shape"])
        begin, end = e["data_offsets"]
        if begin != pos:
            raise ValueError("tensor %s does not tile the data (begin %d, expected %d)" % (name, begin, pos))
        count = 1
        for s in shape:
            count *= s
        if end - begin != count * dt.itemsize:
            raise ValueError("tensor %s: size mismatch" % name)
        out[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
        pos = end
    if pos != len(data):
        raise ValueError("data section has %d trailing bytes" % (len(data) - pos))
    return out, metadata


def load_file(path):
    with open(path, "rb") as f:
        return deserialize(f.read())
