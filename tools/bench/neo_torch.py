"""A compact float32 GPT-Neo as a torch.nn.Module, for speed comparisons (tools/bench).

Written from shared/spec/gpt-neo.md (no code from transformers). Parameter names are Hugging Face's
(transformer.wte.weight, transformer.h.0.attn.attention.q_proj.weight, ...; the LM head is tied to
wte and not a parameter of its own). Weights are random and seeded (N(0, 0.02), biases 0, LayerNorm
1/0) unless loaded. The forward pass takes an optional KV cache:

    logits, presents = model(ids, past=None, logits="all"|"last"|"none", use_cache=True)

past / presents: a tuple with one (key, value) pair per layer, each [B, H, S, hd] (HF's layout); the
cache keeps every position (local layers mask to their window, as HF's eager path does).
logits "all": [B, T, V]; "last": [B, V] (each row's last position); "none": None.

    /usr/bin/python3 tools/bench/neo_torch.py                 # self-check against tools/reference
    /usr/bin/python3 tools/bench/neo_torch.py --preset 125M   # parameter count of a shape
"""
import argparse
import json
import math
import os
import sys

import torch
from torch import nn

# The shapes of EleutherAI's checkpoints (vocab 50257, context 2048, window 256, alternating global/local).
PRESETS = {
    "125M": {"hidden_size": 768, "num_layers": 12, "num_heads": 12},
    "350M": {"hidden_size": 1024, "num_layers": 24, "num_heads": 16},
    "1.3B": {"hidden_size": 2048, "num_layers": 24, "num_heads": 16},
}

DEFAULTS = {"vocab_size": 50257, "max_position_embeddings": 2048, "hidden_size": 2048, "num_layers": 24,
            "num_heads": 16, "attention_types": None, "window_size": 256, "intermediate_size": None,
            "layer_norm_epsilon": 1e-5, "initializer_range": 0.02}


def make_config(preset=None, path=None, **overrides):
    """An HF-style config dict (snake_case keys, defaults filled) from a preset name or a config.json."""
    if (preset is None) == (path is None):
        raise ValueError("give exactly one of preset and path")
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError("unknown preset %r (known: %s)" % (preset, ", ".join(PRESETS)))
        raw = dict(PRESETS[preset])
    else:
        with open(path) as f:
            raw = json.load(f)
        if any("-" in k for k in raw):
            raise ValueError("%s: kebab-case keys (the Java builder's format) are not read here; use an HF config.json" % path)
        for alias, key in (("num_hidden_layers", "num_layers"), ("num_attention_heads", "num_heads"), ("n_embd", "hidden_size")):
            if alias in raw and key not in raw:
                raw[key] = raw[alias]
    config = dict(DEFAULTS)
    config.update({k: v for k, v in raw.items() if k in DEFAULTS})
    config.update(overrides)
    if config["attention_types"] is None:
        if config["num_layers"] % 2:
            raise ValueError("no attention_types given and num_layers is odd")
        config["attention_types"] = [[["global", "local"], config["num_layers"] // 2]]
    if config["hidden_size"] % config["num_heads"]:
        raise ValueError("hidden_size must be divisible by num_heads")
    if len(layer_types(config)) != config["num_layers"]:
        raise ValueError("attention_types expand to %d layers, num_layers is %d" % (len(layer_types(config)), config["num_layers"]))
    return config


def layer_types(config):
    """[[pattern, n], ...] -> one "global"/"local" per layer (each whole pattern repeated n times)."""
    out = []
    for pattern, n in config["attention_types"]:
        for _ in range(n):
            out.extend(pattern)
    for t in out:
        if t not in ("global", "local"):
            raise ValueError("unsupported attention type %r" % t)
    return out


def mlp_width(config):
    return 4 * config["hidden_size"] if config["intermediate_size"] is None else int(config["intermediate_size"])


class SelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config["hidden_size"]
        self.heads = config["num_heads"]
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=True)

    def split(self, x):  # [B, T, d] -> [B, H, T, hd]; head h owns features h*hd .. h*hd+hd-1
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x, keep, past):
        """x [B, T, d]; keep: bool [T, S] (True: may attend); past: (k, v) [B, H, P, hd] or None."""
        q, k, v = self.split(self.q_proj(x)), self.split(self.k_proj(x)), self.split(self.v_proj(x))
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2))  # GPT-Neo: no 1/sqrt(hd)
        scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)  # replaced, not added
        o = torch.matmul(torch.softmax(scores, dim=-1), v)
        b, h, t, hd = o.shape
        return self.out_proj(o.transpose(1, 2).reshape(b, t, h * hd)), (k, v)


class Attention(nn.Module):  # HF's GPTNeoAttention wrapper: only there for the parameter names
    def __init__(self, config):
        super().__init__()
        self.attention = SelfAttention(config)


