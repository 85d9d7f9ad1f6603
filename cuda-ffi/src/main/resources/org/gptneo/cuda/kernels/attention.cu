// Softmax attention, GPT-Neo's way, fused: out = dropout(softmax(mask(q·kᵀ)))·v with no 1/√hs scaling, for
// q, out [P, T, hs] (P = B·H pairs of batch row and head) and k, v [B, H, S, hs] read through their batch, head
// and row strides (a KV cache's filled slots; the last dimension is dense). Nothing T × S is materialised.
//
// Forward (flash-attention style): a block takes a tile of query rows of one pair and walks tiles of the keys
// its rows can see, staged in shared memory, keeping per row a running maximum and sum (online softmax, F32).
// It writes out and each row's log-sum-exp (row_stats [P, T]). Backward recomputes the probabilities from q·kᵀ
// and the log-sum-exp, without float atomics: one block per query tile adds dq, one per key tile adds dk, dv.
//
// The mask is softmax.cu's (softmax_visible): row i sees the keys [lo, hi). A row that sees none is uniform
// over all S keys (maskedSoftmax replaces every score by −FLT_MAX): a softmax of S equal scores, taken here as
// scores 0 over [0, S). Dropout scales probability (p, i, j) by 0 or keep = 1/(1 − p), drawn for the flat
// index (p·T + i)·S + j of [P, T, S] exactly as dropout_mask_f32 draws it.
//
// Tiles are rows × cols (query rows × keys) with rows ≤ ATTN_MAX_ROWS; the launcher picks them to fit shared
// memory. Matrices in shared memory have rows of ld = hs + 1 floats (a column read hits distinct banks).

#define ATTN_MAX_ROWS 32
#define ATTN_NEG_INF (-__uint_as_float(0x7F800000u))

// The keys [*lo, *hi) query row i of pair p attends to; returns 1 (and [0, S)) for a row that sees none.
__device__ __forceinline__ int attention_row_keys(i64 p, i64 pairs, int i, int t, int s, int window, int causal,
                                                  const int* first_keys, int batch_rows, int* lo, int* hi) {
    softmax_visible(p * t + i, t, s, pairs, window, causal, first_keys, batch_rows, lo, hi);
    if (*lo < *hi) return 0;
    *lo = 0;
    *hi = s;
    return 1;
}

// The larger of a and b, NaN-propagating like Math.max.
__device__ __forceinline__ float attention_max(float a, float b) {
    return (a != a || b != b) ? a + b : (a > b ? a : b);
}

// a · b over n floats, summed in order.
__device__ __forceinline__ float attention_dot(const float* a, const float* b, int n) {
    float sum = 0.0f;
    for (int d = 0; d < n; d++) sum += a[d] * b[d];
    return sum;
}

// The dropout factor of flat index `index`: 0 with probability p, else keep (1 without dropout).
__device__ __forceinline__ float attention_dropout(float p, float keep, i64 seed, i64 index) {
    return p > 0.0f ? (dropout_uniform(seed, index) < p ? 0.0f : keep) : 1.0f;
}

// Copies `count` rows of hs floats from src (rows `stride` apart) into tile (rows ld apart); zero rows up to `rows`.
__device__ __forceinline__ void attention_stage(float* tile, int ld, const float* src, i64 stride, int count, int rows,
                                                int hs) {
    for (int e = threadIdx.x; e < rows * hs; e += blockDim.x) {
        int r = e / hs, d = e % hs;
        tile[r * ld + d] = r < count ? src[r * stride + d] : 0.0f;
    }
}

// Zeroes `rows` rows of hs floats of tile (rows ld apart).
__device__ __forceinline__ void attention_clear(float* tile, int ld, int rows, int hs) {
    for (int e = threadIdx.x; e < rows * hs; e += blockDim.x) tile[(e / hs) * ld + e % hs] = 0.0f;
}

// The address of pair p's first row in a [B, H, S, hs] tensor with batch stride sb and head stride sh.
__device__ __forceinline__ const float* attention_pair(const float* x, i64 p, int heads, i64 sb, i64 sh) {
    return x + (p / heads) * sb + (p % heads) * sh;
}

