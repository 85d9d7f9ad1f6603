"""Golden fixtures for the architecture variants (issue 9), from variant_reference.py.

Run:  /usr/bin/python3 tools/reference/make_variant_golden.py [NAME ...]
Writes api/src/test/resources/golden-variants/<name>.safetensors, the layout of make_golden.py
(param.*, ids, labels, logits, loss, grad.*, adamw.losses, adamw.param.*) plus aux_loss [1];
loss and gradients are those of LM loss + aux loss. Self-checks: central finite differences
of the total loss against autograd, and a read-back.
"""

import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import make_golden as base  # noqa: E402
import safetensors_io as st  # noqa: E402
import variant_reference as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(REPO, "api", "src", "test", "resources", "golden-variants")


def config(V, P, d, L, H, attention_types, window, **variant):
    c = base.hf_config(V, P, d, L, H, attention_types, window, None, 1e-5)
    c.update(variant)
    return c


MOE = {"moe_num_experts": 4, "moe_hidden_size": 10, "moe_group_size": 5}

# name, seed, config, B, T, labelled positions for masked LM (None: causal, labels = ids with these ignored)
CASES = {
    "rotary": (2001, config(41, 16, 12, 2, 2, [[["global", "local"], 1]], 3, position_embedding="rotary"), 2, 9, []),
    "axial_none": (2002, config(37, 12, 8, 3, 2, [[["global", "none", "local"], 1]], 2,
                                position_embedding="axial", axial_shape=[4, 3]), 2, 10, [(1, 3)]),
    "masked_lm": (2003, config(33, 12, 8, 2, 2, [[["global", "local"], 1]], 3, objective="masked_lm",
                               mask_token_id=32), 2, 8, None),
    "linear": (2004, config(31, 16, 12, 2, 3, [[["linear", "global"], 1]], 3), 2, 11, []),
    "linear_rotary_mlm": (2005, config(29, 12, 8, 2, 2, [[["linear", "local"], 1]], 2, position_embedding="rotary",
                                       objective="masked_lm", mask_token_id=28), 2, 9, None),
    "moe_top2": (2006, config(27, 12, 8, 2, 2, [[["global", "local"], 1]], 3, moe_layers=[1],
                              moe_eval_capacity_factor=1.0, **MOE), 2, 7, []),
    "moe_top1": (2007, config(27, 12, 8, 3, 2, [[["local"], 3]], 2, moe_layers=[0, 2], moe_top_k=1,
                                        **MOE), 1, 9, []),
    "moe_top2_threshold": (2008, config(27, 12, 8, 2, 2, [[["global"], 2]], 3, moe_layers=[0],
                                        moe_second_policy_eval="threshold", moe_second_threshold=0.3, **MOE), 2, 6, []),
}


def init_params(cfg, gen):
    """As make_golden.init_params, for the variants' names (axial tables and experts included)."""
    params = {}
    for name, shape in ref.param_shapes(cfg):
        z = torch.randn(shape, generator=gen, dtype=torch.float64)
        if name.endswith(("wte.weight", "wpe.weight")) or "wpe_axial" in name:
            v = 0.3 * z
        elif name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            v = 1.0 + 0.1 * z
        elif name.endswith(".bias"):
            v = 0.1 * z
        else:
            v = z / math.sqrt(shape[1])
        params[name] = v.to(torch.float32).to(torch.float64)
    return params


def total_loss(params, cfg, ids, labels):
    logits, lm, aux = ref.forward(params, cfg, ids, labels)
    return logits, lm + aux, aux


def loss_and_grads(params, cfg, ids, labels):
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    logits, loss, aux = total_loss(leaves, cfg, ids, labels)
    names = list(leaves)
    grads = torch.autograd.grad(loss, [leaves[n] for n in names], allow_unused=True)
    grads = [torch.zeros_like(leaves[n]) if g is None else g for n, g in zip(names, grads)]
    return logits.detach(), loss.detach(), aux.detach(), dict(zip(names, grads))


def finite_differences(params, cfg, ids, labels, grads, gen, n_checks=16, h=1e-6):
    names = list(params)
    worst = 0.0
    for _ in range(n_checks):
        name = names[int(torch.randint(len(names), (1,), generator=gen))]
        idx = tuple(int(torch.randint(s, (1,), generator=gen)) for s in params[name].shape)

        def loss_at(delta):
            p = dict(params)
            t = params[name].clone()
            t[idx] += delta
            p[name] = t
            return total_loss(p, cfg, ids, labels)[1].item()

        fd = (loss_at(h) - loss_at(-h)) / (2 * h)
        ag = grads[name][idx].item()
        err = abs(fd - ag)
        assert err <= 1e-6 + 1e-4 * abs(ag), "FD mismatch %s%s: fd=%r autograd=%r" % (name, idx, fd, ag)
        worst = max(worst, err)
    return worst


def run_adamw(params, cfg, ids, labels):
    names = list(params)
    leaves = [params[n].clone().requires_grad_(True) for n in names]
    a = base.ADAMW
    opt = torch.optim.AdamW(leaves, lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"], weight_decay=a["weight_decay"])
    losses = []
    for _ in range(a["steps"]):
        opt.zero_grad()
        _, loss, _ = total_loss(dict(zip(names, leaves)), cfg, ids, labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return torch.tensor(losses, dtype=torch.float64), {n: t.detach() for n, t in zip(names, leaves)}


def make_case(name):
    seed, cfg, B, T, ignore = CASES[name]
    gen = torch.Generator().manual_seed(seed)
    params = init_params(cfg, gen)
    ids = torch.randint(cfg["vocab_size"] - 1, (B, T), generator=gen, dtype=torch.long)
    if ignore is None:   # masked LM: a few positions become the mask token, labelled with the original
        labels = torch.full_like(ids, -100)
        for b in range(B):
            for t in range(T):
                if (b * 7 + t * 3) % 4 == 0:
                    labels[b, t] = ids[b, t]
                    ids[b, t] = cfg["mask_token_id"]
    else:
        labels = ids.clone()
        for b, t in ignore:
            labels[b, t] = -100
    logits, loss, aux, grads = loss_and_grads(params, cfg, ids, labels)
    fd_err = finite_differences(params, cfg, ids, labels, grads, gen)
    losses, trained = run_adamw(params, cfg, ids, labels)
    assert abs(losses[0].item() - loss.item()) < 1e-12

    tensors = {"param." + n: base.f32(p) for n, p in params.items()}
    tensors["ids"] = ids.numpy().astype(np.int32)
    tensors["labels"] = labels.numpy().astype(np.int32)
    tensors["logits"] = base.f32(logits)
    tensors["loss"] = base.f32(loss.reshape(1))
    tensors["aux_loss"] = base.f32(aux.reshape(1))
    for n, g in grads.items():
        tensors["grad." + n] = base.f32(g)
    tensors["adamw.losses"] = base.f32(losses)
    for n, p in trained.items():
        tensors["adamw.param." + n] = base.f32(p)
    metadata = {"config": json.dumps(cfg), "adamw": json.dumps(base.ADAMW)}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name + ".safetensors")
    size = st.save_file(tensors, path, metadata)
    back, meta = st.load_file(path)
    assert meta == metadata and all(np.array_equal(back[k], v) for k, v in tensors.items())
    print("%-20s loss=%.6f aux=%.6f adamw %.4f -> %.4f  FD max err %.1e  %d bytes"
          % (name, loss.item(), aux.item(), losses[0].item(), losses[-1].item(), fd_err, size))


def main():
    torch.set_num_threads(1)
    for name in sys.argv[1:] or CASES:
        make_case(name)


if __name__ == "__main__":
    main()
