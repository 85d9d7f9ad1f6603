"""Generate the golden LoRA fixture for the Java tests: a tiny GPT-Neo, a PEFT-layout adapter, and
what the float64 reference computes with it.

Run from anywhere:  /usr/bin/python3 tools/reference/make_lora_golden.py
Writes (deterministic) under api/src/test/resources/golden-lora/:
  golden.safetensors           __metadata__ {"config", "lora"}, param.<HF name> F32 (the base model),
                               ids/labels I32 [B,T], logits F32 [B,T,V], loss F32 [1],
                               grad.<PEFT name> F32 for every lora_A / lora_B
  adapter/adapter_config.json  PEFT's LoraConfig keys
  adapter/adapter_model.safetensors
                               base_model.model.transformer.h.{i}.<module path>.lora_{A,B}.weight F32

LoRA math (PEFT's nn.Linear LoRA layer, no peft package here): for a targeted projection
  y = x @ W.T (+ b) + scaling * (dropout(x) @ A.T) @ B.T,   A [r, in], B [out, r], scaling = alpha / r
with dropout 0 (parity needs no random masks). B is non-zero so the low-rank path matters.

Self-checks: the unmerged forward equals the plain reference on merged weights W + scaling * B @ A;
with B = 0 it equals the plain reference on the base; adapter gradients agree with central finite
differences; the files read back exactly.
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
import make_golden  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(REPO, "api", "src", "test", "resources", "golden-lora")
PEFT_PREFIX = "base_model.model."

# module short name -> its path inside block i (PEFT matches target_modules as name suffixes)
MODULE_PATHS = {
    "q_proj": "attn.attention.q_proj",
    "k_proj": "attn.attention.k_proj",
    "v_proj": "attn.attention.v_proj",
    "out_proj": "attn.attention.out_proj",
    "c_fc": "mlp.c_fc",
    "c_proj": "mlp.c_proj",
}

SEED = 2001
CONFIG = make_golden.hf_config(40, 12, 8, 2, 2, [[["global", "local"], 1]], 3, 16, 1e-5)
B, T = 2, 7
IGNORE = [(1, 4)]
# PEFT writes target_modules from a set, in no particular order: this order is deliberately not the model's
LORA = {"r": 4, "lora_alpha": 6, "target_modules": ["v_proj", "c_proj", "q_proj", "c_fc"]}


# ----------------------------------------------------------------------------------------------
# The LoRA forward: the reference's layers with each projection going through `linear`.


def lora_names(config, targets):
    """PEFT tensor names of every adapter tensor, in model order (block, module, A before B)."""
    names = []
    for i in range(config["num_layers"]):
        for module, path in MODULE_PATHS.items():
            if module in targets:
                base = "%stransformer.h.%d.%s." % (PEFT_PREFIX, i, path)
                names += [base + "lora_A.weight", base + "lora_B.weight"]
    return names


def lora_forward(params, lora, scaling, config, ids, labels=None):
    """(logits [B,T,V], loss) of the reference model with adapters: lora maps PEFT names to A / B."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    Bsz, T_ = ids.shape
    d, H = config["hidden_size"], config["num_heads"]
    hd, eps = d // H, config["layer_norm_epsilon"]

    def linear(x, path, bias=True):
        y = x @ params[path + ".weight"].T
        if bias:
            y = y + params[path + ".bias"]
        a = lora.get(PEFT_PREFIX + path + ".lora_A.weight")
        if a is not None:
            y = y + scaling * (x @ a.T) @ lora[PEFT_PREFIX + path + ".lora_B.weight"].T
        return y

    wte = params["transformer.wte.weight"]
    h = wte[ids] + params["transformer.wpe.weight"][torch.arange(T_)].unsqueeze(0)
    for i, kind in enumerate(ref.expand_attention_types(config["attention_types"])):
        p = "transformer.h.%d." % i
        x = ref.layer_norm(h, params[p + "ln_1.weight"], params[p + "ln_1.bias"], eps)
        split = lambda t: t.reshape(Bsz, T_, H, hd).permute(0, 2, 1, 3)  # noqa: E731  [B,H,T,hd]
        q = split(linear(x, p + "attn.attention.q_proj", bias=False))
        k = split(linear(x, p + "attn.attention.k_proj", bias=False))
        v = split(linear(x, p + "attn.attention.v_proj", bias=False))
        scores = q @ k.transpose(-1, -2)  # no 1/sqrt(hd)
        mask = ref.attention_mask(kind, T_, config["window_size"])
        scores = torch.where(mask, scores, torch.full_like(scores, ref.FLOAT32_MIN))
        o = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(Bsz, T_, d)
        h = h + linear(o, p + "attn.attention.out_proj")
        m = ref.layer_norm(h, params[p + "ln_2.weight"], params[p + "ln_2.bias"], eps)
        h = h + linear(ref.gelu_new(linear(m, p + "mlp.c_fc")), p + "mlp.c_proj")
    h = ref.layer_norm(h, params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps)
    logits = h @ wte.T
    return logits, ref.causal_lm_loss(logits, ids if labels is None else torch.as_tensor(labels, dtype=torch.long))


