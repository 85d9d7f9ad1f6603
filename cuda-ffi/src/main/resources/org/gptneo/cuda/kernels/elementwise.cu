// Elementwise kernels over dense F32 tensors (n elements), grid-stride; copies, double sums,
// bias, layout swaps and the dropout mask.

// t[i] = value.
KERNEL void fill_f32(float* t, i64 n, float value) {
    GRID_STRIDE(i, n) t[i] = value;
}

// ---- copies ---------------------------------------------------------------------------------------

// dst[i] = src[i] for 32-bit elements of two views of the same shape: layout [3·rank] is shape, the
// source's strides and the destination's strides (in elements), element i taken in row-major order.
KERNEL void copy_strided_u32(const unsigned* src, unsigned* dst, const i64* layout, int rank, i64 n) {
    GRID_STRIDE(i, n) {
        i64 rest = i, from = 0, to = 0;
        for (int d = rank - 1; d >= 0; d--) {
            i64 index = rest % layout[d];
            rest /= layout[d];
            from += index * layout[rank + d];
            to += index * layout[2 * rank + d];
        }
        dst[to] = src[from];
    }
}

// float → bfloat16 bits, round to nearest even; NaN keeps its sign and becomes quiet (HalfFloats.floatToBf16).
__device__ __forceinline__ unsigned short elementwise_f32_to_bf16(float value) {
    unsigned bits = __float_as_uint(value);
    if (value != value) return (unsigned short) ((bits >> 16) | 0x0040u);
    return (unsigned short) ((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

// float → IEEE binary16 bits, round to nearest even, overflow to infinity; NaN keeps its sign and its top
// mantissa bits and becomes quiet (as Float.floatToFloat16 gives it).
__device__ __forceinline__ unsigned short elementwise_f32_to_f16(float value) {
    unsigned bits = __float_as_uint(value);
    unsigned sign = (bits >> 16) & 0x8000u;
    if (value != value) return (unsigned short) (sign | 0x7E00u | ((bits & 0x007FE000u) >> 13));
    unsigned magnitude = bits & 0x7FFFFFFFu;
    if (magnitude >= 0x477FF000u) return (unsigned short) (sign | 0x7C00u);    // ≥ 65504 + half an ulp: infinity
    if (magnitude <= 0x33000000u) return (unsigned short) sign;                // ≤ 2^-25: zero
    int exponent = (int) (magnitude >> 23) - 127;
    int shift = 13;                                                           // float mantissa bits dropped
    unsigned significand = magnitude & 0x007FFFFFu;
    if (exponent < -14) {                                                     // a binary16 subnormal
        shift += -14 - exponent;
        exponent = -15;
        significand |= 0x00800000u;
    }
    unsigned truncated = significand >> shift;
    unsigned lsb = significand & (1u << shift), round = significand & (1u << (shift - 1));
    unsigned sticky = significand & ((1u << (shift - 1)) - 1u);
    if (round != 0 && (lsb | sticky) != 0) truncated++;
    return (unsigned short) (sign | ((((unsigned) (exponent + 15)) << 10) + truncated));
}

// out[i] = bfloat16 of in[i].
KERNEL void narrow_bf16(const float* in, unsigned short* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = elementwise_f32_to_bf16(in[i]);
}

// out[i] = binary16 of in[i].
KERNEL void narrow_f16(const float* in, unsigned short* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = elementwise_f32_to_f16(in[i]);
}

// ---- arithmetic -----------------------------------------------------------------------------------

// out[i] = a[i] + b[i] (out may alias a or b).
KERNEL void add_f32(const float* a, const float* b, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// out[i] = a[i] · b[i] (out may alias a or b).
KERNEL void mul_f32(const float* a, const float* b, float* out, i64 n) {
    GRID_STRIDE(i, n) out[i] = a[i] * b[i];
}

// y[i] += alpha · x[i].
KERNEL void axpy_f32(float alpha, const float* x, float* y, i64 n) {
    GRID_STRIDE(i, n) y[i] = y[i] + alpha * x[i];
}

// t[i] *= s.
KERNEL void scale_f32(float* t, i64 n, float s) {
    GRID_STRIDE(i, n) t[i] = t[i] * s;
}

// ---- sums in double -------------------------------------------------------------------------------

// partial[block] = Σ x[i] (squares == 0) or Σ x[i]² (squares != 0) over this block's grid-stride share, in double.
KERNEL void sum_partials_f64(const float* x, i64 n, int squares, double* partial) {
    __shared__ double scratch[THREADS];
    double acc = 0.0;
    GRID_STRIDE(i, n) {
        double v = (double) x[i];
        acc += squares ? v * v : v;
    }
    double total = block_sum_double(acc, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// Σ partial[0 .. count) in double over one block, returned to every thread.
__device__ __forceinline__ double elementwise_sum_partials(const double* partial, int count, double* scratch) {
    double acc = 0.0;
    for (int b = threadIdx.x; b < count; b += THREADS) acc += partial[b];
    return block_sum_double(acc, scratch);
}

// total[0] = Σ partial[0 .. count) (one block).
KERNEL void sum_finish_f64(const double* partial, int count, double* total) {
    __shared__ double scratch[THREADS];
    double sum = elementwise_sum_partials(partial, count, scratch);
    if (threadIdx.x == 0) total[0] = sum;
}

// out[0] = (float) (out[0] + Σ partial[0 .. count)), the sum in double (one block).
KERNEL void add_sum_into_f32(const double* partial, int count, float* out) {
    __shared__ double scratch[THREADS];
    double sum = elementwise_sum_partials(partial, count, scratch);
    if (threadIdx.x == 0) out[0] = (float) ((double) out[0] + sum);
}

// ---- bias and layout ------------------------------------------------------------------------------

// x [n] += bias [c] repeated along x: x[i] += bias[i % c].
KERNEL void add_bias_f32(float* x, const float* bias, i64 n, int c) {
    GRID_STRIDE(i, n) x[i] = x[i] + bias[i % c];
}

// dBias [c] += Σ dy[i] over i ≡ j (mod c), in order of i: one thread per column j.
KERNEL void add_bias_backward_f32(const float* dy, float* d_bias, i64 n, int c) {
    GRID_STRIDE(j, c) {
        float acc = d_bias[j];
        for (i64 i = j; i < n; i += c) acc = acc + dy[i];
        d_bias[j] = acc;
    }
}

// out [A, C, B, D] = x [A, B, C, D] with the middle dimensions swapped (+ out when accumulate != 0).
KERNEL void swap_middle_f32(const float* x, float* out, int b, int c, int d, i64 n, int accumulate) {
    GRID_STRIDE(o, n) {
        i64 l = o % d, rest = o / d;
        i64 j = rest % b;
        rest /= b;
        i64 k = rest % c, i = rest / c;
        float v = x[((i * b + j) * c + k) * d + l];
        out[o] = accumulate ? out[o] + v : v;
    }
}

// ---- dropout --------------------------------------------------------------------------------------

// mask[i] = 0 where the SplitMix64 uniform of (seed, i) is below p, else keep = 1/(1 − p) (DropoutHash).
KERNEL void dropout_mask_f32(float* mask, i64 n, float p, float keep, i64 seed) {
    GRID_STRIDE(i, n) mask[i] = dropout_uniform(seed, i) < p ? 0.0f : keep;
}
