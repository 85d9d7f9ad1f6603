"""Golden file for the Trainer: ten optimizer steps of a tiny GPT-Neo as Hugging Face's Trainer
would take them, in float64, with torch's own pieces:

- torch.optim.AdamW with two parameter groups (weight decay on everything but biases and LayerNorm
  parameters, as Trainer.get_decay_parameter_names does),
- the learning rate of HF's get_cosine_with_min_lr_schedule_with_warmup (factor k/warmup during
  warm-up, then min_lr_rate + (1 - min_lr_rate) * 0.5 * (1 + cos(pi * progress))),
- gradient accumulation by (loss / K).backward() over K micro-batches,
- torch.nn.utils.clip_grad_norm_ on the accumulated gradients (limit chosen so that it clips).

Data: sequences [N, T] used strictly in order (the Java side turns shuffling off), micro-batch j of
step s = sequences [(s*K + j)*B, (s*K + j + 1)*B). Dropout off (masks are the library's own).

Writes api/src/test/resources/golden/trainer_steps.safetensors:
  param.<name> F32 (initial), sequences I32 [N, T], losses F32 [S] (mean micro-batch loss of each
  step), lrs F32 [S], grad_norms F32 [S] (before clipping), final.<name> F32 (after S steps);
  __metadata__ {"config": HF config JSON, "trainer": settings JSON}.

Run: /usr/bin/python3 tools/reference/make_trainer_golden.py
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
sys.dont_write_bytecode = True

import gpt_neo_reference as ref  # noqa: E402
import make_golden as golden  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "api", "src", "test", "resources", "golden", "trainer_steps.safetensors")

TRAINER = {"steps": 10, "batch_size": 2, "seq_len": 8, "accumulate": 2, "learning_rate": 1e-2, "warmup": 3,
           "schedule": "cosine", "lr_floor": 0.1, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.999,
           "eps": 1e-8, "grad_clip": 0.5}


def lr_factor(step):
    s = TRAINER
    if step < s["warmup"]:
        return step / max(1, s["warmup"])
    progress = (step - s["warmup"]) / max(1, s["steps"] - s["warmup"])
    return s["lr_floor"] + (1 - s["lr_floor"]) * max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))


def decays(name):
    return not (name.endswith(".bias") or ".ln_" in name or "norm" in name)


def main():
    torch.set_num_threads(1)
    seed = 2024
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config = golden.hf_config(64, 16, 16, 2, 2, [[["global", "local"], 1]], 4, None, 1e-5)
    params = golden.init_params(config, gen)
    s = TRAINER
    B, T, K, S = s["batch_size"], s["seq_len"], s["accumulate"], s["steps"]
    n = S * K * B
    sequences = torch.randint(config["vocab_size"], (n, T), generator=gen, dtype=torch.long)

    names = list(params)
    leaves = {k: params[k].clone().requires_grad_(True) for k in names}
    groups = [{"params": [leaves[k] for k in names if decays(k)], "weight_decay": s["weight_decay"]},
              {"params": [leaves[k] for k in names if not decays(k)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=s["learning_rate"], betas=(s["beta1"], s["beta2"]), eps=s["eps"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    losses, lrs, norms = [], [], []
    for step in range(S):
        opt.zero_grad()
        total = 0.0
        for j in range(K):
            first = (step * K + j) * B
            ids = sequences[first:first + B]
            _, loss = ref.forward(leaves, config, ids, ids)
            (loss / K).backward()
            total += loss.item()
        losses.append(total / K)
        lrs.append(opt.param_groups[0]["lr"])
        norms.append(float(torch.nn.utils.clip_grad_norm_([leaves[k] for k in names], s["grad_clip"])))
        opt.step()
        sched.step()
    assert any(x > s["grad_clip"] for x in norms), "the clip limit should bite at least once"

    tensors = {"param." + k: golden.f32(v) for k, v in params.items()}
    tensors["sequences"] = sequences.numpy().astype(np.int32)
    tensors["losses"] = np.array(losses, dtype=np.float32)
    tensors["lrs"] = np.array(lrs, dtype=np.float32)
    tensors["grad_norms"] = np.array(norms, dtype=np.float32)
    for k in names:
        tensors["final." + k] = golden.f32(leaves[k])
    metadata = {"config": json.dumps(config), "trainer": json.dumps(TRAINER)}
    size = st.save_file(tensors, OUT, metadata)
    with open(OUT, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    print("trainer_steps: loss %.4f -> %.4f, lr %s, grad norms %.3f..%.3f; %d bytes, sha256 %s"
          % (losses[0], losses[-1], ["%.4g" % x for x in lrs], min(norms), max(norms), size, digest))


if __name__ == "__main__":
    main()
