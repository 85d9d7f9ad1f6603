"""Float64 PyTorch reference of GPT-Neo with the mesh-tf variants (issue 9's contract).

Written from shared/spec/gpt-neo.md section 11 and the contract; extends gpt_neo_reference.py:

  positions:  "learned" (wpe), "axial" (p -> (E1[p // a2] + E2[p % a2]) / 2), "rotary" (rotate half
              over the whole head, base 10000, on q and k of every attention layer; no table)
  attention:  "global", "local", "linear", "none" (a block without ln_1 and attention)
  objective:  "causal_lm" (causal masks, labels shifted) or "masked_lm" (bidirectional: global sees
              every key, local |j - i| < window, non-causal linear attention; loss on labelled
              positions without shift)
  moe_layers: those blocks' MLP is variants.moe.moe_layer on ln_2(h) as [B*T, C] rows
  loss = LM loss + the MoE auxiliary losses (each already times moe_aux_loss_coef)

Evaluation semantics (no dropout): MoE layers use the eval capacity factor and second policy.
"""

import torch

import gpt_neo_reference as ref

DTYPE = ref.DTYPE
ROTARY_BASE = 10000.0


def attention_kinds(config):
    layers = []
    for pattern, n in config["attention_types"]:
        for _ in range(n):
            layers.extend(pattern)
    for t in layers:
        if t not in ("global", "local", "linear", "none"):
            raise ValueError("unsupported attention type %r" % t)
    return layers


def moe_settings(config):
    """The contract's moe_* keys with their defaults."""
    d = config["hidden_size"]
    s = {"moe_layers": [], "moe_num_experts": 16, "moe_top_k": 2, "moe_hidden_size": None, "moe_activation": "relu",
         "moe_capacity_factor": 1.25, "moe_eval_capacity_factor": 2.0, "moe_min_capacity": 1, "moe_group_size": 1024,
         "moe_second_policy": "random", "moe_second_policy_eval": "all", "moe_second_threshold": 0.2,
         "moe_aux_loss_coef": 0.01}
    s.update({k: v for k, v in config.items() if k.startswith("moe_")})
    if s["moe_hidden_size"] is None:
        s["moe_hidden_size"] = 4 * d
    return s


def param_shapes(config):
    """(HF name, shape) of every parameter in checkpoint order (lm_head tied)."""
    V, P, d = config["vocab_size"], config["max_position_embeddings"], config["hidden_size"]
    F = ref.mlp_width(config)
    moe = moe_settings(config)
    E, Hm = moe["moe_num_experts"], moe["moe_hidden_size"]
    out = [("transformer.wte.weight", (V, d))]
    positions = config.get("position_embedding", "learned")
    if positions == "learned":
        out.append(("transformer.wpe.weight", (P, d)))
    elif positions == "axial":
        a1, a2 = config["axial_shape"]
        out += [("transformer.wpe_axial.0.weight", (a1, d)), ("transformer.wpe_axial.1.weight", (a2, d))]
    for i, kind in enumerate(attention_kinds(config)):
        p = "transformer.h.%d." % i
        if kind != "none":
            out += [(p + "ln_1.weight", (d,)), (p + "ln_1.bias", (d,))]
            out += [(p + "attn.attention.%s_proj.weight" % n, (d, d)) for n in ("q", "k", "v", "out")]
            out.append((p + "attn.attention.out_proj.bias", (d,)))
        out += [(p + "ln_2.weight", (d,)), (p + "ln_2.bias", (d,))]
        if i in moe["moe_layers"]:
            out.append((p + "mlp.gate.weight", (E, d)))
            for e in range(E):
                out += [(p + "mlp.experts.%d.c_fc.weight" % e, (Hm, d)), (p + "mlp.experts.%d.c_proj.weight" % e, (d, Hm))]
        else:
            out += [(p + "mlp.c_fc.weight", (F, d)), (p + "mlp.c_fc.bias", (F,)),
                    (p + "mlp.c_proj.weight", (d, F)), (p + "mlp.c_proj.bias", (d,))]
    out += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
    return out


