"""Times our PyTorch reference of GPT-Neo (tools/reference, eager, float32) on the shapes
`gptneo bench` uses: a training step (forward + backward) and a forward pass, medians after
2 warm-up runs. Prints one JSON object. Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import gpt_neo_reference as ref  # noqa: E402

PRESETS = {"125M": (768, 12, 12), "350M": (1024, 24, 16), "1.3B": (2048, 24, 16)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="125M", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    d, layers, heads = PRESETS[a.preset]
    config = {"vocab_size": 50257, "max_position_embeddings": 2048, "hidden_size": d, "num_layers": layers,
              "num_heads": heads, "attention_types": [[["global", "local"], layers // 2]], "window_size": 256,
              "intermediate_size": None, "layer_norm_epsilon": 1e-5}
    gen = torch.Generator().manual_seed(0)
    params = {}
    for name, shape in ref.param_shapes(config):
        if name.endswith(".bias"):
            t = torch.zeros(shape)
        elif ".ln_" in name:
            t = torch.ones(shape)
        else:
            t = torch.randn(shape, generator=gen) * 0.02
        params[name] = t.float().requires_grad_(True)
    ids = torch.randint(0, 50257, (a.batch, a.seq), generator=gen)

    def train_step():
        for t in params.values():
            t.grad = None
        _, loss = ref.forward(params, config, ids)
        loss.backward()

    def forward():
        with torch.no_grad():
            ref.forward(params, config, ids)

    def median_ms(fn):
        for _ in range(2):
            fn()
        times = []
        for _ in range(a.runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    train_ms, forward_ms = median_ms(train_step), median_ms(forward)
    tokens = a.batch * a.seq
    print(json.dumps({"backend": "pytorch %s eager float32, %d threads" % (torch.__version__, a.threads),
                      "batch": a.batch, "seq": a.seq,
                      "train_step_ms": round(train_ms, 1), "train_tokens_per_s": round(tokens / train_ms * 1000, 1),
                      "forward_ms": round(forward_ms, 1), "forward_tokens_per_s": round(tokens / forward_ms * 1000, 1)}))


if __name__ == "__main__":
    main()
