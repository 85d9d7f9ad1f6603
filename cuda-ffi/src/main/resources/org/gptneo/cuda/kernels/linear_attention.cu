// Causal linear attention, one block per (batch, head) pair p walking its tokens in order. The prefix sums
// live in a per-pair buffer (O(d·e), never one per token); rows of the current token are staged in shared
// memory. Loops over d and e stride by blockDim.x, so any head size runs on any block size.

// Forward, for q, k [P, T, d], v, out [P, T, e] with P = B·H: S = Σ_{m≤n} k[m]ᵀ·v[m] (state [P, d, e]) and
// z = Σ_{m≤n} k[m] (normaliser [P, d]) run from their values on entry, out[n] = (q[n]·S) / (q[n]·(z + eps)),
// and state and normaliser hold the sums of all tokens on exit. Thread j owns column j of S.
// Same float operations in the same order as the reference. Dynamic shared: 3·d floats.
KERNEL void linear_attention_causal_f32(const float* q, const float* k, const float* v, int t, int d, int e, float eps,
                                        float* state, float* normaliser, float* out) {
    DYNAMIC_SHARED(float, shared);
    float* z = shared;                 // [d]
    float* q_row = shared + d;         // [d]
    float* k_row = shared + 2 * d;     // [d]
    i64 p = blockIdx.x;
    float* s = state + p * d * e;      // [d, e]
    for (int i = threadIdx.x; i < d; i += blockDim.x) z[i] = normaliser[p * d + i];
    for (int n = 0; n < t; n++) {
        i64 qk = (p * t + n) * d, vo = (p * t + n) * e;
        __syncthreads();               // the previous token's rows are read
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            q_row[i] = q[qk + i];
            k_row[i] = k[qk + i];
            z[i] += k_row[i];
        }
        __syncthreads();
        float den = 0.0f;
        for (int i = 0; i < d; i++) den += q_row[i] * (z[i] + eps);
        for (int j = threadIdx.x; j < e; j += blockDim.x) {
            float vj = v[vo + j], num = 0.0f;
            for (int i = 0; i < d; i++) s[(i64) i * e + j] += k_row[i] * vj;
            for (int i = 0; i < d; i++) num += q_row[i] * s[(i64) i * e + j];
            out[vo + j] = num / den;
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < d; i += blockDim.x) normaliser[p * d + i] = z[i];
}

// Backward (from no state), with D[n] = q[n]·(z[n] + eps), g = d_out and dD[n] = −(g[n]·out[n]) / D[n]:
// dq[n] += S[n]·(g[n]/D[n]) + dD[n]·(z[n] + eps); with the suffix sums R[m] = Σ_{n≥m} q[n]ᵀ·(g[n]/D[n]) [d, e]
// and r[m] = Σ_{n≥m} dD[n]·q[n] [d]: dk[m] += R[m]·v[m] + r[m] and dv[m] += k[m]·R[m].
// A forward pass recomputes S (and keeps D, dD in den, d_den [P, T]), a reverse pass accumulates R and r.
// sums [P, e, d] (zero on entry) holds S, then R, transposed: thread i owns row i, element (i, j) at j·d + i.
// Dynamic shared: 3·d + 4·e floats.
KERNEL void linear_attention_causal_backward_f32(const float* q, const float* k, const float* v, int t, int d, int e,
                                                 float eps, const float* out, const float* d_out, float* sums,
                                                 float* den, float* d_den, float* dq, float* dk, float* dv) {
    DYNAMIC_SHARED(float, shared);
    float* z = shared;                 // [d]: z, then r
    float* q_row = shared + d;         // [d]
    float* k_row = shared + 2 * d;     // [d]
    float* v_row = shared + 3 * d;     // [e]
    float* g_row = v_row + e;          // [e]: g[n]
    float* o_row = g_row + e;          // [e]: out[n]
    float* gd_row = o_row + e;         // [e]: g[n] / D[n]
    i64 p = blockIdx.x;
    float* s = sums + p * d * e;       // [e, d]
    for (int i = threadIdx.x; i < d; i += blockDim.x) z[i] = 0.0f;
    for (int n = 0; n < t; n++) {      // forward pass: S[n], z[n], D[n], dD[n] and dq[n]
        i64 qk = (p * t + n) * d, vo = (p * t + n) * e;
        __syncthreads();
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            q_row[i] = q[qk + i];
            k_row[i] = k[qk + i];
            z[i] += k_row[i];
        }
        for (int j = threadIdx.x; j < e; j += blockDim.x) {
            v_row[j] = v[vo + j];
            g_row[j] = d_out[vo + j];
            o_row[j] = out[vo + j];
        }
        __syncthreads();
        float dn = 0.0f, g_dot_out = 0.0f;
        for (int i = 0; i < d; i++) dn += q_row[i] * (z[i] + eps);
        for (int j = 0; j < e; j++) g_dot_out += g_row[j] * o_row[j];
        float d_dn = -g_dot_out / dn;
        if (threadIdx.x == 0) {
            den[p * t + n] = dn;
            d_den[p * t + n] = d_dn;
        }
        for (int j = threadIdx.x; j < e; j += blockDim.x) gd_row[j] = g_row[j] / dn;
        __syncthreads();
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            float grad = 0.0f;
            for (int j = 0; j < e; j++) {
                float* sij = s + (i64) j * d + i;
                *sij += k_row[i] * v_row[j];                 // S += k[n]ᵀ·v[n]
                grad += *sij * gd_row[j];
            }
            dq[qk + i] += grad + d_dn * (z[i] + eps);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < d; i += blockDim.x) {    // R = 0 (each thread its own row), r = 0
        for (int j = 0; j < e; j++) s[(i64) j * d + i] = 0.0f;
        z[i] = 0.0f;
    }
    for (int m = t - 1; m >= 0; m--) { // reverse pass: R[m], r[m], then dk[m] and dv[m]
        i64 qk = (p * t + m) * d, vo = (p * t + m) * e;
        float dn = den[p * t + m], d_dn = d_den[p * t + m];
        __syncthreads();
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            q_row[i] = q[qk + i];
            k_row[i] = k[qk + i];
        }
        for (int j = threadIdx.x; j < e; j += blockDim.x) {
            v_row[j] = v[vo + j];
            gd_row[j] = d_out[vo + j] / dn;
        }
        __syncthreads();
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            z[i] += d_dn * q_row[i];                           // r += dD[m]·q[m]
            float grad = 0.0f;
            for (int j = 0; j < e; j++) {
                float* rij = s + (i64) j * d + i;
                *rij += q_row[i] * gd_row[j];                   // R += q[m]ᵀ·(g[m]/D[m])
                grad += *rij * v_row[j];
            }
            dk[qk + i] += grad + z[i];
        }
        __syncthreads();
        for (int j = threadIdx.x; j < e; j += blockDim.x) {
            float grad = 0.0f;
            for (int i = 0; i < d; i++) grad += k_row[i] * s[(i64) j * d + i];
            dv[vo + j] += grad;
        }
    }
}