def rotary(x, positions):
    """x [B, H, T, hd] rotated by positions [T]: x*cos + rotate_half(x)*sin."""
    hd = x.shape[-1]
    inv_freq = ROTARY_BASE ** (-torch.arange(0, hd // 2, dtype=DTYPE) * 2.0 / hd)
    angle = positions.to(DTYPE).unsqueeze(1) * inv_freq.unsqueeze(0)        # [T, hd/2]
    angle = torch.cat([angle, angle], dim=-1)                                 # both halves
    first, second = x[..., : hd // 2], x[..., hd // 2:]
    rotated = torch.cat([-second, first], dim=-1)
    return x * torch.cos(angle) + rotated * torch.sin(angle)


def softmax_mask(kind, T, window, causal):
    """Boolean [T, T]: True where query i sees key j."""
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    if causal:
        return ref.attention_mask(kind, T, window)
    if kind == "global":
        return torch.ones(T, T, dtype=torch.bool)
    return (j - i).abs() < window


def attention(x, params, prefix, config, kind, causal):
    B, T, d = x.shape
    H = config["num_heads"]
    hd = d // H

    def split(t):  # [B, T, d] -> [B, H, T, hd]
        return t.reshape(B, T, H, hd).permute(0, 2, 1, 3)

    q = split(x @ params[prefix + "q_proj.weight"].T)
    k = split(x @ params[prefix + "k_proj.weight"].T)
    v = split(x @ params[prefix + "v_proj.weight"].T)
    if config.get("position_embedding", "learned") == "rotary":
        positions = torch.arange(T)
        q, k = rotary(q, positions), rotary(k, positions)
    if kind == "linear":
        from variants import linear_attention as lin
        o = lin.causal_linear_attention(q, k, v) if causal else lin.noncausal_linear_attention(q, k, v)
    else:
        scores = q @ k.transpose(-1, -2)                                      # no 1/sqrt(hd)
        mask = softmax_mask(kind, T, config["window_size"], causal)
        scores = torch.where(mask, scores, torch.full_like(scores, ref.FLOAT32_MIN))
        o = torch.softmax(scores, dim=-1) @ v
    o = o.permute(0, 2, 1, 3).reshape(B, T, d)
    return o @ params[prefix + "out_proj.weight"].T + params[prefix + "out_proj.bias"]


def position_rows(params, config, T):
    positions = config.get("position_embedding", "learned")
    if positions == "learned":
        return params["transformer.wpe.weight"][torch.arange(T)]
    if positions == "axial":
        a2 = config["axial_shape"][1]
        p = torch.arange(T)
        return (params["transformer.wpe_axial.0.weight"][p // a2] + params["transformer.wpe_axial.1.weight"][p % a2]) / 2
    return torch.zeros(T, config["hidden_size"], dtype=DTYPE)


def lm_loss(logits, labels, causal):
    if causal:
        return ref.causal_lm_loss(logits, labels)
    keep = labels != ref.IGNORE_INDEX
    safe = torch.where(keep, labels, torch.zeros_like(labels))
    nll = (torch.logsumexp(logits, dim=-1) - torch.gather(logits, -1, safe.unsqueeze(-1)).squeeze(-1)) * keep.to(DTYPE)
    return nll.sum() / keep.sum().to(DTYPE)


def forward(params, config, ids, labels=None, seed=0):
    """(logits [B, T, V], lm loss or None, aux loss scalar) in evaluation semantics.

    Masked LM without labels gives no LM loss; causal LM defaults labels to ids.
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    B, T = ids.shape
    d, eps = config["hidden_size"], config["layer_norm_epsilon"]
    causal = config.get("objective", "causal_lm") != "masked_lm"
    moe = moe_settings(config)
    h = params["transformer.wte.weight"][ids] + position_rows(params, config, T).unsqueeze(0)
    aux = torch.zeros((), dtype=DTYPE)
    for i, kind in enumerate(attention_kinds(config)):
        p = "transformer.h.%d." % i
        if kind != "none":
            a = ref.layer_norm(h, params[p + "ln_1.weight"], params[p + "ln_1.bias"], eps)
            h = h + attention(a, params, p + "attn.attention.", config, kind, causal)
        m = ref.layer_norm(h, params[p + "ln_2.weight"], params[p + "ln_2.bias"], eps)
        if i in moe["moe_layers"]:
            from variants import moe as moe_ref
            E = moe["moe_num_experts"]
            fc = torch.stack([params[p + "mlp.experts.%d.c_fc.weight" % e] for e in range(E)])
            proj = torch.stack([params[p + "mlp.experts.%d.c_proj.weight" % e] for e in range(E)])
            y, layer_aux = moe_ref.moe_layer(m.reshape(B * T, d), params[p + "mlp.gate.weight"], fc, proj, moe,
                                             training=False, seed=seed, layer=i)
            h = h + y.reshape(B, T, d)
            aux = aux + layer_aux
        else:
            h = h + ref.mlp(m, params, p + "mlp.")
    h = ref.layer_norm(h, params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps)
    logits = h @ params["transformer.wte.weight"].T
    if labels is None and causal:
        labels = ids
    loss = None if labels is None else lm_loss(logits, torch.as_tensor(labels, dtype=torch.long), causal)
    return logits, loss, aux
