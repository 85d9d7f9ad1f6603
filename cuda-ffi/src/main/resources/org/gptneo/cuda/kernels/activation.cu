// gelu_new and exp, elementwise over n floats.

// u = √(2/π)·(x + 0.044715·x³), the product in double as on the CPU.
__device__ __forceinline__ float gelu_inner(float v) {
    return (float) (0.7978845608028654 * (double) (v + 0.044715f * v * v * v));
}

// out = 0.5·x·(1 + tanh(u)).
KERNEL void gelu_new_f32(const float* x, float* out, i64 n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(gelu_inner(v)));
    }
}

// dx += gelu_new′(x)·dOut.
KERNEL void gelu_new_backward_f32(const float* x, const float* dout, float* dx, i64 n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        float t = tanhf(gelu_inner(v));
        float du = (float) (0.7978845608028654 * (double) (1.0f + 3.0f * 0.044715f * v * v));
        float grad = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        dx[i] += grad * dout[i];
    }
}

// out = exp(x).
KERNEL void exp_f32(const float* x, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = expf(x[i]);
}