// out [P, T, hs] and row_stats [P, T] (log-sum-exp). Grid: P · ⌈T / rows⌉ blocks, block b taking query rows
// [(b mod ⌈T/rows⌉)·rows, +rows) of pair b / ⌈T/rows⌉. k and v: batch, head and row strides (kb, kh, kr), (vb, vh, vr).
// Dynamic shared: 2·rows·(hs + 1) + 2·cols·(hs + 1) + rows·(cols + 1) floats.
KERNEL void attention_forward_f32(const float* q, const float* k, const float* v, float* out, float* row_stats,
                                  int t, int s, int hs, int heads, i64 kb, i64 kh, i64 kr, i64 vb, i64 vh, i64 vr,
                                  int window, int causal, const int* first_keys, int batch_rows,
                                  float p, float keep, i64 seed, int rows, int cols) {
    DYNAMIC_SHARED(float, shared);
    __shared__ int row_lo[ATTN_MAX_ROWS], row_hi[ATTN_MAX_ROWS], row_uniform[ATTN_MAX_ROWS];
    __shared__ float row_max[ATTN_MAX_ROWS], row_sum[ATTN_MAX_ROWS], row_scale[ATTN_MAX_ROWS];
    int ld = hs + 1, lp = cols + 1;
    float* q_tile = shared;                    // [rows, ld]
    float* o_tile = q_tile + rows * ld;        // [rows, ld]: Σ exp(score − max)·dropout·v
    float* k_tile = o_tile + rows * ld;        // [cols, ld]
    float* v_tile = k_tile + cols * ld;        // [cols, ld]
    float* probs = v_tile + cols * ld;         // [rows, lp]: scores, then exp(score − max)·dropout
    int tiles = (t + rows - 1) / rows;
    i64 pairs = gridDim.x / tiles, pair = blockIdx.x / tiles;
    int i0 = (int) (blockIdx.x % tiles) * rows, count = t - i0 < rows ? t - i0 : rows;
    const float* kp = attention_pair(k, pair, heads, kb, kh);
    const float* vp = attention_pair(v, pair, heads, vb, vh);
    for (int r = threadIdx.x; r < rows; r += blockDim.x) {
        row_lo[r] = row_hi[r] = row_uniform[r] = 0;
        if (r < count) {
            row_uniform[r] = attention_row_keys(pair, pairs, i0 + r, t, s, window, causal, first_keys, batch_rows,
                                                &row_lo[r], &row_hi[r]);
        }
        row_max[r] = ATTN_NEG_INF;
        row_sum[r] = 0.0f;
    }
    attention_stage(q_tile, ld, q + (pair * t + i0) * hs, hs, count, rows, hs);
    attention_clear(o_tile, ld, rows, hs);
    __syncthreads();
    int lo = s, hi = 0;                        // the keys any row of the tile sees
    for (int r = 0; r < count; r++) {
        lo = row_lo[r] < lo ? row_lo[r] : lo;
        hi = row_hi[r] > hi ? row_hi[r] : hi;
    }
    for (int j0 = lo; j0 < hi; j0 += cols) {
        int width = hi - j0 < cols ? hi - j0 : cols;
        attention_stage(k_tile, ld, kp + j0 * kr, kr, width, cols, hs);
        attention_stage(v_tile, ld, vp + j0 * vr, vr, width, cols, hs);
        __syncthreads();
        for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {    // scores; hidden: −∞
            int r = e / cols, c = e % cols, j = j0 + c;
            float score = ATTN_NEG_INF;
            if (r < count && c < width && j >= row_lo[r] && j < row_hi[r]) {
                score = row_uniform[r] ? 0.0f : attention_dot(q_tile + r * ld, k_tile + c * ld, hs);
            }
            probs[r * lp + c] = score;
        }
        __syncthreads();
        for (int r = threadIdx.x; r < count; r += blockDim.x) {          // online softmax, one thread per row
            float* row = probs + r * lp;
            float max = row_max[r];
            for (int c = 0; c < width; c++) max = attention_max(max, row[c]);
            float sum = 0.0f;
            i64 index = (pair * t + i0 + r) * s + j0;
            for (int c = 0; c < width; c++) {
                float e = row[c] == ATTN_NEG_INF ? 0.0f : expf(row[c] - max);
                sum += e;
                row[c] = e * attention_dropout(p, keep, seed, index + c);
            }
            float scale = max == ATTN_NEG_INF ? 1.0f : expf(row_max[r] - max);
            row_sum[r] = row_sum[r] * scale + sum;
            row_max[r] = max;
            row_scale[r] = scale;
        }
        __syncthreads();
        for (int e = threadIdx.x; e < count * hs; e += blockDim.x) {      // o = o·scale + P·v
            int r = e / hs, d = e % hs;
            const float* row = probs + r * lp;
            float acc = 0.0f;
            for (int c = 0; c < width; c++) acc += row[c] * v_tile[c * ld + d];
            o_tile[r * ld + d] = o_tile[r * ld + d] * row_scale[r] + acc;
        }
        __syncthreads();
    }
    for (int e = threadIdx.x; e < count * hs; e += blockDim.x) {
        int r = e / hs, d = e % hs;
        out[(pair * t + i0 + r) * hs + d] = o_tile[r * ld + d] / row_sum[r];
    }
    for (int r = threadIdx.x; r < count; r += blockDim.x) row_stats[pair * t + i0 + r] = row_max[r] + logf(row_sum[r]);
}

