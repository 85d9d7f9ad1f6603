// Index kernels over I32 tensors.

// *first = min(*first, i) over the ids[i] outside [lo, hi) that are not `allowed`
// (*first starts at ~0ull: none found).
KERNEL void first_out_of_range(const int* ids, i64 n, int lo, int hi, int allowed, unsigned long long* first) {
    GRID_STRIDE(i, n) {
        int id = ids[i];
        if ((id < lo || id >= hi) && id != allowed) atomicMin(first, (unsigned long long) i);
    }
}
