"""The GPU machine's limits and PyTorch + transformers eager as the reference, for tools/gpu-check.sh.

    python3 tools/gpu/bench_reference.py
Prints JSON lines:
  {"what": "bf16_gemm_peak", "tflops"}      cuBLAS BF16 GEMM 8192^3 through torch.mm (the MFU denominator)
  {"what": "hbm_bandwidth", "gb_s"}         device-to-device copy of 4 GiB, read + write bytes
  {"what": "hf_train", "model", "tokens_per_s"}   transformers eager BF16 (autocast), AdamW, B x T tokens
  {"what": "hf_decode", "model", "tokens_per_s"}  transformers eager generate, batch 1, greedy, KV cache
"""

import json
import time

import torch
from transformers import GPTNeoConfig, GPTNeoForCausalLM


def timed(fn, repeats):
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def emit(**fields):
    print(json.dumps(fields), flush=True)


def preset(name):
    shapes = {"125M": (768, 12, 12), "1.3B": (2048, 24, 16)}
    hidden, layers, heads = shapes[name]
    return GPTNeoConfig(vocab_size=50257, max_position_embeddings=2048, hidden_size=hidden, num_layers=layers,
                        num_heads=heads, attention_types=[[["global", "local"], layers // 2]], window_size=256)


def main():
    dev = torch.device("cuda")
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    s = timed(lambda: torch.mm(a, a), 10)
    emit(what="bf16_gemm_peak", tflops=round(2 * 8192 ** 3 / s / 1e12, 1))
    src = torch.empty(1 << 30, device=dev, dtype=torch.float32)
    dst = torch.empty_like(src)
    s = timed(lambda: dst.copy_(src), 10)
    emit(what="hbm_bandwidth", gb_s=round(2 * src.numel() * 4 / s / 1e9, 1))
    del a, src, dst

    model = GPTNeoForCausalLM(preset("125M")).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch, seq = 8, 2048
    ids = torch.randint(0, 50257, (batch, seq), device=dev)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    s = timed(step, 3)
    emit(what="hf_train", model="125M", batch=batch, seq_len=seq, tokens_per_s=round(batch * seq / s, 1))
    del model, opt

    model = GPTNeoForCausalLM(preset("1.3B")).to(dev).eval()
    prompt = torch.randint(0, 50257, (1, 16), device=dev)
    new = 64
    with torch.no_grad():
        s = timed(lambda: model.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0), 2)
    emit(what="hf_decode", model="1.3B", tokens_per_s=round(new / s, 1))


if __name__ == "__main__":
    main()
