// Few-row products for decode: y [R, N] = alpha·x [R, K]·wᵀ + beta·y with F32 activations x (R ≤ GEMV_MAX_ROWS
// rows) and a weight w [N, K] stored narrow (BF16, F16 or Q8). The weight, which is what batch-1 decode
// streams from memory, is read once, in its stored width, and widened exactly in registers.
//
// Each weight row (an output column) belongs to one group of GEMV_LANES threads. Lane l sums the products
// for k = l, l + GEMV_LANES, ... in increasing k; then the lanes' sums are added in a fixed tree (lane l
// takes l + 16, then l + 8, ..., 1). No atomics: an output depends on neither R, the other rows of x, nor
// the grid.

#define GEMV_MAX_ROWS 8
#define GEMV_LANES 32
#define GEMV_GROUPS (THREADS / GEMV_LANES)   // weight rows per block

struct GemvBf16 {
    static __device__ __forceinline__ float at(const void* w, i64 i) { return bf16_to_f32(((const unsigned short*) w)[i]); }
};

struct GemvF16 {
    static __device__ __forceinline__ float at(const void* w, i64 i) { return f16_to_f32(((const unsigned short*) w)[i]); }
};

struct GemvQ8 {
    static __device__ __forceinline__ float at(const void* w, i64 i) { return q8_get((const unsigned char*) w, i); }
};

// The body of the gemv kernels; partial is the block's shared [GEMV_MAX_ROWS][THREADS].
template <typename Weight>
__device__ __forceinline__ void gemv_rows(const float* x, const void* w, float* y, int rows, int n, int k, float alpha,
                                          float beta, float* partial) {
    int lane = threadIdx.x % GEMV_LANES;
    i64 col = (i64) blockIdx.x * GEMV_GROUPS + threadIdx.x / GEMV_LANES;
    float acc[GEMV_MAX_ROWS];
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.0f;
    if (col < n) {
        const i64 base = col * k;
        int i = lane;
        // four weight loads in flight per lane before they are used; the sums keep the order of the tail loop
        for (; i + 3 * GEMV_LANES < k; i += 4 * GEMV_LANES) {
            float w0 = Weight::at(w, base + i), w1 = Weight::at(w, base + i + GEMV_LANES);
            float w2 = Weight::at(w, base + i + 2 * GEMV_LANES), w3 = Weight::at(w, base + i + 3 * GEMV_LANES);
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    const float* xr = x + (i64) r * k + i;
                    acc[r] += xr[0] * w0;
                    acc[r] += xr[GEMV_LANES] * w1;
                    acc[r] += xr[2 * GEMV_LANES] * w2;
                    acc[r] += xr[3 * GEMV_LANES] * w3;
                }
            }
        }
        for (; i < k; i += GEMV_LANES) {
            float wi = Weight::at(w, base + i);
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) acc[r] += x[(i64) r * k + i] * wi;
            }
        }
    }
    for (int r = 0; r < GEMV_MAX_ROWS; r++) partial[r * THREADS + threadIdx.x] = acc[r];
    __syncthreads();
    for (int half = GEMV_LANES / 2; half > 0; half /= 2) {
        if (lane < half) {
            for (int r = 0; r < GEMV_MAX_ROWS; r++) partial[r * THREADS + threadIdx.x] += partial[r * THREADS + threadIdx.x + half];
        }
        __syncthreads();
    }
    if (lane == 0 && col < n) {
        for (int r = 0; r < rows; r++) {
            float dot = partial[r * THREADS + threadIdx.x];
            i64 at = (i64) r * n + col;
            y[at] = beta == 0.0f ? alpha * dot : alpha * dot + beta * y[at];
        }
    }
}

// y [rows, n] = alpha·x [rows, k]·wᵀ + beta·y (y ignored when beta is 0) for BF16 w [n, k]; grid ⌈n / GEMV_GROUPS⌉.
KERNEL void gemv_bf16(const float* x, const unsigned short* w, float* y, int rows, int n, int k, float alpha, float beta) {
    __shared__ float partial[GEMV_MAX_ROWS * THREADS];
    gemv_rows<GemvBf16>(x, w, y, rows, n, k, alpha, beta, partial);
}

// The same for F16 w [n, k].
KERNEL void gemv_f16(const float* x, const unsigned short* w, float* y, int rows, int n, int k, float alpha, float beta) {
    __shared__ float partial[GEMV_MAX_ROWS * THREADS];
    gemv_rows<GemvF16>(x, w, y, rows, n, k, alpha, beta, partial);
}

// The same for Q8 w [n, k] (rows of whole blocks: element col·k + i is q8_get's element col·k + i).
KERNEL void gemv_q8(const float* x, const unsigned char* w, float* y, int rows, int n, int k, float alpha, float beta) {
    __shared__ float partial[GEMV_MAX_ROWS * THREADS];
    gemv_rows<GemvQ8>(x, w, y, rows, n, k, alpha, beta, partial);
}
