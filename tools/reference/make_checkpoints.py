"""Generate the Hugging Face checkpoint fixtures for the Java interop tests.

Run from anywhere:  /usr/bin/python3 tools/reference/make_checkpoints.py
Writes layers/src/test/resources/checkpoints/ (deterministic; see README.md "Checkpoint fixtures").

One set of tiny GPT-Neo weights (V=23, P=8, d=8, L=2, H=2, global+local, window 3) stored in every
layout the loader must read: safetensors F32/F16/BF16, with and without lm_head.weight, with and
without the old attention-mask buffers, sharded and unsharded, without the "transformer." prefix,
a config.json with only attention_layers, torch.save zip .bin files (single and sharded), a mesh-tf
JSON config, and hand-written hostile pickles inside otherwise valid torch zips.
expected.safetensors holds the float64-reference logits (stored F32) for fixed ids for each storage
dtype, computed from the weights exactly as stored (F16/BF16 rounded).
"""

import collections
import hashlib
import io
import json
import math
import os
import shutil
import struct
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__

import check_java_checkpoint as reader  # noqa: E402
import gpt_neo_reference as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "layers", "src", "test", "resources", "checkpoints")

V, P, D, L, H, WINDOW = 23, 8, 8, 2, 2, 3
ATTENTION_TYPES = [[["global", "local"], 1]]
IDS = [[3, 1, 4, 1, 5, 9, 2], [22, 0, 7, 7, 13, 8, 21]]  # B=2, T=7 > window

ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.uint8: "U8",
            torch.bool: "BOOL", torch.int32: "I32", torch.float64: "F64"}


def hf_config(**overrides):
    c = {
        "activation_function": "gelu_new",
        "architectures": ["GPTNeoForCausalLM"],
        "attention_dropout": 0.0,
        "attention_layers": ref.expand_attention_types(ATTENTION_TYPES),
        "attention_types": ATTENTION_TYPES,
        "bos_token_id": V - 1,
        "embed_dropout": 0.0,
        "eos_token_id": V - 1,
        "gradient_checkpointing": False,
        "hidden_size": D,
        "initializer_range": 0.02,
        "intermediate_size": None,
        "layer_norm_epsilon": 1e-05,
        "max_position_embeddings": P,
        "model_type": "gpt_neo",
        "num_heads": H,
        "num_layers": L,
        "resid_dropout": 0.0,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": "float32",
        "transformers_version": "4.9.0.dev0",
        "use_cache": True,
        "vocab_size": V,
        "window_size": WINDOW,
    }
    c.update(overrides)
    return c


def make_params():
    """float32 weights (as stored in the F32 fixtures): embeddings N(0, 0.3^2), Linear N(0, 1/fan_in),
    LayerNorm weights 1 + 0.1 N(0,1), biases 0.1 N(0,1); drawn in float64 from a fixed seed."""
    gen = torch.Generator().manual_seed(20240611)
    out = collections.OrderedDict()
    for name, shape in ref.param_shapes(hf_config()):
        z = torch.randn(shape, generator=gen, dtype=torch.float64)
        if name.endswith(("wte.weight", "wpe.weight")):
            v = 0.3 * z
        elif name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            v = 1.0 + 0.1 * z
        elif name.endswith(".bias"):
            v = 0.1 * z
        else:
            v = z / math.sqrt(shape[1])
        out[name] = v.to(torch.float32)
    return out


def is_matrix(name):
    return name.endswith(".weight") and ".ln_" not in name


def logits_of(params):
    with torch.no_grad():
        p64 = {k: v.to(torch.float64) for k, v in params.items()}
        logits, _ = ref.forward(p64, hf_config(), torch.tensor(IDS))
    return logits.to(torch.float32)


def mask_buffers(layer_types, dtype):
    """The old non-persistent buffers: bias [1,1,P,P] (causal or banded) and masked_bias -1e9."""
    out = collections.OrderedDict()
    i = torch.arange(P).unsqueeze(1)
    j = torch.arange(P).unsqueeze(0)
    for layer, kind in enumerate(layer_types):
        m = j <= i
        if kind == "local":
            m = m & (j > i - WINDOW)
        out["transformer.h.%d.attn.attention.bias" % layer] = m.to(dtype).reshape(1, 1, P, P)
        out["transformer.h.%d.attn.attention.masked_bias" % layer] = torch.tensor(-1e9)
    return out


