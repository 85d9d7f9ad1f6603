"""Exports tools/bench/neo_torch.py's GPT-Neo (random seeded weights) to ONNX for OnnxBench.

    /usr/bin/python3 tools/bench/onnx/export_onnx.py --out DIR [--preset 125M | --config HF_CONFIG_JSON] [--seed 0]

Writes into DIR:
  prefill.onnx       input_ids [B, T] -> logits [B, T, V], present.{i}.key / .value [B, H, T, hd]
  prefill_last.onnx  input_ids [B, T] -> logits [B, V] (each row's last position), presents as above
  decode.onnx        input_ids [B, T], past.{i}.key / .value [B, H, P, hd] -> logits [B, V], presents [B, H, P+T, hd]
  meta.properties    the shape, the bytes a decode step reads (as `gptneo bench decode` counts them), versions
  check.properties + check_*.f32   a small input and torch's logits for it (little-endian float32), at shapes
                     other than the traced ones, so OnnxBench can verify the graphs (`OnnxBench check`)
Batch, sequence and past axes are dynamic; positions are past length + 0..T-1 inside the graphs. Every graph
is checked with onnx.checker. Needs Debian's python3-torch and python3-onnx.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import neo_torch  # noqa: E402

import onnx  # noqa: E402

OPSET = 17  # LayerNormalization is a single op from 17 on


class Prefill(torch.nn.Module):
    def __init__(self, model, logits):
        super().__init__()
        self.model, self.logits = model, logits

    def forward(self, input_ids):
        logits, presents = self.model(input_ids, logits=self.logits)
        return (logits,) + tuple(t for kv in presents for t in kv)


class Decode(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, *past_flat):
        past = tuple((past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2))
        logits, presents = self.model(input_ids, past=past, logits="last")
        return (logits,) + tuple(t for kv in presents for t in kv)


def kv_names(prefix, layers):
    return [prefix + ".%d.%s" % (i, kind) for i in range(layers) for kind in ("key", "value")]


def export(module, args, path, inputs, outputs, axes):
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(path)  # by path: works for graphs over 2 GB too
    print("export_onnx: wrote %s (%.1f MB), onnx.checker passed" % (path, os.path.getsize(path) / 1e6), flush=True)


def write_f32(path, tensor):
    tensor.detach().to(torch.float32).contiguous().numpy().astype("<f4").tofile(path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", default="125M", choices=sorted(neo_torch.PRESETS))
    g.add_argument("--config", metavar="FILE", help="an HF config.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="DIR")
    a = p.parse_args()
    config = neo_torch.make_config(path=a.config) if a.config else neo_torch.make_config(preset=a.preset)
    model = neo_torch.GptNeo(config, seed=a.seed).eval()
    os.makedirs(a.out, exist_ok=True)
    L, H, d = config["num_layers"], config["num_heads"], config["hidden_size"]
    V, C, w = config["vocab_size"], config["max_position_embeddings"], config["window_size"]
    hd = d // H
    presents, pasts = kv_names("present", L), kv_names("past", L)

    # traced at B=3, T=7, P=6 (at most what the context allows); checked below at other shapes
    T, P = min(7, C // 2), min(6, C // 2 - 1)
    ids = torch.randint(0, V, (3, T), generator=torch.Generator().manual_seed(11))
    kv_axes = {n: {0: "batch", 2: "total"} for n in presents}
    export(Prefill(model, "all"), (ids,), os.path.join(a.out, "prefill.onnx"), ["input_ids"], ["logits"] + presents,
           dict({"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}, **kv_axes))
    export(Prefill(model, "last"), (ids,), os.path.join(a.out, "prefill_last.onnx"), ["input_ids"], ["logits"] + presents,
           dict({"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}, **kv_axes))
    past = tuple(torch.randn(3, H, P, hd, generator=torch.Generator().manual_seed(12 + i)) for i in range(2 * L))
    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}
    axes.update({n: {0: "batch", 2: "past"} for n in pasts})
    axes.update(kv_axes)
    export(Decode(model), (ids[:, :1],) + past, os.path.join(a.out, "decode.onnx"), ["input_ids"] + pasts,
           ["logits"] + presents, axes)

    weight_bytes = sum(t.numel() * 4 for n, t in model.named_parameters() if n != "transformer.wpe.weight")
    types = neo_torch.layer_types(config)
    with open(os.path.join(a.out, "meta.properties"), "w") as f:
        f.write("# written by tools/bench/onnx/export_onnx.py\n")
        f.write("source=%s\n" % (a.config or "preset " + a.preset))
        for k, v in (("vocab_size", V), ("max_position_embeddings", C), ("hidden_size", d), ("num_layers", L),
                     ("num_heads", H), ("window_size", w), ("seed", a.seed), ("opset", OPSET),
                     ("weight_bytes", weight_bytes), ("layer_types", ",".join(types)),
                     ("torch", torch.__version__), ("onnx", onnx.__version__)):
            f.write("%s=%s\n" % (k, v))

    # check input: B=2, a prompt longer than the local window where the context allows, then one decode step
    B, Tc = 2, min(w + 3, C - 2)
    cids = torch.randint(0, V, (B, Tc + 1), generator=torch.Generator().manual_seed(13))
    with torch.inference_mode():
        full, _ = model(cids[:, :Tc], logits="all", use_cache=False)
        last, kv = model(cids[:, :Tc], logits="last")
        step, _ = model(cids[:, Tc:], past=kv, logits="last")
    write_f32(os.path.join(a.out, "check_prefill_all_last_row.f32"), full[:, -1, :])
    write_f32(os.path.join(a.out, "check_prefill_last.f32"), last)
    write_f32(os.path.join(a.out, "check_decode.f32"), step)
    with open(os.path.join(a.out, "check.properties"), "w") as f:
        f.write("batch=%d\nprompt=%d\nids=%s\n" % (B, Tc, ",".join(str(int(i)) for i in cids.flatten())))
    print("export_onnx: %s: %d layers, d=%d, V=%d, check input B=%d prompt %d + 1" % (a.out, L, d, V, B, Tc))


if __name__ == "__main__":
    main()
