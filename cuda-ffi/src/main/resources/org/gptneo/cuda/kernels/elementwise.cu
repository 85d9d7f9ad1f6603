// Elementwise kernels over dense F32 tensors (n elements), grid-stride.

// t[i] = value.
KERNEL void fill_f32(float* t, i64 n, float value) {
    GRID_STRIDE(i, n) t[i] = value;
}
