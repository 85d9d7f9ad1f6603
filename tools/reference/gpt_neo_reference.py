"""Float64 PyTorch reference of Hugging Face GPTNeoForCausalLM (eager path, eval semantics).

Written from the semantics in shared/spec/gpt-neo.md (sections 2-6, 9); no code from transformers.

  h = wte[ids] + wpe[0..T-1]
  per layer: h += attn(ln_1(h)); h += mlp(ln_2(h))
  logits = ln_f(h) @ wte.T                      (tied LM head, no bias)

Attention: q, k, v = x @ W.T (no bias); heads are contiguous chunks of hd = d/H
features; scores = q @ k.T WITHOUT 1/sqrt(hd); masked scores are REPLACED by the
float32 minimum; global mask j <= i, local mask i-w < j <= i; softmax over keys;
out = probs @ v; merge heads; out_proj with bias.
MLP: c_fc (d->F, bias), gelu_new, c_proj (F->d, bias); F = intermediate_size or 4d.
Loss: logits[:, :-1] predict labels[:, 1:], cross-entropy, ignore_index -100,
mean over non-ignored tokens. All dropouts are 0.
"""

import math

import torch

DTYPE = torch.float64
FLOAT32_MIN = -3.4028234663852886e38  # torch.finfo(torch.float32).min
IGNORE_INDEX = -100
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # 0.7978845608028654


def expand_attention_types(attention_types):
    """[[pattern, n], ...] -> flat per-layer list; each pattern is repeated whole n times."""
    layers = []
    for pattern, n in attention_types:
        for _ in range(n):
            layers.extend(pattern)
    for t in layers:
        if t not in ("global", "local"):
            raise ValueError("unsupported attention type %r" % t)
    return layers


def mlp_width(config):
    f = config.get("intermediate_size")
    return 4 * config["hidden_size"] if f is None else int(f)


def param_shapes(config):
    """Ordered dict-like list of (HF name, shape) for every parameter (lm_head tied, not listed)."""
    V = config["vocab_size"]
    P = config["max_position_embeddings"]
    d = config["hidden_size"]
    F = mlp_width(config)
    out = [("transformer.wte.weight", (V, d)), ("transformer.wpe.weight", (P, d))]
    for i in range(config["num_layers"]):
        p = "transformer.h.%d." % i
        out += [
            (p + "ln_1.weight", (d,)),
            (p + "ln_1.bias", (d,)),
            (p + "attn.attention.q_proj.weight", (d, d)),
            (p + "attn.attention.k_proj.weight", (d, d)),
            (p + "attn.attention.v_proj.weight", (d, d)),
            (p + "attn.attention.out_proj.weight", (d, d)),
            (p + "attn.attention.out_proj.bias", (d,)),
            (p + "ln_2.weight", (d,)),
            (p + "ln_2.bias", (d,)),
            (p + "mlp.c_fc.weight", (F, d)),
            (p + "mlp.c_fc.bias", (F,)),
            (p + "mlp.c_proj.weight", (d, F)),
            (p + "mlp.c_proj.bias", (d,)),
        ]
    out += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
    return out


def layer_norm(x, weight, bias, eps):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)  # biased variance
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))


def attention_mask(kind, T, window_size):
    """Boolean [T, T]: True where query i may attend key j."""
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    causal = j <= i
    if kind == "global":
        return causal
    return causal & (j > i - window_size)


def self_attention(x, params, prefix, num_heads, kind, window_size):
    B, T, d = x.shape
    hd = d // num_heads
    q = x @ params[prefix + "q_proj.weight"].T
    k = x @ params[prefix + "k_proj.weight"].T
    v = x @ params[prefix + "v_proj.weight"].T

    def split(t):  # [B,T,d] -> [B,H,T,hd], head h owns features h*hd .. h*hd+hd-1
        return t.reshape(B, T, num_heads, hd).permute(0, 2, 1, 3)

    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(-1, -2)  # no 1/sqrt(hd)
    mask = attention_mask(kind, T, window_size)
    scores = torch.where(mask, scores, torch.full_like(scores, FLOAT32_MIN))  # replace, not add
    probs = torch.softmax(scores, dim=-1)
    o = probs @ v  # [B,H,T,hd]
    o = o.permute(0, 2, 1, 3).reshape(B, T, d)
    return o @ params[prefix + "out_proj.weight"].T + params[prefix + "out_proj.bias"]


def mlp(x, params, prefix):
    h = x @ params[prefix + "c_fc.weight"].T + params[prefix + "c_fc.bias"]
    h = gelu_new(h)
    return h @ params[prefix + "c_proj.weight"].T + params[prefix + "c_proj.bias"]


def causal_lm_loss(logits, labels):
    """logits[:, :-1] predict labels[:, 1:]; CE with ignore_index -100; mean over kept tokens."""
    lg = logits[:, :-1, :]
    lb = labels[:, 1:]
    keep = lb != IGNORE_INDEX
    safe = torch.where(keep, lb, torch.zeros_like(lb))
    logz = torch.logsumexp(lg, dim=-1)
    picked = torch.gather(lg, -1, safe.unsqueeze(-1)).squeeze(-1)
    nll = (logz - picked) * keep.to(lg.dtype)
    return nll.sum() / keep.sum().to(lg.dtype)


def forward(params, config, ids, labels=None):
    """Return (logits [B,T,V], loss scalar).

    params: dict HF name -> float64 tensor; config: HF config dict; ids: int64 [B,T];
    labels: int64 [B,T] or None (defaults to ids).
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    B, T = ids.shape
    if T > config["max_position_embeddings"]:
        raise ValueError("sequence longer than max_position_embeddings")
    d = config["hidden_size"]
    H = config["num_heads"]
    if d % H != 0:
        raise ValueError("hidden_size must be divisible by num_heads")
    eps = config["layer_norm_epsilon"]
    window = config["window_size"]
    types = expand_attention_types(config["attention_types"])
    if len(types) != config["num_layers"]:
        raise ValueError("attention_types expands to %d layers, num_layers=%d" % (len(types), config["num_layers"]))

    wte = params["transformer.wte.weight"]
    h = wte[ids] + params["transformer.wpe.weight"][torch.arange(T)].unsqueeze(0)
    for i, kind in enumerate(types):
        p = "transformer.h.%d." % i
        a = layer_norm(h, params[p + "ln_1.weight"], params[p + "ln_1.bias"], eps)
        h = h + self_attention(a, params, p + "attn.attention.", H, kind, window)
        m = layer_norm(h, params[p + "ln_2.weight"], params[p + "ln_2.bias"], eps)
        h = h + mlp(m, params, p + "mlp.")
    h = layer_norm(h, params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps)
    logits = h @ wte.T

    if labels is None:
        labels = ids
    labels = torch.as_tensor(labels, dtype=torch.long)
    loss = causal_lm_loss(logits, labels)
    return logits, loss
