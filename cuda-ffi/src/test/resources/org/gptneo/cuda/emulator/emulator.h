// The CUDA kernel sources compiled as host C++ for tests (g++ -std=c++20 -include emulator.h).
// Blocks run one after another; the threads of a block are fibers (ucontext) on one OS thread,
// switched at __syncthreads(). So a kernel runs deterministically, shared memory is a static
// local of the kernel (one block lives at a time) and atomics need no locking.
// Supports what the kernel style guide allows: grid/block indices, __syncthreads, static and
// dynamic shared memory, atomicAdd/atomicMin/atomicMax, float/double math. No warp intrinsics.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cfloat>
#include <climits>

#define GPTNEO_EMULATOR 1

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

extern "C" {
extern dim3 emu_thread_idx, emu_block_idx, emu_block_dim, emu_grid_dim;
void emu_syncthreads();
void* emu_dynamic_shared();
}

#define threadIdx emu_thread_idx
#define blockIdx emu_block_idx
#define blockDim emu_block_dim
#define gridDim emu_grid_dim
#define __syncthreads() emu_syncthreads()
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict
#define KERNEL extern "C"
#define DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(emu_dynamic_shared())

inline float atomicAdd(float* p, float v) { float old = *p; *p = old + v; return old; }
inline double atomicAdd(double* p, double v) { double old = *p; *p = old + v; return old; }
inline int atomicAdd(int* p, int v) { int old = *p; *p = old + v; return old; }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    unsigned long long old = *p; if (v < old) *p = v; return old;
}
inline int atomicMin(int* p, int v) { int old = *p; if (v < old) *p = v; return old; }
inline int atomicMax(int* p, int v) { int old = *p; if (v > old) *p = v; return old; }

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
using std::sqrt; using std::exp; using std::log; using std::fabs; using std::tanh; using std::floor;
using std::fmaxf; using std::fminf; using std::sin; using std::cos; using std::pow;
