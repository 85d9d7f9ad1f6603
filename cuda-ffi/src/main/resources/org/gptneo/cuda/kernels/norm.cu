// LayerNorm over the last dimension C of x [N, C]: one block per row.

// out = (x − μ)·rstd·gamma + beta, with the biased variance; saves mean [N] and rstd [N].
KERNEL void layer_norm_f32(const float* x, const float* gamma, const float* beta, float eps, float* out, float* mean,
                           float* rstd, int c) {
    __shared__ float scratch[THREADS];
    i64 row = (i64) blockIdx.x * c;
    float partial = 0.0f;
    for (int i = threadIdx.x; i < c; i += THREADS) partial += x[row + i];
    float mu = block_sum(partial, scratch) / (float) c;
    partial = 0.0f;
    for (int i = threadIdx.x; i < c; i += THREADS) {
        float dev = x[row + i] - mu;
        partial += dev * dev;
    }
    float var = block_sum(partial, scratch) / (float) c;
    float rs = (float) (1.0 / sqrt((double) (var + eps)));
    for (int i = threadIdx.x; i < c; i += THREADS) out[row + i] = (x[row + i] - mu) * rs * gamma[i] + beta[i];
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = rs;
    }
}

// dx [N, C] += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dOut·gamma and x̂ = (x − μ)·rstd.
KERNEL void layer_norm_backward_dx_f32(const float* dout, const float* x, const float* gamma, const float* mean,
                                       const float* rstd, float* dx, int c) {
    __shared__ float scratch[THREADS];
    i64 row = (i64) blockIdx.x * c;
    float mu = mean[blockIdx.x], rs = rstd[blockIdx.x];
    float sum_g = 0.0f, sum_gx = 0.0f;
    for (int i = threadIdx.x; i < c; i += THREADS) {
        float g = dout[row + i] * gamma[i];
        sum_g += g;
        sum_gx += g * ((x[row + i] - mu) * rs);
    }
    float mean_g = block_sum(sum_g, scratch) / (float) c;
    float mean_gx = block_sum(sum_gx, scratch) / (float) c;
    for (int i = threadIdx.x; i < c; i += THREADS) {
        float xhat = (x[row + i] - mu) * rs;
        float g = dout[row + i] * gamma[i];
        dx[row + i] += rs * (g - mean_g - xhat * mean_gx);
    }
}

// dGamma [C] += Σ_rows dOut·x̂ and dBeta [C] += Σ_rows dOut: one thread per column, rows in order.
KERNEL void layer_norm_backward_params_f32(const float* dout, const float* x, const float* mean, const float* rstd,
                                           float* dgamma, float* dbeta, i64 rows, int c) {
    GRID_STRIDE(i, c) {
        float sum_gamma = 0.0f, sum_beta = 0.0f;
        for (i64 r = 0; r < rows; r++) {
            float dy = dout[r * c + i];
            sum_gamma += dy * ((x[r * c + i] - mean[r]) * rstd[r]);
            sum_beta += dy;
        }
        dgamma[i] += sum_gamma;
        dbeta[i] += sum_beta;
    }
}
