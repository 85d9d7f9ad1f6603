"""Generate golden GPT-Neo fixtures for the Java tests.

Run from anywhere:  /usr/bin/python3 tools/reference/make_golden.py
Writes layers/src/test/resources/golden/<name>.safetensors (deterministic).

Each file holds (see README.md): __metadata__ {"config", "adamw"}, param.<name> F32,
ids/labels I32 [B,T], logits F32 [B,T,V], loss F32 [1], grad.<name> F32,
adamw.losses F32 [10], adamw.param.<name> F32.

Self-checks: an independent loop-based numpy forward agrees with the vectorised
reference; autograd gradients agree with central finite differences; a hand-written
AdamW agrees with torch.optim.AdamW; the reader reads back exactly what was written.
"""

import hashlib
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__

import gpt_neo_reference as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(REPO, "layers", "src", "test", "resources", "golden")

ADAMW = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1, "steps": 10}


def hf_config(V, P, d, L, H, attention_types, window, intermediate, eps):
    return {
        "model_type": "gpt_neo",
        "vocab_size": V,
        "max_position_embeddings": P,
        "hidden_size": d,
        "num_layers": L,
        "num_heads": H,
        "attention_types": attention_types,
        "window_size": window,
        "intermediate_size": intermediate,
        "layer_norm_epsilon": eps,
        "activation_function": "gelu_new",
        "embed_dropout": 0.0,
        "attention_dropout": 0.0,
        "resid_dropout": 0.0,
        "initializer_range": 0.02,
        "bos_token_id": V - 1,
        "eos_token_id": V - 1,
    }


# name, seed, config, B, T, positions (b, t) whose label is set to -100
CASES = [
    ("tiny_local", 1001,
     hf_config(61, 16, 12, 4, 3, [[["global", "local"], 2]], 3, None, 1e-5), 2, 9, []),
    ("tiny_mlp", 1002,
     hf_config(50, 12, 16, 3, 2, [[["local"], 2], [["global"], 1]], 2, 24, 1e-6), 3, 7,
     [(0, 2), (0, 5), (2, 6)]),
    ("tiny_global", 1003,
     hf_config(37, 8, 8, 2, 1, [[["global"], 2]], 256, None, 1e-5), 2, 8, []),
    ("tiny_window1", 1004,
     hf_config(29, 10, 10, 2, 5, [[["local", "global"], 1]], 1, None, 1e-5), 2, 6, []),
]


# ----------------------------------------------------------------------------------------------
# Parameters: generated in float64, rounded to float32, used as float64.


def init_params(config, gen):
    """Non-trivial O(1) values. Embeddings N(0, 0.3^2); Linear weights N(0, 1/fan_in);
    LayerNorm weights 1 + 0.1 N(0,1); all biases (LayerNorm and Linear) 0.1 N(0,1)."""
    params = {}
    for name, shape in ref.param_shapes(config):
        z = torch.randn(shape, generator=gen, dtype=torch.float64)
        if name.endswith("wte.weight") or name.endswith("wpe.weight"):
            v = 0.3 * z
        elif name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            v = 1.0 + 0.1 * z
        elif name.endswith(".bias"):
            v = 0.1 * z
        else:  # Linear weight [out, in]
            v = z / math.sqrt(shape[1])
        params[name] = v.to(torch.float32).to(torch.float64)  # exactly representable in F32
    return params


# ----------------------------------------------------------------------------------------------
# Independent loop-based forward (numpy, float64) used only as a cross-check.


