"""GPT-Neo's linear attention (spec section 11.3), the readable float64 reference.

Both functions take projected (and, for rotary models, rotated) q, k, v of shape [B, H, T, hs]
and return the mixed values [B, H, T, hs]; the feature maps are applied here. No scaling, no
mask, no dropout. The causal form materialises its cumulative sums (O(T * hs^2) memory): it is
the definition the streaming Java kernels are checked against, not a fast path.
"""

import torch

EPSILON = 1e-6


def causal_linear_attention(q, k, v):
    """out[n] = (q^[n] . C[n]) / (q^[n] . K[n]) with q^ = softmax(q) over features, k~ = exp(k),
    K[n] = sum_{m<=n} k~[m] + eps and C[n] = sum_{m<=n} k~[m]^T v[m]."""
    q_hat = torch.softmax(q, dim=-1)
    k_tilde = torch.exp(k)
    keys = torch.cumsum(k_tilde, dim=-2) + EPSILON                       # K [B, H, T, hs]
    denominator = (q_hat * keys).sum(dim=-1, keepdim=True)              # D [B, H, T, 1]
    context = torch.cumsum(k_tilde.unsqueeze(-1) * v.unsqueeze(-2), dim=-3)   # C [B, H, T, hs, hs]
    numerator = torch.einsum("bhtd,bhtde->bhte", q_hat, context)
    return numerator / denominator


def noncausal_linear_attention(q, k, v):
    """out[n] = q^[n] . C with q^ = softmax(q) over features, k^ = softmax(k) over the sequence and
    C = sum_n k^[n]^T v[n] (hs x hs per head)."""
    q_hat = torch.softmax(q, dim=-1)
    k_hat = torch.softmax(k, dim=-2)
    context = torch.einsum("bhtd,bhte->bhde", k_hat, v)
    return torch.einsum("bhtd,bhde->bhte", q_hat, context)
