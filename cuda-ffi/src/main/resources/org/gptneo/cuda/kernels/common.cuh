// Shared by every kernel file; the files are concatenated after this one into one program.
// On a GPU NVRTC compiles the program (--fmad=false, so a*b+c rounds twice as on the CPU backend).
// The test suite compiles the same text as host C++ with emulator.h, which defines KERNEL and
// DYNAMIC_SHARED itself (see cuda-ffi/src/test/resources/org/gptneo/cuda/emulator).
//
// Style every kernel keeps (so that the emulator runs it as the GPU does):
// - kernels are `KERNEL void name(...)` with arguments of type T*, long long, int or float only;
// - block-level cooperation through __shared__ memory and __syncthreads() only (no warp intrinsics);
// - reductions are block-wide trees over a power-of-two blockDim.x (THREADS below);
// - no device-side allocation, printf or recursion.
#ifndef GPTNEO_EMULATOR
#define KERNEL extern "C" __global__
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

typedef long long i64;

// The block size of every per-row kernel (Launch.THREADS on the Java side).
#define THREADS 256

// i runs over [0, n) spread over the whole grid.
#define GRID_STRIDE(i, n) for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

// ---- storage formats ---------------------------------------------------------------------------

// bfloat16 is the top half of a float: widening is exact.
__device__ __forceinline__ float bf16_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned) h) << 16);
}

// IEEE binary16 to float, exactly (normals, subnormals, infinities, NaN).
__device__ __forceinline__ float f16_to_f32(unsigned short h) {
    unsigned sign = ((unsigned) h & 0x8000u) << 16;
    unsigned exponent = ((unsigned) h >> 10) & 0x1Fu;
    unsigned mantissa = (unsigned) h & 0x3FFu;
    if (exponent == 0x1Fu) return __uint_as_float(sign | 0x7F800000u | (mantissa << 13));   // inf, NaN
    if (exponent != 0) return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    float magnitude = (float) mantissa * 5.9604644775390625e-8f;                             // m · 2^-24, exact
    return sign ? -magnitude : magnitude;
}

// Q8 (see Q8Blocks): blocks of 32 int8 values followed by a little-endian float scale (36 bytes).
#define Q8_BLOCK 32
#define Q8_BLOCK_BYTES 36

__device__ __forceinline__ float q8_get(const unsigned char* data, i64 index) {
    const unsigned char* block = data + (index / Q8_BLOCK) * Q8_BLOCK_BYTES;
    unsigned scale_bits = (unsigned) block[32] | ((unsigned) block[33] << 8) | ((unsigned) block[34] << 16)
            | ((unsigned) block[35] << 24);
    return (float) (signed char) block[index % Q8_BLOCK] * __uint_as_float(scale_bits);
}

// ---- dropout ---------------------------------------------------------------------------------------

// A uniform float in [0, 1) from SplitMix64 of seed and index (DropoutHash.uniform).
__device__ __forceinline__ float dropout_uniform(i64 seed, i64 index) {
    unsigned long long z = (unsigned long long) seed + ((unsigned long long) index + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (float) (z >> 40) * 5.9604644775390625e-8f;    // · 2^-24
}

// ---- block reductions (blockDim.x == THREADS, every thread calls them) ------------------------------

// The sum of v over the block, returned to every thread. Uses scratch[THREADS].
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int) threadIdx.x < half) scratch[threadIdx.x] += scratch[threadIdx.x + half];
        __syncthreads();
    }
    float total = scratch[0];
    __syncthreads();
    return total;
}

__device__ __forceinline__ double block_sum_double(double v, double* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int) threadIdx.x < half) scratch[threadIdx.x] += scratch[threadIdx.x + half];
        __syncthreads();
    }
    double total = scratch[0];
    __syncthreads();
    return total;
}

// The maximum of v over the block (NaN-propagating like Math.max), returned to every thread.
__device__ __forceinline__ float block_max(float v, float* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int) threadIdx.x < half) {
            float a = scratch[threadIdx.x], b = scratch[threadIdx.x + half];
            scratch[threadIdx.x] = (a != a || b != b) ? (a + b) : (a > b ? a : b);
        }
        __syncthreads();
    }
    float total = scratch[0];
    __syncthreads();
    return total;
}
