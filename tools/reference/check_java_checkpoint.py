"""Load a Hugging Face GPT-Neo folder (as the Java library writes it) and print its logits.

    /usr/bin/python3 tools/reference/check_java_checkpoint.py DIR [--ids "1,2,3;4,5,6"]
                                                              [--compare FILE] [--tolerance 1e-4]

DIR holds config.json and either model.safetensors or model.safetensors.index.json with its shards
(F32, F16 or BF16 tensors; the tied LM head stored once as transformer.wte.weight; a present
lm_head.weight must equal it). transformers is not available here, so this uses our own safetensors
reader (below) and float64 reference model (gpt_neo_reference.py).

Prints the logits [B, T, V] (float64 forward, one line per position) and, with --compare FILE (a
safetensors file holding "logits", e.g. written by `./gptneo logits --model DIR --ids ... --out FILE`),
the max |difference| / max |reference| and exits 1 when it exceeds --tolerance.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__

import gpt_neo_reference as ref  # noqa: E402

# safetensors dtype -> (torch dtype, element size); BF16 is read as int16 bits and reinterpreted
DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_NUMPY = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<i2", "I64": "<i8", "I32": "<i4",
    "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "bool",
}

IGNORED_BUFFERS = (".attn.attention.bias", ".attn.attention.masked_bias", ".attn.bias", ".attn.masked_bias")


def read_safetensors(path):
    """name -> torch tensor (any dtype in DTYPES), metadata. Validates length, tiling and sizes."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError("%s: file too short" % path)
    (n,) = struct.unpack("<Q", buf[:8])
    if n > 100_000_000 or 8 + n > len(buf):
        raise ValueError("%s: bad header length %d" % (path, n))
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = buf[8 + n:]
    metadata = header.pop("__metadata__", None)
    pos = 0
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype, size = DTYPES[e["dtype"]]
        shape = tuple(int(s) for s in e["shape"])
        begin, end = e["data_offsets"]
        count = 1
        for s in shape:
            count *= s
        if begin != pos or end - begin != count * size:
            raise ValueError("%s: tensor %s does not tile the data section" % (path, name))
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(_NUMPY[e["dtype"]])).reshape(shape).copy()
        t = torch.from_numpy(arr)
        out[name] = t.view(torch.bfloat16) if e["dtype"] == "BF16" else t
        pos = end
    if pos != len(data):
        raise ValueError("%s: %d trailing bytes" % (path, len(data) - pos))
    return out, metadata


def read_folder(folder):
    """(config dict with HF defaults filled in, params: HF name -> float64 tensor)."""
    with open(os.path.join(folder, "config.json")) as f:
        raw = json.load(f)
    config = {
        "vocab_size": raw.get("vocab_size", 50257),
        "max_position_embeddings": raw.get("max_position_embeddings", 2048),
        "hidden_size": raw.get("hidden_size", 2048),
        "num_layers": raw.get("num_layers", raw.get("num_hidden_layers", 24)),
        "num_heads": raw.get("num_heads", raw.get("num_attention_heads", 16)),
        "attention_types": raw.get("attention_types"),
        "window_size": raw.get("window_size", 256),
        "intermediate_size": raw.get("intermediate_size"),
        "layer_norm_epsilon": raw.get("layer_norm_epsilon", 1e-5),
    }
    if config["attention_types"] is None:
        layers = raw.get("attention_layers")
        config["attention_types"] = [[[t], 1] for t in layers] if layers else [[["global", "local"], 12]]
    single = os.path.join(folder, "model.safetensors")
    tensors = {}
    if os.path.isfile(single):
        tensors, _ = read_safetensors(single)
    else:
        with open(os.path.join(folder, "model.safetensors.index.json")) as f:
            index = json.load(f)
        by_file = {}
        for name, fname in index["weight_map"].items():
            by_file.setdefault(fname, []).append(name)
        for fname, names in sorted(by_file.items()):
            shard, _ = read_safetensors(os.path.join(folder, fname))
            if sorted(shard) != sorted(names):
                raise ValueError("%s: holds %s, index says %s" % (fname, sorted(shard), sorted(names)))
            tensors.update(shard)
    params = {}
    for name, t in tensors.items():
        full = name if name.startswith(("transformer.", "lm_head.")) else "transformer." + name
        if full.endswith(IGNORED_BUFFERS):
            continue
        params[full] = t.to(torch.float64)
    head = params.pop("lm_head.weight", None)
    if head is not None and not torch.equal(head, params["transformer.wte.weight"]):
        raise ValueError("lm_head.weight differs from transformer.wte.weight")
    expected = dict(ref.param_shapes(config))
    if sorted(expected) != sorted(params):
        raise ValueError("tensor names differ: missing %s, unexpected %s"
                         % (sorted(set(expected) - set(params)), sorted(set(params) - set(expected))))
    for name, shape in expected.items():
        if tuple(params[name].shape) != tuple(shape):
            raise ValueError("%s has shape %s, config implies %s" % (name, tuple(params[name].shape), shape))
    return config, params


def parse_ids(text):
    rows = [[int(x) for x in row.split(",")] for row in text.split(";")]
    if len({len(r) for r in rows}) != 1:
        raise ValueError("rows of --ids must have equal length")
    return torch.tensor(rows, dtype=torch.long)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--ids", default="1,2,3,4,5;6,5,4,3,2")
    p.add_argument("--compare", help="a safetensors file holding 'logits' [B,T,V] to compare with")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args(argv)
    config, params = read_folder(args.dir)
    ids = parse_ids(args.ids)
    with torch.no_grad():
        logits, _ = ref.forward(params, config, ids)
    B, T, V = logits.shape
    print("logits [%d, %d, %d] of %s for ids %s" % (B, T, V, args.dir, args.ids))
    for b in range(B):
        for t in range(T):
            print("%d,%d: %s" % (b, t, " ".join("%.6g" % x for x in logits[b, t].tolist())))
    if args.compare:
        other, _ = read_safetensors(args.compare)
        java = other["logits"].to(torch.float64)
        if tuple(java.shape) != tuple(logits.shape):
            print("shape differs: %s vs %s" % (tuple(java.shape), tuple(logits.shape)))
            return 1
        err = (java - logits).abs().max().item() / max(logits.abs().max().item(), 1e-12)
        ok = err <= args.tolerance
        print("relative error vs %s: %.3g (%s, tolerance %g)" % (args.compare, err, "agree" if ok else "DIFFER",
                                                               args.tolerance))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