def naive_forward(params, config, ids, labels):
    P = {k: v.detach().numpy() for k, v in params.items()}
    B, T = ids.shape
    d = config["hidden_size"]
    H = config["num_heads"]
    hd = d // H
    eps = config["layer_norm_epsilon"]
    w = config["window_size"]
    types = []
    for pattern, n in config["attention_types"]:
        for _ in range(n):
            for t in pattern:
                types.append(t)

    def ln(x, g, b):
        mu = sum(x) / len(x)
        var = sum((xi - mu) ** 2 for xi in x) / len(x)
        return np.array([(x[c] - mu) / math.sqrt(var + eps) * g[c] + b[c] for c in range(len(x))])

    def gelu(x):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    logits = np.zeros((B, T, config["vocab_size"]))
    for b in range(B):
        h = np.array([P["transformer.wte.weight"][ids[b, t]] + P["transformer.wpe.weight"][t] for t in range(T)])
        for layer, kind in enumerate(types):
            p = "transformer.h.%d." % layer
            a = np.array([ln(h[t], P[p + "ln_1.weight"], P[p + "ln_1.bias"]) for t in range(T)])
            q = a @ P[p + "attn.attention.q_proj.weight"].T
            k = a @ P[p + "attn.attention.k_proj.weight"].T
            v = a @ P[p + "attn.attention.v_proj.weight"].T
            o = np.zeros((T, d))
            for head in range(H):
                cs = slice(head * hd, (head + 1) * hd)
                for i in range(T):
                    visible = [j for j in range(T) if j <= i and (kind == "global" or j > i - w)]
                    s = np.array([float(np.dot(q[i, cs], k[j, cs])) for j in visible])
                    e = np.exp(s - s.max())
                    pr = e / e.sum()
                    o[i, cs] = sum(pr[n] * v[j, cs] for n, j in enumerate(visible))
            h = h + o @ P[p + "attn.attention.out_proj.weight"].T + P[p + "attn.attention.out_proj.bias"]
            m = np.array([ln(h[t], P[p + "ln_2.weight"], P[p + "ln_2.bias"]) for t in range(T)])
            f = gelu(m @ P[p + "mlp.c_fc.weight"].T + P[p + "mlp.c_fc.bias"])
            h = h + f @ P[p + "mlp.c_proj.weight"].T + P[p + "mlp.c_proj.bias"]
        hf = np.array([ln(h[t], P["transformer.ln_f.weight"], P["transformer.ln_f.bias"]) for t in range(T)])
        logits[b] = hf @ P["transformer.wte.weight"].T
    total, count = 0.0, 0
    for b in range(B):
        for t in range(T - 1):
            y = labels[b, t + 1]
            if y == -100:
                continue
            row = logits[b, t]
            mx = row.max()
            total += mx + math.log(np.exp(row - mx).sum()) - row[y]
            count += 1
    return logits, total / count


# ----------------------------------------------------------------------------------------------


def loss_and_grads(params, config, ids, labels):
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    logits, loss = ref.forward(leaves, config, ids, labels)
    names = list(leaves)
    grads = torch.autograd.grad(loss, [leaves[n] for n in names])
    return logits.detach(), loss.detach(), dict(zip(names, grads))


def finite_difference_check(params, config, ids, labels, grads, gen, n_checks=12, h=1e-6):
    names = list(params)
    # Always probe the tied embedding (both uses) and a query projection, plus random entries.
    picks = [("transformer.wte.weight", (int(ids[0, 1]), 0)),
             ("transformer.h.0.attn.attention.q_proj.weight", (0, 1))]
    while len(picks) < n_checks:
        name = names[int(torch.randint(len(names), (1,), generator=gen))]
        shape = params[name].shape
        idx = tuple(int(torch.randint(s, (1,), generator=gen)) for s in shape)
        picks.append((name, idx))
    worst = 0.0
    for name, idx in picks:
        def loss_at(delta):
            p = dict(params)
            t = params[name].clone()
            t[idx] += delta
            p[name] = t
            return ref.forward(p, config, ids, labels)[1].item()
        fd = (loss_at(h) - loss_at(-h)) / (2 * h)
        ag = grads[name][idx].item()
        err = abs(fd - ag)
        assert err <= 1e-7 + 1e-5 * abs(ag), "FD mismatch %s%s: fd=%r autograd=%r" % (name, idx, fd, ag)
        worst = max(worst, err)
    return len(picks), worst


