"""Golden fixture of the mixture-of-experts layer for the Java tests.

Run from anywhere:  /usr/bin/python3 tools/reference/make_moe_golden.py
Writes layers/src/test/resources/moe/moe-layer.safetensors (deterministic).

Three cases, N = 10 tokens in groups of 4 (4, 4, 2: a shorter last group), C = 6, E = 4, H = 8;
each over-capacity so that assignments are dropped:
  top1        top-1, relu, inference pass, eval capacity factor 1.0
  top2        top-2, gelu_new, inference pass, eval factor 1.5, eval policy "all"
  top2random  top-2, relu, training pass, factor 2.0, policy "random" (threshold 0.2), seed 1234, layer 3
Per case <case>.x [N, C], .gate [E, C], .fc [E, H, C], .proj [E, C, H], .w [N, C] (F32 inputs);
<case>.y [N, C], .aux [1] and the gradients of L = sum(w * y) + aux: .grad.x, .grad.gate, .grad.fc,
.grad.proj (F64, computed in float64 from the F32 inputs); <case>.kept [E], .assignments [1],
.dropped [1] (I32) of the routing. Inputs are drawn until every routing decision (argmax order,
random-policy draws) has a margin of at least 1e-3, so float32 routing makes the same decisions.

Self-checks: with unlimited capacity the layer equals a dense top-k mixture; autograd gradients
agree with central finite differences.
"""

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import safetensors_io as st  # noqa: E402
from variants import moe  # noqa: E402

N, C, E, H = 10, 6, 4, 8
BASE = {"moe_num_experts": E, "moe_hidden_size": H, "moe_group_size": 4, "moe_min_capacity": 1,
        "moe_second_threshold": 0.2, "moe_aux_loss_coef": 0.01}
CASES = {
    "top1": (dict(BASE, moe_top_k=1, moe_activation="relu", moe_eval_capacity_factor=1.0), False, 0, 0),
    "top2": (dict(BASE, moe_top_k=2, moe_activation="gelu_new", moe_eval_capacity_factor=1.5,
                  moe_second_policy_eval="all"), False, 0, 0),
    "top2random": (dict(BASE, moe_top_k=2, moe_activation="relu", moe_capacity_factor=2.0,
                        moe_second_policy="random"), True, 1234, 3),
}
MARGIN = 1e-3


def draw(generator):
    f32 = lambda *shape, std: (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).float()
    return {"x": f32(N, C, std=1.0), "gate": f32(E, C, std=0.7), "fc": f32(E, H, C, std=0.4),
            "proj": f32(E, C, H, std=0.4), "w": f32(N, C, std=1.0)}


def clear_decisions(t, settings, training, seed, layer):
    probs = torch.softmax(t["x"].double() @ t["gate"].double().T, dim=-1)
    ordered = probs.sort(dim=1, descending=True).values
    if (ordered[:, 0] - ordered[:, 1]).min() < MARGIN or (ordered[:, 1] - ordered[:, 2]).min() < MARGIN:
        return False
    if training and settings["moe_second_policy"] == "random":
        g2 = ordered[:, 1] / (ordered[:, 0] + ordered[:, 1] + moe.EPSILON)
        for n in range(N):
            u = moe.splitmix_uniform(moe.random_seed(seed, layer), n)
            if abs(u - float(g2[n]) / settings["moe_second_threshold"]) < MARGIN:
                return False
    return True


def run(t, settings, training, seed, layer):
    leaves = {k: t[k].double().clone().requires_grad_(True) for k in ("x", "gate", "fc", "proj")}
    y, aux = moe.moe_layer(leaves["x"], leaves["gate"], leaves["fc"], leaves["proj"], settings, training, seed, layer)
    loss = (t["w"].double() * y).sum() + aux
    loss.backward()
    return y.detach(), aux.detach(), {k: v.grad for k, v in leaves.items()}, loss.item()


def check_dense(t, settings):
    """Unlimited capacity and policy "all": every expert on every token, weighted by the top-k gates."""
    free = dict(settings, moe_eval_capacity_factor=1e6, moe_second_policy_eval="all")
    x, gate, fc, proj = (t[k].double() for k in ("x", "gate", "fc", "proj"))
    y, _ = moe.moe_layer(x, gate, fc, proj, free, False, 0, 0)
    probs = torch.softmax(x @ gate.T, dim=-1)
    top = probs.topk(settings["moe_top_k"], dim=1)
    weights = top.values if settings["moe_top_k"] == 1 else top.values / (top.values.sum(1, keepdim=True) + moe.EPSILON)
    dense = torch.zeros_like(x)
    for e in range(E):
        out = moe.activation(settings["moe_activation"], x @ fc[e].T) @ proj[e].T        # [N, C]
        mix = (weights * (top.indices == e)).sum(dim=1, keepdim=True)                  # [N, 1]
        dense = dense + mix * out
    assert torch.allclose(y, dense, atol=1e-12), "dense mixture differs"


def check_gradients(t, settings, training, seed, layer, grads):
    h = 1e-6
    for name in ("x", "gate"):
        base = {k: t[k].double() for k in ("x", "gate", "fc", "proj")}
        for i in range(0, base[name].numel(), 7):
            up, down = dict(base), dict(base)
            up[name] = base[name].clone().view(-1)
            down[name] = base[name].clone().view(-1)
            up[name][i] += h
            down[name][i] -= h
            up[name] = up[name].view(base[name].shape)
            down[name] = down[name].view(base[name].shape)

            def loss(v):
                y, aux = moe.moe_layer(v["x"], v["gate"], v["fc"], v["proj"], settings, training, seed, layer)
                return ((t["w"].double() * y).sum() + aux).item()
            numeric = (loss(up) - loss(down)) / (2 * h)
            assert abs(numeric - grads[name].view(-1)[i].item()) < 1e-6, (name, i, numeric)


def main():
    out = {}
    generator = torch.Generator().manual_seed(90_210)
    for case, (settings, training, seed, layer) in CASES.items():
        t = draw(generator)
        while not clear_decisions(t, settings, training, seed, layer):
            t = draw(generator)
        y, aux, grads, _ = run(t, settings, training, seed, layer)
        check_dense(t, settings)
        check_gradients(t, settings, training, seed, layer, grads)
        probs = torch.softmax(t["x"].double() @ t["gate"].double().T, dim=-1)
        kept, _, assignments = moe.route(probs, settings, training, seed, layer)
        counts = np.zeros(E, dtype=np.int32)
        for _, e, _ in kept:
            counts[e] += 1
        dropped = assignments - len(kept)
        assert dropped > 0, case + " drops nothing"
        for k in ("x", "gate", "fc", "proj", "w"):
            out[case + "." + k] = t[k].numpy()
        out[case + ".y"] = y.numpy()
        out[case + ".aux"] = aux.reshape(1).numpy()
        for k, g in grads.items():
            out[case + ".grad." + k] = g.numpy()
        out[case + ".kept"] = counts
        out[case + ".assignments"] = np.array([assignments], dtype=np.int32)
        out[case + ".dropped"] = np.array([dropped], dtype=np.int32)
        print(case, "kept", counts.tolist(), "assignments", assignments, "dropped", dropped, "aux", float(aux))
    path = os.path.join(HERE, "..", "..", "layers", "src", "test", "resources", "moe", "moe-layer.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    st.save_file(out, path)
    back, _ = st.load_file(path)
    assert all(np.array_equal(back[k], v) for k, v in out.items())
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
