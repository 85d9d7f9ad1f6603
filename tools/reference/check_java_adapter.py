"""Load a Java-saved base model folder and a PEFT-layout LoRA adapter folder with the float64
reference and print the loss (and, with --compare, check logits) so a person can compare with Java.

    /usr/bin/python3 tools/reference/check_java_adapter.py BASE_DIR ADAPTER_DIR [--ids "1,2,3;4,5,6"]
                                                           [--compare FILE] [--tolerance 1e-4]

BASE_DIR is a Hugging Face folder as HfCheckpoint.save writes it (read by check_java_checkpoint.py);
ADAPTER_DIR holds adapter_config.json and adapter_model.safetensors as AdapterCheckpoint.save writes
them (PEFT's layout: base_model.model.<module>.lora_{A,B}.weight, scaling lora_alpha / r). Settings
the reference does not implement (bias other than "none", use_rslora, fan_in_fan_out, DoRA) are
refused. Prints the loss of the base model alone and with the adapter (dropout off); with --compare
FILE (a safetensors file holding "logits" [B,T,V] from Java) also the max |difference| / max |reference|,
exiting 1 above --tolerance.
"""

import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__

import check_java_checkpoint as ckpt  # noqa: E402
import gpt_neo_reference as ref  # noqa: E402
import make_lora_golden as lora_ref  # noqa: E402


def read_adapter(folder, config):
    """(lora: PEFT name -> float64 tensor, scaling) after checking the config and every name and shape."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        cfg = json.load(f)
    if cfg.get("peft_type") != "LORA":
        raise ValueError("peft_type is %r, not 'LORA'" % cfg.get("peft_type"))
    for key, ok in (("bias", "none"), ("use_rslora", False), ("fan_in_fan_out", False), ("use_dora", False)):
        if cfg.get(key, ok) != ok:
            raise ValueError("%s is %r: not implemented by the reference" % (key, cfg[key]))
    r, alpha, targets = cfg["r"], cfg["lora_alpha"], cfg["target_modules"]
    tensors, _ = ckpt.read_safetensors(os.path.join(folder, "adapter_model.safetensors"))
    lora = {n.replace(".default.weight", ".weight"): t.to(torch.float64) for n, t in tensors.items()}
    expected = lora_ref.lora_names(config, targets)
    if sorted(expected) != sorted(lora):
        raise ValueError("adapter tensors differ: missing %s, unexpected %s"
                         % (sorted(set(expected) - set(lora)), sorted(set(lora) - set(expected))))
    shapes = dict(ref.param_shapes(config))
    for name in expected:
        out_f, in_f = shapes[name[len(lora_ref.PEFT_PREFIX):].rsplit(".lora_", 1)[0] + ".weight"]
        want = (r, in_f) if ".lora_A." in name else (out_f, r)
        if tuple(lora[name].shape) != want:
            raise ValueError("%s has shape %s, r=%d and the model imply %s" % (name, tuple(lora[name].shape), r, want))
    return lora, alpha / r, cfg


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("adapter")
    p.add_argument("--ids", default="1,2,3,4,5;6,5,4,3,2")
    p.add_argument("--compare", help="a safetensors file holding 'logits' [B,T,V] to compare with")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args(argv)
    config, params = ckpt.read_folder(args.base)
    lora, scaling, cfg = read_adapter(args.adapter, config)
    ids = ckpt.parse_ids(args.ids)
    with torch.no_grad():
        _, base_loss = ref.forward(params, config, ids)
        logits, loss = lora_ref.lora_forward(params, lora, scaling, config, ids)
    print("adapter %s: r=%d lora_alpha=%s scaling=%g target_modules=%s, %d tensors"
          % (args.adapter, cfg["r"], cfg["lora_alpha"], scaling, cfg["target_modules"], len(lora)))
    print("ids %s" % args.ids)
    print("loss base model  %.8f" % base_loss.item())
    print("loss with adapter %.8f" % loss.item())
    if args.compare:
        other, _ = ckpt.read_safetensors(args.compare)
        java = other["logits"].to(torch.float64)
        if tuple(java.shape) != tuple(logits.shape):
            print("shape differs: %s vs %s" % (tuple(java.shape), tuple(logits.shape)))
            return 1
        err = (java - logits).abs().max().item() / max(logits.abs().max().item(), 1e-12)
        ok = err <= args.tolerance
        print("relative error of the logits vs %s: %.3g (%s, tolerance %g)"
              % (args.compare, err, "agree" if ok else "DIFFER", args.tolerance))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