# ----------------------------------------------------------------------------------------------
# safetensors writing (F32/F16/BF16/U8/BOOL), own serializer because numpy has no bfloat16


def st_bytes(tensors, metadata=None):
    items = []
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        items.append((name, ST_NAMES[t.dtype], list(t.shape), raw, t.element_size()))
    items.sort(key=lambda it: (-it[4], it[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw, _ in items:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(it[3] for it in items)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, obj):
    write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def split_shards(names, n):
    names = list(names)
    size = (len(names) + n - 1) // n
    return [names[k * size:(k + 1) * size] for k in range(n)]


def write_st_folder(folder, tensors, config, shards=1):
    write_json(os.path.join(folder, "config.json"), config)
    if shards == 1:
        write(os.path.join(folder, "model.safetensors"), st_bytes(tensors, {"format": "pt"}))
        return
    weight_map, total = {}, 0
    for k, group in enumerate(split_shards(tensors, shards)):
        fname = "model-%05d-of-%05d.safetensors" % (k + 1, shards)
        part = collections.OrderedDict((n, tensors[n]) for n in group)
        write(os.path.join(folder, fname), st_bytes(part, {"format": "pt"}))
        for n, t in part.items():
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    write_json(os.path.join(folder, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def write_bin_folder(folder, tensors, config, shards=1, protocol=2):
    write_json(os.path.join(folder, "config.json"), config)
    if shards == 1:
        torch.save(tensors, os.path.join(folder, "pytorch_model.bin"), pickle_protocol=protocol)
        return
    weight_map, total = {}, 0
    for k, group in enumerate(split_shards(tensors, shards)):
        fname = "pytorch_model-%05d-of-%05d.bin" % (k + 1, shards)
        part = collections.OrderedDict((n, tensors[n]) for n in group)
        torch.save(part, os.path.join(folder, fname))
        for n, t in part.items():
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    write_json(os.path.join(folder, "pytorch_model.bin.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


# ----------------------------------------------------------------------------------------------
# Hand-written pickles (protocol 2 opcodes, as torch 1.13 emits) inside torch-style zips


def op_str(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def op_int(n):
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


ORDERED_DICT = op_global("collections", "OrderedDict") + b")R"


def tensor_pickle(key="0", storage="FloatStorage", numel=6, offset=0, size=(2, 3), stride=(3, 1)):
    """_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())."""
    pid = op_tuple(op_str("storage"), op_global("torch", storage), op_str(key), op_str("cpu"), op_int(numel))
    return (op_global("torch._utils", "_rebuild_tensor_v2")
            + op_tuple(pid + b"Q", op_int(offset), op_tuple(*map(op_int, size)),
                       op_tuple(*map(op_int, stride)), b"\x89", ORDERED_DICT)
            + b"R")


def state_dict_pickle(entries):
    body = b"".join(op_str(name) + value for name, value in entries)
    return b"\x80\x02" + ORDERED_DICT + b"(" + body + b"u."


def torch_zip(pickle_bytes, storages, prefix="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        def add(name, data):
            info = zipfile.ZipInfo(prefix + "/" + name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
        add("data.pkl", pickle_bytes)
        for key, data in storages.items():
            add("data/" + key, data)
        add("version", b"3\n")
    return buf.getvalue()


def hostile_files():
    six_floats = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    store = {"0": six_floats}
    files = collections.OrderedDict()
    files["benign.bin"] = torch_zip(state_dict_pickle([("x", tensor_pickle())]), store)
    files["os_system.bin"] = torch_zip(
        b"\x80\x02" + op_global("os", "system") + op_str("touch /tmp/gptneo-pwned") + b"\x85R.", store)
    files["builtins_eval.bin"] = torch_zip(
        b"\x80\x02" + op_global("builtins", "eval") + op_str("__import__('os').system('true')") + b"\x85R.", store)
    files["posix_system_stack_global.bin"] = torch_zip(
        b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x04true\x94\x85R.", store)
    files["unknown_opcode.bin"] = torch_zip(
        b"\x80\x02" + ORDERED_DICT + b"(" + op_str("x") + b"\xf0" + b"u.", store)
    files["missing_storage.bin"] = torch_zip(state_dict_pickle([("x", tensor_pickle(key="7"))]), store)
    files["size_past_storage.bin"] = torch_zip(state_dict_pickle([("x", tensor_pickle(size=(4, 3)))]), store)
    files["offset_past_storage.bin"] = torch_zip(state_dict_pickle([("x", tensor_pickle(offset=2))]), store)
    files["non_contiguous.bin"] = torch_zip(state_dict_pickle([("x", tensor_pickle(stride=(1, 2)))]), store)
    files["canary_class.bin"] = torch_zip(
        b"\x80\x02" + op_global("org.gptneo.io", "PickleCanary") + b")R.", store)
    files["reduce_storage_type.bin"] = torch_zip(
        b"\x80\x02" + op_global("torch", "FloatStorage") + b")R.", store)
    return files


# ----------------------------------------------------------------------------------------------


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    torch.manual_seed(0)
    f32 = make_params()
    layer_types = ref.expand_attention_types(ATTENTION_TYPES)
    as_dtype = {
        "F32": f32,
        "F16": collections.OrderedDict((k, v.to(torch.float16)) for k, v in f32.items()),
        "BF16": collections.OrderedDict((k, v.to(torch.bfloat16)) for k, v in f32.items()),
    }

    def with_head(params):
        out = collections.OrderedDict(params)
        out["lm_head.weight"] = params["transformer.wte.weight"]
        return out

    def with_buffers(params, dtype=torch.uint8):
        out = collections.OrderedDict(params)
        out.update(mask_buffers(layer_types, dtype))
        return out

    def cfg(dtype):
        return hf_config(torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])

    # name -> (dtype, description); every folder loads to the same model (up to the dtype's rounding)
    folders = collections.OrderedDict()

    def st(name, dtype, tensors, shards=1, config=None, note=""):
        write_st_folder(os.path.join(OUT, name), tensors, config or cfg(dtype), shards)
        folders[name] = (dtype, note)

    st("st_f32", "F32", as_dtype["F32"], note="safetensors, unsharded, no lm_head, no buffers")
    st("st_f32_head_buffers", "F32", with_buffers(with_head(as_dtype["F32"])), note="lm_head + uint8 mask buffers")
    st("st_f16_head", "F16", with_head(as_dtype["F16"]), note="F16 with lm_head")
    st("st_bf16", "BF16", as_dtype["BF16"], note="BF16")
    st("st_f32_sharded", "F32", as_dtype["F32"], shards=3, note="3 shards + index")
    st("st_bf16_sharded_head_buffers", "BF16", with_buffers(with_head(as_dtype["BF16"]), torch.bool), shards=2,
       note="BF16, 2 shards, lm_head, bool buffers")
    st("st_f16_sharded_buffers", "F16", with_buffers(as_dtype["F16"]), shards=2, note="F16, 2 shards, buffers")
    bare = collections.OrderedDict((k[len("transformer."):], v) for k, v in as_dtype["F32"].items())
    st("st_f32_bare", "F32", bare, config=hf_config(architectures=["GPTNeoModel"]),
       note="no transformer. prefix (bare GPTNeoModel)")
    only_layers = hf_config()
    del only_layers["attention_types"]
    st("st_f32_attention_layers", "F32", as_dtype["F32"], config=only_layers,
       note="config.json with attention_layers only")

    # torch.save zip files: the 2021 layout (tied lm_head sharing wte's storage, uint8 buffers) ...
    tied = collections.OrderedDict(as_dtype["F32"])
    tied["lm_head.weight"] = tied["transformer.wte.weight"]  # same storage, as GPTNeoForCausalLM.state_dict()
    write_bin_folder(os.path.join(OUT, "bin_f32"), with_buffers(tied), cfg("F32"))
    folders["bin_f32"] = ("F32", "pytorch_model.bin, tied lm_head, uint8 buffers")
    # ... sharded, bool buffers, F16, lm_head a separate copy of wte in the other shard
    f16_sharded = with_buffers(as_dtype["F16"], torch.bool)
    f16_sharded["lm_head.weight"] = as_dtype["F16"]["transformer.wte.weight"].clone()
    write_bin_folder(os.path.join(OUT, "bin_f16_sharded"), f16_sharded, cfg("F16"), shards=2)
    folders["bin_f16_sharded"] = ("F16", "2 .bin shards + index, bool buffers, lm_head copy in the other shard")
    # ... and an untied head (one element differs): must be refused
    untied = collections.OrderedDict(as_dtype["F32"])
    untied["lm_head.weight"] = untied["transformer.wte.weight"].clone()
    untied["lm_head.weight"][3, 4] += 0.5
    write_bin_folder(os.path.join(OUT, "bin_untied_head"), untied, cfg("F32"))
    # ... BF16 with pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL), bare names, tied head
    bf16_tied = collections.OrderedDict((k[len("transformer."):], v) for k, v in as_dtype["BF16"].items())
    bf16_tied["lm_head.weight"] = bf16_tied["wte.weight"]
    write_bin_folder(os.path.join(OUT, "bin_bf16_protocol4"), bf16_tied, cfg("BF16"), protocol=4)
    folders["bin_bf16_protocol4"] = ("BF16", "pickle protocol 4, BF16, no prefix, tied lm_head")

    # mesh-tf config (the format of EleutherAI/gpt-neo configs/*.json) for the same shape
    write_json(os.path.join(OUT, "meshtf", "tiny.json"), {
        "n_head": H, "n_vocab": V, "embed_dropout": 0, "lr": 0.00016, "lr_decay": "cosine",
        "warmup_steps": 3000, "beta1": 0.9, "beta2": 0.95, "epsilon": 1e-08, "opt_name": "adam",
        "weight_decay": 0, "train_batch_size": 512, "attn_dropout": 0, "train_steps": 400000,
        "eval_steps": 10, "predict_steps": 0, "res_dropout": 0, "eval_batch_size": 128,
        "predict_batch_size": 1, "iterations": 500, "n_embd": D, "datasets": [["pile", None, None, None]],
        "model_path": "gs://example/models/tiny", "n_ctx": P, "n_layer": L, "scale_by_depth": True,
        "scale_by_in": False, "attention_types": ATTENTION_TYPES, "local_attention_radius": WINDOW,
        "mesh_shape": "x:4,y:2", "layout": "batch:x,embd:y", "activation_function": "gelu",
        "recompute_grad": True, "gradient_clipping": 1.0, "tokens_per_mb_per_replica": 4096,
        "padding_id": V, "eos_id": V - 1})

    for name, data in hostile_files().items():
        write(os.path.join(OUT, "hostile", name), data)

    # expected logits, from the weights as stored
    mixed = collections.OrderedDict(
        (k, v.to(torch.bfloat16).to(torch.float32) if is_matrix(k) else v) for k, v in f32.items())
    expected = collections.OrderedDict()
    expected["ids"] = torch.tensor(IDS, dtype=torch.int32)
    for dtype, params in as_dtype.items():
        expected["logits." + dtype] = logits_of({k: v.to(torch.float32) for k, v in params.items()})
    expected["logits.F32_matrices_BF16"] = logits_of(mixed)
    write(os.path.join(OUT, "expected.safetensors"),
          st_bytes(expected, {"config": json.dumps(hf_config(), sort_keys=True),
                              "note": "logits.<dtype>: float64 reference on the weights stored as <dtype>; "
                                      "logits.F32_matrices_BF16: matrices rounded to BF16, vectors F32"}))

    # self-checks: every safetensors folder reads back (our reader) to the same rounded weights
    for name, (dtype, _) in folders.items():
        if name.startswith("st_"):
            _, params = reader.read_folder(os.path.join(OUT, name))
            for k, v in as_dtype[dtype].items():
                assert torch.equal(params[k], v.to(torch.float64)), (name, k)
    loaded = torch.load(os.path.join(OUT, "bin_f32", "pytorch_model.bin"))
    assert loaded["lm_head.weight"].data_ptr() == loaded["transformer.wte.weight"].data_ptr()
    assert (expected["logits.F32"] - expected["logits.BF16"]).abs().max() > 1e-4  # the dtypes differ visibly

    total = 0
    for root, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            path = os.path.join(root, f)
            size = os.path.getsize(path)
            total += size
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()[:12]
            print("%7d  %s  %s" % (size, digest, os.path.relpath(path, OUT)))
    print("%7d  total bytes" % total)
    assert total < 1_500_000, "fixtures must stay well under 1.5 MB"


if __name__ == "__main__":
    main()