def run_adamw(params, config, ids, labels):
    leaves = [params[n].clone().requires_grad_(True) for n in params]
    opt = torch.optim.AdamW(leaves, lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                            eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"])
    names = list(params)
    losses = []
    for _ in range(ADAMW["steps"]):
        opt.zero_grad()
        _, loss = ref.forward(dict(zip(names, leaves)), config, ids, labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    return torch.tensor(losses, dtype=torch.float64), {n: t.detach() for n, t in zip(names, leaves)}


def manual_adamw(params, config, ids, labels):
    """Textbook decoupled AdamW, for cross-checking torch.optim.AdamW."""
    lr, b1, b2, eps, wd = (ADAMW[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay"))
    cur = {n: t.clone() for n, t in params.items()}
    m = {n: torch.zeros_like(t) for n, t in params.items()}
    v = {n: torch.zeros_like(t) for n, t in params.items()}
    losses = []
    for step in range(1, ADAMW["steps"] + 1):
        _, loss, g = loss_and_grads(cur, config, ids, labels)
        losses.append(loss.item())
        for n in cur:
            m[n] = b1 * m[n] + (1 - b1) * g[n]
            v[n] = b2 * v[n] + (1 - b2) * g[n] ** 2
            mhat = m[n] / (1 - b1 ** step)
            vhat = v[n] / (1 - b2 ** step)
            cur[n] = cur[n] * (1 - lr * wd) - lr * mhat / (torch.sqrt(vhat) + eps)
    return torch.tensor(losses, dtype=torch.float64), cur


def f32(t):
    return t.detach().to(torch.float32).numpy()


def make_case(name, seed, config, B, T, ignore):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    params = init_params(config, gen)
    ids = torch.randint(config["vocab_size"], (B, T), generator=gen, dtype=torch.long)
    labels = ids.clone()
    for b, t in ignore:
        labels[b, t] = -100

    logits, loss, grads = loss_and_grads(params, config, ids, labels)

    # 1. independent loop-based forward
    n_logits, n_loss = naive_forward(params, config, ids.numpy(), labels.numpy())
    dl = float(np.abs(n_logits - logits.numpy()).max())
    assert dl < 1e-10 and abs(n_loss - loss.item()) < 1e-10, (name, dl, n_loss, loss.item())

    # 2. finite differences
    n_fd, fd_err = finite_difference_check(params, config, ids, labels, grads, gen)

    # 3. AdamW (torch) vs textbook AdamW
    losses, trained = run_adamw(params, config, ids, labels)
    m_losses, m_trained = manual_adamw(params, config, ids, labels)
    adam_err = max(float((trained[n] - m_trained[n]).abs().max()) for n in trained)
    assert float((losses - m_losses).abs().max()) < 1e-10 and adam_err < 1e-10, (name, adam_err)
    assert abs(losses[0].item() - loss.item()) < 1e-12

    # Sanity: values should be O(1), attention not saturated to one-hot everywhere.
    tensors = {}
    for n, p in params.items():
        tensors["param." + n] = f32(p)
    tensors["ids"] = ids.numpy().astype(np.int32)
    tensors["labels"] = labels.numpy().astype(np.int32)
    tensors["logits"] = f32(logits)
    tensors["loss"] = f32(loss.reshape(1))
    for n, g in grads.items():
        tensors["grad." + n] = f32(g)
    tensors["adamw.losses"] = f32(losses)
    for n, p in trained.items():
        tensors["adamw.param." + n] = f32(p)
    # the float32 parameters in the file are exactly the ones used
    for n, p in params.items():
        assert np.array_equal(tensors["param." + n].astype(np.float64), p.numpy())

    metadata = {"config": json.dumps(config), "adamw": json.dumps(ADAMW)}
    path = os.path.join(OUT_DIR, name + ".safetensors")
    size = st.save_file(tensors, path, metadata)

    # 4. read back
    back, meta = st.load_file(path)
    assert meta == metadata and set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
    assert json.loads(meta["config"]) == config

    gnorm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    print("%-13s layers=%s F=%d loss=%.6f logits std=%.3f |grad|=%.4f adamw loss %.4f -> %.4f"
          % (name, ",".join(ref.expand_attention_types(config["attention_types"])), ref.mlp_width(config),
             loss.item(), float(logits.std()), gnorm, losses[0].item(), losses[-1].item()))
    print("%-13s checks: naive-forward max|dlogits|=%.1e, FD %d entries max err %.1e, "
          "AdamW vs manual %.1e, read-back ok; %d bytes, sha256 %s"
          % ("", dl, n_fd, fd_err, adam_err, size, digest))
    return size


def main():
    torch.set_num_threads(1)  # bitwise reproducible BLAS reductions
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for case in CASES:
        total += make_case(*case)
    assert total < 1_000_000, total
    print("total %d bytes in %s" % (total, os.path.relpath(OUT_DIR, REPO)))


if __name__ == "__main__":
    main()