def merged(params, lora, scaling):
    """The base parameters with scaling * B @ A folded into each adapted weight."""
    out = dict(params)
    for name in lora:
        if name.endswith(".lora_A.weight"):
            path = name[len(PEFT_PREFIX):-len(".lora_A.weight")]
            out[path + ".weight"] = out[path + ".weight"] + scaling * lora[path.join((PEFT_PREFIX, ".lora_B.weight"))] @ lora[name]
    return out


def adapter_config(r, alpha, targets, dropout=0.0, base_model=None):
    """adapter_config.json as PEFT's LoraConfig saves it (the keys the Java side reads and writes)."""
    return {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": dropout,
        "target_modules": list(targets), "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "modules_to_save": None, "use_rslora": False,
        "base_model_name_or_path": base_model, "revision": None,
    }


# ----------------------------------------------------------------------------------------------


def init_lora(config, targets, r, gen):
    """A ~ U(-1/sqrt(in), 1/sqrt(in)) as PEFT initialises it; B ~ N(0, 0.3^2) (PEFT starts B at 0; a trained
    adapter has B != 0, which is what parity must exercise). Rounded to float32, used as float64."""
    shapes = dict(ref.param_shapes(config))
    lora = {}
    for name in lora_names(config, targets):
        out_f, in_f = shapes[name[len(PEFT_PREFIX):].rsplit(".lora_", 1)[0] + ".weight"]
        if ".lora_A." in name:
            v = (torch.rand((r, in_f), generator=gen, dtype=torch.float64) * 2 - 1) / math.sqrt(in_f)
        else:
            v = 0.3 * torch.randn((out_f, r), generator=gen, dtype=torch.float64)
        lora[name] = v.to(torch.float32).to(torch.float64)
    return lora


def finite_difference_check(params, lora, scaling, ids, labels, grads, gen, n_checks=10, h=1e-6):
    names = list(lora)
    worst = 0.0
    for _ in range(n_checks):
        name = names[int(torch.randint(len(names), (1,), generator=gen))]
        idx = tuple(int(torch.randint(s, (1,), generator=gen)) for s in lora[name].shape)

        def loss_at(delta):
            moved = dict(lora)
            moved[name] = lora[name].clone()
            moved[name][idx] += delta
            return lora_forward(params, moved, scaling, CONFIG, ids, labels)[1].item()
        fd = (loss_at(h) - loss_at(-h)) / (2 * h)
        ag = grads[name][idx].item()
        assert abs(fd - ag) <= 1e-7 + 1e-5 * abs(ag), "FD mismatch %s%s: fd=%r autograd=%r" % (name, idx, fd, ag)
        worst = max(worst, abs(fd - ag))
    return n_checks, worst


def f32(t):
    return t.detach().to(torch.float32).numpy()


