"""PyTorch (eager, float32) side of `gptneo bench`: the same workloads, JSON lines with the same keys.

    /usr/bin/python3 tools/bench/torch_bench.py prefill [--tokens 512] [--batch-size 1]
    /usr/bin/python3 tools/bench/torch_bench.py decode  [--prompt 16] [--new 64] [--batch-size 1]
    /usr/bin/python3 tools/bench/torch_bench.py train   [--seq-len 256] [--batch-size 4]
    /usr/bin/python3 tools/bench/torch_bench.py gemm    [--peak-gflops X]
common: [--preset 125M | --config HF_CONFIG_JSON] [--runs 3] [--threads N] [--seed 0]

The model is tools/bench/neo_torch.py (random seeded weights). Every measurement is the best of --runs
after one warm-up run; prefill and decode run under torch.inference_mode(). Threads: torch.set_num_threads
and, since Debian's torch calls OpenBLAS (pthreads build) for float32 GEMM, openblas_set_num_threads too.
--omp-threads K gives torch's own (OpenMP) intra-op pool K threads while OpenBLAS keeps --threads: on few
cores the two pools otherwise compete (OpenMP workers spin after each op while OpenBLAS's threads want the
cores), which on 2 cores made 125M decode 2.5x slower. Run with Debian's /usr/bin/python3 (python3-torch). OPENBLAS_CORETYPE (Haswell, Zen, SkylakeX, ...) picks
OpenBLAS's kernels when set in the environment of the process; the gemm lines say which core type ran.
"""
import argparse
import ctypes
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import neo_torch  # noqa: E402


def openblas():
    """The OpenBLAS library torch loaded (found in /proc/self/maps after a float32 matmul), or None."""
    a = torch.ones(8, 8)
    torch.mm(a, a)
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.split()[-1].lower()})
    except OSError:
        return None
    for path in paths:
        if "/" in path:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                return lib
            except (OSError, AttributeError):
                continue
    return None


BLAS = openblas()


def corename():
    return BLAS.openblas_get_corename().decode() if BLAS else None


def engine(threads, omp_threads):
    blas = BLAS.openblas_get_config().decode().split(" ")[:2] if BLAS else ["BLAS", "unknown"]
    return "pytorch %s eager float32, %s %s (%s), %d threads (torch intra-op %d)" % (
        torch.__version__, blas[0], blas[1], corename(), threads, omp_threads)


def set_threads(n, omp):
    torch.set_num_threads(omp)
    if BLAS:
        BLAS.openblas_set_num_threads(n)


