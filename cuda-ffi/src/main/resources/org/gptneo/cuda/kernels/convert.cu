// Widening of stored weights to F32 for the GEMMs (cuBLAS multiplies F32 by F32 here; the
// products are then those of the CPU backend, which widens in registers).

// out[i] = bf16 in[i], exactly.
KERNEL void widen_bf16(const unsigned short* in, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = bf16_to_f32(in[i]);
}

// out[i] = f16 in[i], exactly.
KERNEL void widen_f16(const unsigned short* in, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = f16_to_f32(in[i]);
}

// out[i] = q·s of Q8 element i.
KERNEL void widen_q8(const unsigned char* in, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = q8_get(in, i);
}

// c[i] = beta·c[i], or 0 when beta is 0 (old contents ignored, NaN included): a GEMM with k = 0.
KERNEL void scale_or_clear(float* c, i64 n, float beta) {
    GRID_STRIDE(i, n) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
}