class Mlp(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, f = config["hidden_size"], mlp_width(config)
        self.c_fc = nn.Linear(d, f)
        self.c_proj = nn.Linear(f, d)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_new(x):
    """0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (spec §5), written out so ONNX export sees plain ops."""
    return 0.5 * x * (1.0 + torch.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


class Block(nn.Module):
    def __init__(self, config, kind):
        super().__init__()
        d, eps = config["hidden_size"], config["layer_norm_epsilon"]
        self.kind = kind
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = Mlp(config)

    def forward(self, h, keep, past):
        a, present = self.attn.attention(self.ln_1(h), keep, past)
        h = h + a
        return h + self.mlp(self.ln_2(h)), present


class Transformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        d = config["hidden_size"]
        self.wte = nn.Embedding(config["vocab_size"], d)
        self.wpe = nn.Embedding(config["max_position_embeddings"], d)
        self.h = nn.ModuleList([Block(config, kind) for kind in layer_types(config)])
        self.ln_f = nn.LayerNorm(d, eps=config["layer_norm_epsilon"])


class GptNeo(nn.Module):
    """GPT-Neo causal LM (HF's GPTNeoForCausalLM without dropout); see the module docstring."""

    def __init__(self, config, seed=0):
        super().__init__()
        self.config = config
        self.window = config["window_size"]
        self.transformer = Transformer(config)
        self.init_weights(seed)

    def init_weights(self, seed):
        gen = torch.Generator().manual_seed(seed)
        std = self.config["initializer_range"]
        with torch.no_grad():
            for name, p in self.named_parameters():
                if ".ln_" in name:
                    p.fill_(1.0 if name.endswith(".weight") else 0.0)
                elif name.endswith(".bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, std, generator=gen)

    def masks(self, past_len, t, s, device):
        """keep[i, j] for query rows at absolute past_len + i and keys 0..S-1: global j <= i, local also j > i - w."""
        i = torch.arange(t, device=device).unsqueeze(1) + past_len
        j = torch.arange(s, device=device).unsqueeze(0)
        causal = j <= i
        return {"global": causal, "local": causal & (j > i - self.window)}

    def forward(self, ids, past=None, logits="all", use_cache=True):
        b, t = ids.shape
        past_len = 0 if past is None else past[0][0].shape[2]
        tr = self.transformer
        positions = torch.arange(past_len, past_len + t, device=ids.device)
        h = tr.wte(ids) + tr.wpe(positions).unsqueeze(0)
        keep = self.masks(past_len, t, past_len + t, ids.device)
        presents = []
        for n, block in enumerate(tr.h):
            h, present = block(h, keep[block.kind], None if past is None else past[n])
            if use_cache:
                presents.append(present)
        if logits == "none":
            return None, tuple(presents)
        if logits == "last":
            h = h[:, -1, :]
        out = torch.matmul(tr.ln_f(h), tr.wte.weight.t())  # tied LM head, no bias
        return out, tuple(presents)

    def loss(self, ids):
        """Mean next-token cross-entropy of ids (labels = ids, shifted inside)."""
        out, _ = self(ids, use_cache=False)
        return nn.functional.cross_entropy(out[:, :-1].reshape(-1, out.shape[-1]), ids[:, 1:].reshape(-1))

    def decode_read_bytes(self, batch, length):
        """Bytes one decode step reads, counted as `gptneo bench decode` counts them (DecodeTraffic): every
        parameter except wpe once (F32), plus keys and values of each layer's cache of `length` positions,
        local layers at most their window."""
        weights = sum(p.numel() * p.element_size() for n, p in self.named_parameters() if n != "transformer.wpe.weight")
        positions = sum(min(length, self.window) if kind == "local" else length for kind in layer_types(self.config))
        return weights + 2 * 4 * self.config["hidden_size"] * positions * batch


def self_check(seed=0, verbose=True):
    """Logits of a tiny config against tools/reference/gpt_neo_reference.py's float64 forward (same weights),
    and cached one-token decoding against the full pass. Returns (max abs diff vs reference, max abs diff cached)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
    import gpt_neo_reference as ref  # noqa: E402

    config = make_config(path=None, preset="125M", vocab_size=300, max_position_embeddings=32, hidden_size=64,
                         num_layers=4, num_heads=4, window_size=5, attention_types=[[["global", "local"], 2]])
    model = GptNeo(config, seed=seed).eval()
    with torch.no_grad():  # larger weights than the 0.02 init, so the check is not trivially small
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(len(name))) * 0.1)
    ids = torch.randint(0, config["vocab_size"], (3, 20), generator=torch.Generator().manual_seed(seed + 1))
    params = {n: p.detach().double() for n, p in model.named_parameters()}
    want, _ = ref.forward(params, config, ids)
    with torch.inference_mode():
        got, _ = model(ids)
        diff = (got.double() - want).abs().max().item()
        # prefill 7, then 13 single tokens through the cache (crosses the window of 5)
        step_logits, past = model(ids[:, :7], logits="all")
        rows = [step_logits]
        for pos in range(7, ids.shape[1]):
            out, past = model(ids[:, pos:pos + 1], past=past, logits="last")
            rows.append(out.unsqueeze(1))
        cached = torch.cat(rows, dim=1)
        diff_cached = (cached.double() - want).abs().max().item()
    scale = want.abs().max().item()
    if verbose:
        print("neo_torch self-check: tiny config (d=64, 4 layers global/local, window 5, B=3, T=20), |logits| max %.3f" % scale)
        print("  full forward vs reference (float64): max abs diff %.3g" % diff)
        print("  KV-cache decode (7 + 13x1 tokens) vs reference: max abs diff %.3g" % diff_cached)
    return diff, diff_cached


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", choices=sorted(PRESETS))
    g.add_argument("--config", metavar="FILE", help="an HF config.json")
    a = p.parse_args()
    if a.preset or a.config:
        config = make_config(preset=a.preset, path=a.config)
        model = GptNeo(config)
        print(json.dumps({"config": config, "parameters": sum(p.numel() for p in model.parameters())}))
        return
    diff, diff_cached = self_check()
    ok = diff < 1e-4 and diff_cached < 1e-4
    print("self-check %s" % ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