// dots[n] = Σ_d d_out[n, d]·out[n, d] for rows [N, hs]: Σ_j P·dP of the softmax backward (dropout included).
KERNEL void attention_row_dots_f32(const float* out, const float* d_out, float* dots, i64 n, int hs) {
    GRID_STRIDE(row, n) dots[row] = attention_dot(d_out + row * hs, out + row * hs, hs);
}

// The gradient of score (pair, i, j) for a visible key: dS = P·(dP − D) with P = exp(score − lse),
// dP = (dO·v)·dropout; *dropped = P·dropout (the probability that multiplied v).
__device__ __forceinline__ float attention_dscore(const float* q_row, const float* k_row, const float* do_row,
                                                  const float* v_row, int hs, int uniform, float lse, float dot,
                                                  float factor, float* dropped) {
    float score = uniform ? 0.0f : attention_dot(q_row, k_row, hs);
    float prob = expf(score - lse);
    *dropped = prob * factor;
    return prob * (attention_dot(do_row, v_row, hs) * factor - dot);
}

// dq [P, T, hs] += dS·k, one block per query tile as in the forward (same grid). row_stats: the forward's
// log-sum-exp; dots: attention_row_dots_f32. Dynamic shared: 3·rows·(hs + 1) + 2·cols·(hs + 1) + rows·(cols + 1).
KERNEL void attention_backward_dq_f32(const float* q, const float* k, const float* v, const float* d_out,
                                      const float* row_stats, const float* dots, float* dq,
                                      int t, int s, int hs, int heads, i64 kb, i64 kh, i64 kr, i64 vb, i64 vh, i64 vr,
                                      int window, int causal, const int* first_keys, int batch_rows,
                                      float p, float keep, i64 seed, int rows, int cols) {
    DYNAMIC_SHARED(float, shared);
    __shared__ int row_lo[ATTN_MAX_ROWS], row_hi[ATTN_MAX_ROWS], row_uniform[ATTN_MAX_ROWS];
    __shared__ float row_lse[ATTN_MAX_ROWS], row_dot[ATTN_MAX_ROWS];
    int ld = hs + 1, lp = cols + 1;
    float* q_tile = shared;                    // [rows, ld]
    float* do_tile = q_tile + rows * ld;       // [rows, ld]
    float* dq_tile = do_tile + rows * ld;      // [rows, ld]
    float* k_tile = dq_tile + rows * ld;       // [cols, ld]
    float* v_tile = k_tile + cols * ld;        // [cols, ld]
    float* ds = v_tile + cols * ld;            // [rows, lp]
    int tiles = (t + rows - 1) / rows;
    i64 pairs = gridDim.x / tiles, pair = blockIdx.x / tiles;
    int i0 = (int) (blockIdx.x % tiles) * rows, count = t - i0 < rows ? t - i0 : rows;
    const float* kp = attention_pair(k, pair, heads, kb, kh);
    const float* vp = attention_pair(v, pair, heads, vb, vh);
    for (int r = threadIdx.x; r < rows; r += blockDim.x) {
        row_lo[r] = row_hi[r] = row_uniform[r] = 0;
        if (r < count) {
            row_uniform[r] = attention_row_keys(pair, pairs, i0 + r, t, s, window, causal, first_keys, batch_rows,
                                                &row_lo[r], &row_hi[r]);
            row_lse[r] = row_stats[pair * t + i0 + r];
            row_dot[r] = dots[pair * t + i0 + r];
        }
    }
    attention_stage(q_tile, ld, q + (pair * t + i0) * hs, hs, count, rows, hs);
    attention_stage(do_tile, ld, d_out + (pair * t + i0) * hs, hs, count, rows, hs);
    attention_clear(dq_tile, ld, rows, hs);
    __syncthreads();
    int lo = s, hi = 0;
    for (int r = 0; r < count; r++) {
        lo = row_lo[r] < lo ? row_lo[r] : lo;
        hi = row_hi[r] > hi ? row_hi[r] : hi;
    }
    for (int j0 = lo; j0 < hi; j0 += cols) {
        int width = hi - j0 < cols ? hi - j0 : cols;
        attention_stage(k_tile, ld, kp + j0 * kr, kr, width, cols, hs);
        attention_stage(v_tile, ld, vp + j0 * vr, vr, width, cols, hs);
        __syncthreads();
        for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
            int r = e / cols, c = e % cols, j = j0 + c;
            float grad = 0.0f, dropped;
            if (r < count && c < width && j >= row_lo[r] && j < row_hi[r]) {
                float factor = attention_dropout(p, keep, seed, (pair * t + i0 + r) * s + j);
                grad = attention_dscore(q_tile + r * ld, k_tile + c * ld, do_tile + r * ld, v_tile + c * ld, hs,
                                        row_uniform[r], row_lse[r], row_dot[r], factor, &dropped);
            }
            ds[r * lp + c] = grad;
        }
        __syncthreads();
        for (int e = threadIdx.x; e < count * hs; e += blockDim.x) {      // dq += dS·k
            int r = e / hs, d = e % hs;
            const float* row = ds + r * lp;
            float acc = 0.0f;
            for (int c = 0; c < width; c++) acc += row[c] * k_tile[c * ld + d];
            dq_tile[r * ld + d] += acc;
        }
        __syncthreads();
    }
    for (int e = threadIdx.x; e < count * hs; e += blockDim.x) {
        int r = e / hs, d = e % hs;
        dq[(pair * t + i0 + r) * hs + d] += dq_tile[r * ld + d];
    }
}