def best_ms(fn, runs):
    """Milliseconds of the fastest of `runs` calls of fn, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def line(what, a, **fields):
    out = {"what": what, "threads": a.threads}
    out.update(fields)
    out["omp_threads"] = a.omp_threads
    out["engine"] = engine(a.threads, a.omp_threads)
    print(json.dumps(out), flush=True)


def model_of(a):
    config = neo_torch.make_config(path=a.config) if a.config else neo_torch.make_config(preset=a.preset)
    return config, neo_torch.GptNeo(config, seed=a.seed)


def random_ids(a, config, *shape):
    return torch.randint(0, config["vocab_size"], shape, generator=torch.Generator().manual_seed(a.seed + 1))


def prefill(a):
    config, model = model_of(a)
    require(1 <= a.tokens <= config["max_position_embeddings"], "--tokens must be in [1, context length]")
    model.eval()
    ids = random_ids(a, config, a.batch_size, a.tokens)
    with torch.inference_mode():
        all_ms = best_ms(lambda: model(ids, logits="all", use_cache=False), a.runs)   # [B, T, V], no cache
        last_ms = best_ms(lambda: model(ids, logits="last", use_cache=True), a.runs)  # [B, V] + presents
    for kind, ms in (("all", all_ms), ("last", last_ms)):
        line("prefill", a, logits=kind, batch=a.batch_size, tokens=a.tokens, dtype="f32", ms=round(ms, 2),
             tokens_per_s=round(a.batch_size * a.tokens / (ms / 1000), 1))


def read_bandwidth_gbs(runs):
    """Read bandwidth as torch sees it: best time of summing a 256 MiB float32 tensor."""
    buf = torch.rand(64 * 1024 * 1024)
    with torch.inference_mode():
        ms = best_ms(lambda: buf.sum(), max(runs, 3))
    return buf.numel() * 4 / (ms / 1000) / 1e9


def decode(a):
    config, model = model_of(a)
    context = config["max_position_embeddings"]
    require(1 <= a.prompt < context, "--prompt must be in [1, context - 1]")
    require(1 <= a.new <= context - a.prompt, "--new must be in [1, context - prompt]")
    model.eval()
    if a.bandwidth_gb_s:
        bandwidth, source = a.bandwidth_gb_s, "given (--bandwidth-gb-s)"
    else:
        bandwidth, source = read_bandwidth_gbs(a.runs), "torch sum of 256 MiB"
    ids = random_ids(a, config, a.batch_size, a.prompt)

    def run():
        with torch.inference_mode():
            start = time.perf_counter()
            logits, past = model(ids, logits="last")
            nxt = logits.argmax(-1, keepdim=True)                 # [B, 1] greedy
            mid = time.perf_counter()
            for _ in range(a.new):
                logits, past = model(nxt, past=past, logits="last")
                nxt = logits.argmax(-1, keepdim=True)
            end = time.perf_counter()
        return (mid - start) * 1000, (end - mid) * 1000

    best = None
    for r in range(a.runs + 1):   # run 0 warms up
        t = run()
        if r > 0 and (best is None or t[1] < best[1]):
            best = t
    prefill_ms, steps_ms = best
    step_bytes = sum(model.decode_read_bytes(a.batch_size, a.prompt + 1 + s) for s in range(a.new)) / a.new
    steps_per_s = a.new / (steps_ms / 1000)
    line("decode", a, batch=a.batch_size, prompt=a.prompt, new=a.new, dtype="f32", prefill_ms=round(prefill_ms, 2),
         ms_per_token=round(steps_ms / a.new, 3), tokens_per_s=round(a.batch_size * steps_per_s, 1),
         bytes_per_token=round(step_bytes / a.batch_size), bandwidth_gb_s=round(bandwidth, 2),
         bandwidth_fraction=round(step_bytes * steps_per_s / 1e9 / bandwidth, 3), bandwidth_source=source)


def train(a):
    config, model = model_of(a)
    require(1 <= a.seq_len <= config["max_position_embeddings"], "--seq-len must be in [1, context length]")
    model.train()  # no dropout in neo_torch: same arithmetic as eval
    decay = [p for n, p in model.named_parameters() if not (n.endswith(".bias") or ".ln_" in n or "norm" in n)]
    rest = [p for n, p in model.named_parameters() if n.endswith(".bias") or ".ln_" in n or "norm" in n]
    # the settings of `gptneo bench train`: lr 1e-4, torch's defaults otherwise, no decay on biases and LayerNorms
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    ids = random_ids(a, config, a.batch_size, a.seq_len)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(ids).backward()
        opt.step()

    ms = best_ms(step, a.runs)
    line("train", a, batch=a.batch_size, seq_len=a.seq_len, ms=round(ms, 1),
         tokens_per_s=round(a.batch_size * a.seq_len / (ms / 1000), 1))


# (out, in) of 125M's linear layers and the rows they run at, as `gptneo bench gemm` lists them
LINEAR = [(768, 768), (3072, 768), (768, 3072), (50257, 768)]
ROWS = 512


def gemm_shapes():
    shapes = [(2048, 2048, 2048, False, False)]
    for out, inp in LINEAR:
        shapes.append((ROWS, out, inp, False, True))    # y = x · Wᵀ
        shapes.append((ROWS, inp, out, False, False))   # dx = dy · W
        shapes.append((out, inp, ROWS, True, False))    # dW = dyᵀ · x
    return shapes


def gemm(a):
    gen = torch.Generator().manual_seed(7)
    for m, n, k, ta, tb in gemm_shapes():
        A = (torch.rand((k, m) if ta else (m, k), generator=gen) * 2 - 1)
        B = (torch.rand((n, k) if tb else (k, n), generator=gen) * 2 - 1)
        opa, opb = (A.t() if ta else A), (B.t() if tb else B)   # transposed views: BLAS gets the flags, no copy
        C = torch.empty(m, n)
        ms = best_ms(lambda: torch.mm(opa, opb, out=C), a.runs)
        gflops = 2.0 * m * n * k / (ms / 1000) / 1e9
        line("gemm", a, m=m, n=n, k=k, transpose_a=ta, transpose_b=tb, ms=round(ms, 2), gflops=round(gflops, 1),
             peak_fraction=round(gflops / a.peak_gflops, 3) if a.peak_gflops else None,
             openblas_coretype=corename(), openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE"))
        del A, B, C


def require(ok, message):
    if not ok:
        sys.exit("torch_bench: " + message)


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs", type=int, default=3, help="timed runs after one warm-up; the best is reported (default 3)")
    common.add_argument("--threads", type=int, default=os.cpu_count(), help="torch and OpenBLAS threads (default: os.cpu_count())")
    common.add_argument("--omp-threads", type=int, help="torch's own intra-op threads (torch.set_num_threads) if not --threads")
    shape = argparse.ArgumentParser(add_help=False)
    g = shape.add_mutually_exclusive_group()
    g.add_argument("--preset", default="125M", choices=sorted(neo_torch.PRESETS))
    g.add_argument("--config", metavar="FILE", help="an HF config.json")
    shape.add_argument("--seed", type=int, default=0, help="weights and ids (default 0)")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("prefill", parents=[common, shape], help="a forward pass over B×T random ids: all logits, then last only")
    s.add_argument("--tokens", type=int, default=512)
    s.add_argument("--batch-size", type=int, default=1)
    s = sub.add_parser("decode", parents=[common, shape], help="greedy KV-cache decoding of --new tokens after --prompt")
    s.add_argument("--prompt", type=int, default=16)
    s.add_argument("--new", type=int, default=64)
    s.add_argument("--batch-size", type=int, default=1)
    s.add_argument("--bandwidth-gb-s", type=float, help="the read bandwidth for bandwidth_fraction (default: measured here)")
    s = sub.add_parser("train", parents=[common, shape], help="forward + backward + AdamW on B×T random ids")
    s.add_argument("--seq-len", type=int, default=256)
    s.add_argument("--batch-size", type=int, default=4)
    s = sub.add_parser("gemm", parents=[common], help="F32 matrix products: 2048³ and 125M's linear layers at 512 rows")
    s.add_argument("--peak-gflops", type=float, help="the FMA peak for peak_fraction (e.g. from `gptneo bench gemm`'s limits line)")
    a = p.parse_args()
    require(a.runs >= 1 and a.threads >= 1, "--runs and --threads must be ≥ 1")
    if a.omp_threads is None:
        a.omp_threads = a.threads
    require(a.omp_threads >= 1, "--omp-threads must be ≥ 1")
    if hasattr(a, "batch_size"):
        require(a.batch_size >= 1, "--batch-size must be ≥ 1")
    set_threads(a.threads, a.omp_threads)
    {"prefill": prefill, "decode": decode, "train": train, "gemm": gemm}[a.what](a)


if __name__ == "__main__":
    main()
