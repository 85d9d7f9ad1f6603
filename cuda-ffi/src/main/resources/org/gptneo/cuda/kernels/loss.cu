// Softmax cross-entropy over rows of logits [N, V], one block per row. As in the reference, x − max is
// taken in float, its exp in double, and the row's Σ exp in double. Targets are checked before these
// kernels run: each is ignore_index or in [0, V).

// The row's maximum and Σ_j exp(x[j] − max) in double, returned to every thread of the block.
__device__ __forceinline__ void loss_row_max_and_total(const float* x, i64 v, float* max_out, double* total_out) {
    __shared__ float max_scratch[THREADS];
    __shared__ double total_scratch[THREADS];
    float max = __uint_as_float(0xFF800000u);                              // −∞
    for (i64 j = threadIdx.x; j < v; j += blockDim.x) {
        float a = x[j];
        max = (max != max || a != a) ? (max + a) : (a > max ? a : max);     // NaN-propagating, as Math.max
    }
    max = block_max(max, max_scratch);
    double total = 0;
    for (i64 j = threadIdx.x; j < v; j += blockDim.x) total += exp((double) (x[j] - max));
    *max_out = max;
    *total_out = block_sum_double(total, total_scratch);
}

// d_row [V] += scale·(softmax(x) − onehot(target)), the softmax from the row's max and total.
__device__ __forceinline__ void loss_backward_row(const float* x, i64 v, int target, float scale, float* d_row) {
    float max;
    double total;
    loss_row_max_and_total(x, v, &max, &total);
    for (i64 j = threadIdx.x; j < v; j += blockDim.x) {
        float p = (float) (exp((double) (x[j] - max)) / total);
        float g = p - (j == target ? 1.0f : 0.0f);
        d_row[j] += scale * g;
    }
}

// losses [N] = logsumexp(logits[n]) − logits[n, targets[n]]; 0 where targets[n] == ignore_index.
KERNEL void cross_entropy_f32(const float* logits, const int* targets, i64 v, int ignore_index, float* losses) {
    i64 n = blockIdx.x;
    int target = targets[n];
    if (target == ignore_index) {
        if (threadIdx.x == 0) losses[n] = 0.0f;
        return;
    }
    const float* x = logits + n * v;
    float max;
    double total;
    loss_row_max_and_total(x, v, &max, &total);
    if (threadIdx.x == 0) losses[n] = (float) ((double) max + log(total) - (double) x[target]);
}

// d_logits [N, V] += scale·(softmax(logits[n]) − onehot(targets[n])) for the rows not ignored.
KERNEL void cross_entropy_backward_f32(const float* logits, const int* targets, i64 v, int ignore_index, float scale,
                                       float* d_logits) {
    i64 n = blockIdx.x;
    int target = targets[n];
    if (target == ignore_index) return;
    loss_backward_row(logits + n * v, v, target, scale, d_logits + n * v);
}

// As cross_entropy_backward_f32 with the scale read from device memory (*scale, see cross_entropy_mean_scale).
KERNEL void cross_entropy_backward_scaled_f32(const float* logits, const int* targets, i64 v, int ignore_index,
                                              const float* scale, float* d_logits) {
    i64 n = blockIdx.x;
    int target = targets[n];
    if (target == ignore_index) return;
    loss_backward_row(logits + n * v, v, target, *scale, d_logits + n * v);
}

// The number of targets [N] that are not ignore_index, in double, returned to every thread of the (single) block.
__device__ __forceinline__ double loss_counted(const int* targets, i64 n, int ignore_index, double* scratch) {
    double count = 0;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) count += targets[i] != ignore_index ? 1.0 : 0.0;
    return block_sum_double(count, scratch);
}

// out [1] = Σ losses [N] (in double) / the number of targets not ignored: NaN when there is none. One block.
KERNEL void cross_entropy_mean_f32(const float* losses, const int* targets, i64 n, int ignore_index, float* out) {
    __shared__ double scratch[THREADS];
    double sum = 0;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) sum += (double) losses[i];
    sum = block_sum_double(sum, scratch);
    double count = loss_counted(targets, n, ignore_index, scratch);
    if (threadIdx.x == 0) out[0] = (float) (sum / count);
}

// scale [1] = d_out[0] / the number of targets [N] not ignored, in float (the mean backward's scale). One block.
KERNEL void cross_entropy_mean_scale(const int* targets, i64 n, int ignore_index, const float* d_out, float* scale) {
    __shared__ double scratch[THREADS];
    double count = loss_counted(targets, n, ignore_index, scratch);
    if (threadIdx.x == 0) scale[0] = d_out[0] / (float) count;
}
