// Mixture-of-experts kernels: relu, the weighted row scatter-add and the top-k renormalisation.

// out[i] = max(x[i], 0), NaN staying NaN (Math.max).
KERNEL void relu_f32(const float* x, float* out, i64 n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        out[i] = (v > 0.0f || v != v) ? v : 0.0f;
    }
}

// dx[i] += dOut[i] where x[i] > 0.
KERNEL void relu_backward_f32(const float* x, const float* d_out, float* dx, i64 n) {
    GRID_STRIDE(i, n) {
        if (x[i] > 0.0f) dx[i] = dx[i] + d_out[i];
    }
}

// out [R, C]: out[rows[m], j] += weights[m]·src[m, j] for m = 0, 1, …, M − 1 in order; src [M, C].
// One thread per column j walks every m, so repeated rows add in order of m without atomics.
KERNEL void scatter_add_rows_f32(const float* src, const float* weights, const int* rows, float* out, i64 m_count, int c) {
    GRID_STRIDE(j, c) {
        for (i64 m = 0; m < m_count; m++) {
            float* at = out + (i64) rows[m] * c + j;
            *at = *at + weights[m] * src[m * c + j];
        }
    }
}

// One block per m of src [M, C]: dSrc[m, j] += weights[m]·dOut[rows[m], j];
// dWeights[m] += Σ_j dOut[rows[m], j]·src[m, j] (a block-wide float sum).
KERNEL void scatter_add_rows_backward_f32(const float* d_out, const float* src, const float* weights, const int* rows,
                                          float* d_src, float* d_weights, i64 m_count, int c) {
    __shared__ float scratch[THREADS];
    i64 m = blockIdx.x;
    if (m >= m_count) return;                                  // uniform over the block
    float w = weights[m];
    const float* back = d_out + (i64) rows[m] * c;            // [C]
    float dot = 0.0f;
    for (int j = threadIdx.x; j < c; j += THREADS) {
        float g = back[j];
        d_src[m * c + j] = d_src[m * c + j] + w * g;
        dot = dot + g * src[m * c + j];
    }
    float total = block_sum(dot, scratch);
    if (threadIdx.x == 0) d_weights[m] = d_weights[m] + total;
}

// Σ_j x[j] over a row of k, in float in order of j.
__device__ __forceinline__ float routing_row_sum(const float* x, int k) {
    float sum = 0.0f;
    for (int j = 0; j < k; j++) sum = sum + x[j];
    return sum;
}

// out [N, K] = x[n, k] / (Σ_j x[n, j] + eps), one thread per row.
KERNEL void normalize_rows_f32(const float* x, float* out, i64 rows, int k, float eps) {
    GRID_STRIDE(n, rows) {
        const float* xr = x + n * k;
        float denominator = routing_row_sum(xr, k) + eps;
        for (int j = 0; j < k; j++) out[n * k + j] = xr[j] / denominator;
    }
}

// dx [N, K] += (dOut[n, k] − Σ_j dOut[n, j]·out[n, j]) / (Σ_j x[n, j] + eps), one thread per row.
KERNEL void normalize_rows_backward_f32(const float* x, const float* out, const float* d_out, float* dx, i64 rows,
                                        int k, float eps) {
    GRID_STRIDE(n, rows) {
        i64 at = n * k;
        float denominator = routing_row_sum(x + at, k) + eps;
        float dot = 0.0f;
        for (int j = 0; j < k; j++) dot = dot + d_out[at + j] * out[at + j];
        for (int j = 0; j < k; j++) dx[at + j] = dx[at + j] + (d_out[at + j] - dot) / denominator;
    }
}
