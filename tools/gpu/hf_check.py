"""The Hugging Face check, run by tools/gpu-check.sh on a machine with PyTorch and transformers.

    python3 tools/gpu/hf_check.py --gptneo "java ... org.gptneo.cli.Main" --work DIR [--backends cpu,cuda]

1. A random-initialised GPTNeoForCausalLM (global and local layers) saved with save_pretrained loads
   in Java: logits of `gptneo logits --backend B` equal transformers' F32 logits (relative error
   max|d| / max|ref|, target <= 1e-5), for each backend.
2. A folder written by Java (`gptneo init --preset 125M`) loads with from_pretrained and gives the
   logits Java computes for it.
3. Greedy generation: the ids of `gptneo generate --greedy` equal transformers' generate(do_sample=False).
Prints one JSON line per check: {"check", "backend", "value", "target", "ok"}.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

import torch
from safetensors.torch import load_file
from transformers import GPTNeoConfig, GPTNeoForCausalLM

TOLERANCE = 1e-5


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[-6:]), out.returncode, out.stderr.strip()[-400:]))
    return out.stdout


def relative_error(actual, expected):
    return float((actual.double() - expected.double()).abs().max() / expected.double().abs().max())


def ids_arg(ids):
    return ";".join(",".join(str(int(t)) for t in row) for row in ids)


def java_logits(gptneo, model_dir, ids, backend, out):
    run(gptneo + ["logits", "--backend", backend, "--model", model_dir, "--ids", ids_arg(ids), "--out", out])
    return load_file(out)["logits"]


def report(check, backend, value, target, ok):
    print(json.dumps({"check": check, "backend": backend, "value": value, "target": target, "ok": bool(ok)}), flush=True)
    return ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gptneo", required=True, help="the command that runs gptneo (one string)")
    p.add_argument("--work", required=True)
    p.add_argument("--backends", default="cpu,cuda")
    args = p.parse_args()
    gptneo = shlex.split(args.gptneo)
    backends = args.backends.split(",")
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(0)
    ok = True

    # 1. transformers' folder, read by Java
    config = GPTNeoConfig(vocab_size=50257, max_position_embeddings=512, hidden_size=256, num_layers=4, num_heads=8,
                          attention_types=[[["global", "local"], 2]], window_size=32, intermediate_size=None)
    hf = GPTNeoForCausalLM(config).float().eval()
    hf_dir = os.path.join(args.work, "hf-random")
    hf.save_pretrained(hf_dir, safe_serialization=True)
    ids = torch.randint(0, config.vocab_size, (2, 96))
    with torch.no_grad():
        expected = hf(ids).logits
    for backend in backends:
        got = java_logits(gptneo, hf_dir, ids, backend, os.path.join(args.work, "logits-%s.safetensors" % backend))
        ok &= report("transformers folder -> Java logits", backend, relative_error(got, expected), TOLERANCE,
                     relative_error(got, expected) <= TOLERANCE)

    # 2. Java's folder, read by transformers
    java_dir = os.path.join(args.work, "java-125M")
    if not os.path.exists(os.path.join(java_dir, "config.json")):
        run(gptneo + ["init", "--preset", "125M", "--out", java_dir])
    loaded = GPTNeoForCausalLM.from_pretrained(java_dir).float().eval()
    ids2 = torch.randint(0, loaded.config.vocab_size, (1, 64))
    with torch.no_grad():
        expected2 = loaded(ids2).logits
    for backend in backends:
        got = java_logits(gptneo, java_dir, ids2, backend, os.path.join(args.work, "logits125-%s.safetensors" % backend))
        ok &= report("Java folder -> from_pretrained logits", backend, relative_error(got, expected2), TOLERANCE,
                     relative_error(got, expected2) <= TOLERANCE)

    # 3. greedy generation
    prompt = ids2[:, :16]
    with torch.no_grad():
        hf_ids = loaded.generate(prompt, max_new_tokens=24, do_sample=False, pad_token_id=0)[0].tolist()
    for backend in backends:
        line = run(gptneo + ["generate", "--backend", backend, "--model", java_dir, "--ids", ids_arg(prompt),
                             "--max-new-tokens", "24", "--greedy", "--json"]).strip().splitlines()[-1]
        java_ids = json.loads(line)["ids"]
        same = java_ids == hf_ids or java_ids == hf_ids[len(prompt[0]):]
        ok &= report("greedy generation ids equal", backend, 1.0 if same else 0.0, 1.0, same)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