// dk, dv [P, S, hs] += dSᵀ·q and (P ⊙ dropout)ᵀ·dO (either may be null: not wanted). Grid: P · ⌈S / cols⌉
// blocks, block b taking keys [(b mod ⌈S/cols⌉)·cols, +cols) of pair b / ⌈S/cols⌉ and walking the tiles of
// query rows from the first to the last row that sees one of them. Dynamic shared: 4·cols·(hs + 1) +
// 2·rows·(hs + 1) + 2·rows·(cols + 1) floats.
KERNEL void attention_backward_dkdv_f32(const float* q, const float* k, const float* v, const float* d_out,
                                        const float* row_stats, const float* dots, float* dk, float* dv,
                                        int t, int s, int hs, int heads, i64 kb, i64 kh, i64 kr, i64 vb, i64 vh,
                                        i64 vr, int window, int causal, const int* first_keys, int batch_rows,
                                        float p, float keep, i64 seed, int rows, int cols) {
    DYNAMIC_SHARED(float, shared);
    __shared__ int row_lo[ATTN_MAX_ROWS], row_hi[ATTN_MAX_ROWS], row_uniform[ATTN_MAX_ROWS];
    __shared__ float row_lse[ATTN_MAX_ROWS], row_dot[ATTN_MAX_ROWS];
    __shared__ int first_row, last_row;
    int ld = hs + 1, lp = cols + 1;
    float* k_tile = shared;                    // [cols, ld]
    float* v_tile = k_tile + cols * ld;        // [cols, ld]
    float* dk_tile = v_tile + cols * ld;       // [cols, ld]
    float* dv_tile = dk_tile + cols * ld;      // [cols, ld]
    float* q_tile = dv_tile + cols * ld;       // [rows, ld]
    float* do_tile = q_tile + rows * ld;       // [rows, ld]
    float* ds = do_tile + rows * ld;           // [rows, lp]
    float* dropped = ds + rows * lp;           // [rows, lp]
    int tiles = (s + cols - 1) / cols;
    i64 pairs = gridDim.x / tiles, pair = blockIdx.x / tiles;
    int j0 = (int) (blockIdx.x % tiles) * cols, width = s - j0 < cols ? s - j0 : cols;
    attention_stage(k_tile, ld, attention_pair(k, pair, heads, kb, kh) + j0 * kr, kr, width, cols, hs);
    attention_stage(v_tile, ld, attention_pair(v, pair, heads, vb, vh) + j0 * vr, vr, width, cols, hs);
    attention_clear(dk_tile, ld, cols, hs);
    attention_clear(dv_tile, ld, cols, hs);
    if (threadIdx.x == 0) {
        first_row = t;
        last_row = -1;
    }
    __syncthreads();
    int first = t, last = -1;                  // the rows that see one of keys [j0, j0 + width)
    for (int i = threadIdx.x; i < t; i += blockDim.x) {
        int lo, hi;
        attention_row_keys(pair, pairs, i, t, s, window, causal, first_keys, batch_rows, &lo, &hi);
        if (lo < j0 + width && hi > j0) {
            first = i < first ? i : first;
            last = i;
        }
    }
    atomicMin(&first_row, first);
    atomicMax(&last_row, last);
    __syncthreads();
    for (int i0 = first_row / rows * rows; i0 <= last_row; i0 += rows) {
        int count = t - i0 < rows ? t - i0 : rows;
        for (int r = threadIdx.x; r < rows; r += blockDim.x) {
            row_lo[r] = row_hi[r] = row_uniform[r] = 0;
            if (r < count) {
                row_uniform[r] = attention_row_keys(pair, pairs, i0 + r, t, s, window, causal, first_keys,
                                                    batch_rows, &row_lo[r], &row_hi[r]);
                row_lse[r] = row_stats[pair * t + i0 + r];
                row_dot[r] = dots[pair * t + i0 + r];
            }
        }
        attention_stage(q_tile, ld, q + (pair * t + i0) * hs, hs, count, rows, hs);
        attention_stage(do_tile, ld, d_out + (pair * t + i0) * hs, hs, count, rows, hs);
        __syncthreads();
        for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
            int r = e / cols, c = e % cols, j = j0 + c;
            float grad = 0.0f, prob = 0.0f;
            if (r < count && c < width && j >= row_lo[r] && j < row_hi[r]) {
                float factor = attention_dropout(p, keep, seed, (pair * t + i0 + r) * s + j);
                grad = attention_dscore(q_tile + r * ld, k_tile + c * ld, do_tile + r * ld, v_tile + c * ld, hs,
                                        row_uniform[r], row_lse[r], row_dot[r], factor, &prob);
            }
            ds[r * lp + c] = grad;
            dropped[r * lp + c] = prob;
        }
        __syncthreads();
        for (int e = threadIdx.x; e < width * hs; e += blockDim.x) {      // dk += dSᵀ·q, dv += (P ⊙ dropout)ᵀ·dO
            int c = e / hs, d = e % hs;
            float acc_k = 0.0f, acc_v = 0.0f;
            for (int r = 0; r < count; r++) {
                acc_k += ds[r * lp + c] * q_tile[r * ld + d];
                acc_v += dropped[r * lp + c] * do_tile[r * ld + d];
            }
            dk_tile[c * ld + d] += acc_k;
            dv_tile[c * ld + d] += acc_v;
        }
        __syncthreads();
    }
    for (int e = threadIdx.x; e < width * hs; e += blockDim.x) {
        int c = e / hs, d = e % hs;
        i64 at = (pair * s + j0 + c) * hs + d;
        if (dk != 0) dk[at] += dk_tile[c * ld + d];
        if (dv != 0) dv[at] += dv_tile[c * ld + d];
    }
}
