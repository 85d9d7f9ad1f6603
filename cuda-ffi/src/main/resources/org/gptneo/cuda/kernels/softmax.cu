// The masked softmax of attention and its backward, one block per row of scores [..., T, S].

// What a hidden score is replaced by: the float32 minimum, −FLT_MAX (no <cfloat> under NVRTC).
#define SOFTMAX_HIDDEN (-3.40282347e+38f)

// The key range [lo, hi) query row r may see, as AttentionMask.firstVisible/endVisible define it.
// first_keys: per batch row the first key that is not padding (null: none), batch_rows of them.
__device__ __forceinline__ void softmax_visible(i64 r, int t, int s, i64 matrices, int window, int causal,
                                                const int* first_keys, int batch_rows, int* lo, int* hi) {
    int query = s - t + (int) (r % t);
    i64 end = causal ? query + 1ll : (window > 0 ? (i64) query + window : (i64) s);
    end = end < 0 ? 0 : (end > s ? s : end);
    int first = window > 0 ? (query - window + 1 > 0 ? query - window + 1 : 0) : 0;
    if (first_keys != 0) {
        int b = (int) ((r / t) / (matrices / batch_rows));
        first = first > first_keys[b] ? first : first_keys[b];
    }
    *hi = (int) end;
    *lo = first < (int) end ? first : (int) end;
}

// probs = softmax(scores) with hidden scores replaced by SOFTMAX_HIDDEN (a row with no visible key is uniform).
KERNEL void masked_softmax_f32(const float* scores, float* probs, int t, int s, i64 matrices, int window, int causal,
                               const int* first_keys, int batch_rows) {
    __shared__ float scratch[THREADS];
    i64 r = blockIdx.x;
    if (r >= matrices * t) return;
    int lo, hi;
    softmax_visible(r, t, s, matrices, window, causal, first_keys, batch_rows, &lo, &hi);
    const float* row = scores + r * s;
    float local_max = -__uint_as_float(0x7F800000u);
    for (int j = threadIdx.x; j < s; j += THREADS) {
        float v = (j >= lo && j < hi) ? row[j] : SOFTMAX_HIDDEN;
        local_max = (local_max != local_max || v != v) ? local_max + v : (v > local_max ? v : local_max);
    }
    float max = block_max(local_max, scratch);
    float partial = 0.0f;
    for (int j = threadIdx.x; j < s; j += THREADS) {
        float v = (j >= lo && j < hi) ? row[j] : SOFTMAX_HIDDEN;
        partial += expf(v - max);
    }
    float total = block_sum(partial, scratch);
    for (int j = threadIdx.x; j < s; j += THREADS) {
        float v = (j >= lo && j < hi) ? row[j] : SOFTMAX_HIDDEN;
        probs[r * s + j] = expf(v - max) / total;
    }
}

// dScores += probs ⊙ (dProbs − Σ_j probs·dProbs), row by row.
KERNEL void softmax_backward_f32(const float* probs, const float* dprobs, float* dscores, i64 rows, int s) {
    __shared__ float scratch[THREADS];
    i64 r = blockIdx.x;
    if (r >= rows) return;
    const float* p = probs + r * s;
    const float* dp = dprobs + r * s;
    float partial = 0.0f;
    for (int j = threadIdx.x; j < s; j += THREADS) partial += p[j] * dp[j];
    float dot = block_sum(partial, scratch);
    for (int j = threadIdx.x; j < s; j += THREADS) dscores[r * s + j] += p[j] * (dp[j] - dot);
}
