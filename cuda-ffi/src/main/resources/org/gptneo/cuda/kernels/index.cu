// Index kernels over I32 tensors.

// *first = min(*first, i) over the ids[i] outside [lo, hi) that are not `allowed`
// (*first starts at ~0ull: none found).
KERNEL void first_out_of_range(const int* ids, i64 n, int lo, int hi, int allowed, unsigned long long* first) {
    GRID_STRIDE(i, n) {
        int id = ids[i];
        if ((id < lo || id >= hi) && id != allowed) atomicMin(first, (unsigned long long) i);
    }
}

// out [n / t, t] = 0, 1, …, t − 1 in every row.
KERNEL void iota_i32(int* out, i64 n, int t) {
    GRID_STRIDE(i, n) out[i] = (int) (i % t);
}

// quotient[i] = x[i] / divisor, remainder[i] = x[i] % divisor (x ≥ 0, divisor ≥ 1).
KERNEL void div_mod_i32(const int* x, int* quotient, int* remainder, i64 n, int divisor) {
    GRID_STRIDE(i, n) {
        int v = x[i];
        quotient[i] = v / divisor;
        remainder[i] = v % divisor;
    }
}

// targets [B·T] = labels [B, T] shifted left by one in each row, fill in each last column.
KERNEL void shift_left_i32(const int* labels, int* targets, i64 n, int t, int fill) {
    GRID_STRIDE(i, n) targets[i] = (i % t) + 1 < t ? labels[i + 1] : fill;
}