def main():
    torch.set_num_threads(1)  # bitwise reproducible BLAS reductions
    gen = torch.Generator().manual_seed(SEED)
    params = make_golden.init_params(CONFIG, gen)
    r, alpha, targets = LORA["r"], LORA["lora_alpha"], LORA["target_modules"]
    scaling = alpha / r
    lora = init_lora(CONFIG, targets, r, gen)
    ids = torch.randint(CONFIG["vocab_size"], (B, T), generator=gen, dtype=torch.long)
    labels = ids.clone()
    for b, t in IGNORE:
        labels[b, t] = -100

    leaves = {n: v.clone().requires_grad_(True) for n, v in lora.items()}
    logits, loss = lora_forward(params, leaves, scaling, CONFIG, ids, labels)
    names = list(leaves)
    grads = dict(zip(names, torch.autograd.grad(loss, [leaves[n] for n in names])))
    logits, loss = logits.detach(), loss.detach()

    # 1. unmerged == plain reference on merged weights; B = 0 == plain reference on the base
    m_logits, m_loss = ref.forward(merged(params, lora, scaling), CONFIG, ids, labels)
    merge_err = float((m_logits - logits).abs().max())
    assert merge_err < 1e-12 and abs(m_loss.item() - loss.item()) < 1e-12, merge_err
    zero_b = {n: (torch.zeros_like(v) if ".lora_B." in n else v) for n, v in lora.items()}
    z_logits, _ = lora_forward(params, zero_b, scaling, CONFIG, ids, labels)
    b_logits, base_loss = ref.forward(params, CONFIG, ids, labels)
    assert torch.equal(z_logits, b_logits)
    lora_effect = float((logits - b_logits).abs().max())
    assert lora_effect > 0.1, "the adapter barely changes the logits: %g" % lora_effect

    # 2. finite differences on adapter entries
    n_fd, fd_err = finite_difference_check(params, lora, scaling, ids, labels, grads, gen)

    os.makedirs(os.path.join(OUT_DIR, "adapter"), exist_ok=True)
    tensors = {"param." + n: f32(p) for n, p in params.items()}
    tensors["ids"] = ids.numpy().astype(np.int32)
    tensors["labels"] = labels.numpy().astype(np.int32)
    tensors["logits"] = f32(logits)
    tensors["loss"] = f32(loss.reshape(1))
    for n, g in grads.items():
        tensors["grad." + n] = f32(g)
    metadata = {"config": json.dumps(CONFIG), "lora": json.dumps(LORA)}
    golden = os.path.join(OUT_DIR, "golden.safetensors")
    size = st.save_file(tensors, golden, metadata)

    adapter = {n: f32(v) for n, v in lora.items()}
    adapter_file = os.path.join(OUT_DIR, "adapter", "adapter_model.safetensors")
    size += st.save_file(adapter, adapter_file, {"format": "pt"})
    with open(os.path.join(OUT_DIR, "adapter", "adapter_config.json"), "w") as f:
        json.dump(adapter_config(r, alpha, targets), f, indent=2, sort_keys=True)
        f.write("\n")

    # 3. read back
    for path, expected in ((golden, tensors), (adapter_file, adapter)):
        back, _ = st.load_file(path)
        assert set(back) == set(expected)
        for k, v in expected.items():
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
    for n, v in lora.items():
        assert np.array_equal(adapter[n].astype(np.float64), v.numpy())

    with open(golden, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    gnorm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    print("golden-lora  r=%d alpha=%g targets=%s: loss %.6f (base %.6f), max|dlogits| from the adapter %.3f, "
          "|adapter grad| %.4f" % (r, alpha, ",".join(targets), loss.item(), base_loss.item(), lora_effect, gnorm))
    print("             checks: merged-vs-unmerged %.1e, B=0 equals base, FD %d entries max err %.1e, read-back ok; "
          "%d bytes, sha256 %s" % (merge_err, n_fd, fd_err, size, digest))


if __name__ == "__main__":
    main()
