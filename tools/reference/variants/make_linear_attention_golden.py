"""Golden file for the Java linear-attention parity test.

Run from anywhere:  /usr/bin/python3 tools/reference/variants/make_linear_attention_golden.py
Writes layers/src/test/resources/golden/linear_attention.safetensors (deterministic), holding for
each form F in {causal, noncausal}: F.q, F.k, F.v [B, H, T, hs], F.w (loss = sum(w * out)),
F.out, F.dq, F.dk, F.dv, all float64. Self-check: the causal reference equals a token-by-token
recurrence, and its gradients equal central finite differences.
"""

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True

import linear_attention as la  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
OUT = os.path.join(REPO, "layers", "src", "test", "resources", "golden", "linear_attention.safetensors")
SHAPE = (2, 3, 7, 8)  # B, H, T (odd), hs


def recurrent(q, k, v):
    """The causal form one token at a time with a running state, as generation computes it."""
    b, h, t, d = q.shape
    s = torch.zeros(b, h, d, v.shape[-1], dtype=q.dtype)
    z = torch.zeros(b, h, d, dtype=q.dtype)
    outs = []
    for n in range(t):
        qn, kn, vn = torch.softmax(q[:, :, n], -1), torch.exp(k[:, :, n]), v[:, :, n]
        s = s + kn.unsqueeze(-1) * vn.unsqueeze(-2)
        z = z + kn
        outs.append(torch.einsum("bhd,bhde->bhe", qn, s) / (qn * (z + la.EPSILON)).sum(-1, keepdim=True))
    return torch.stack(outs, dim=2)


def main():
    torch.manual_seed(20260601)
    tensors = {}
    for name, fn in (("causal", la.causal_linear_attention), ("noncausal", la.noncausal_linear_attention)):
        q, k, v = (torch.randn(SHAPE, dtype=torch.float64, requires_grad=True) for _ in range(3))
        w = torch.randn(SHAPE, dtype=torch.float64)
        out = fn(q, k, v)
        (out * w).sum().backward()
        if name == "causal":
            assert torch.allclose(out, recurrent(q, k, v), rtol=1e-12, atol=1e-12)
        assert torch.autograd.gradcheck(lambda a, b, c: (fn(a, b, c) * w).sum(), (q, k, v))
        for key, value in (("q", q), ("k", k), ("v", v), ("w", w), ("out", out),
                           ("dq", q.grad), ("dk", k.grad), ("dv", v.grad)):
            tensors[name + "." + key] = value.detach().numpy()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    size = st.save_file(tensors, OUT)
    print("wrote %s (%d bytes)" % (OUT, size))


if __name__ == "__main__":
    main()
