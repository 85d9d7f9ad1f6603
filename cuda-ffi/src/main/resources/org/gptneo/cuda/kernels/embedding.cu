// Token embedding lookup (tables in F32, BF16, F16 or Q8, widened exactly) and its scatter backward.
// The ids are checked before these kernels run: every one lies in [0, V).

// out [N, C] = table [V, C] rows ids [N] (F32 table).
KERNEL void embedding_f32(const float* table, const int* ids, i64 n, i64 c, float* out) {
    GRID_STRIDE(i, n * c) out[i] = table[(i64) ids[i / c] * c + i % c];
}

// out [N, C] = table [V, C] rows ids [N] (BF16 table).
KERNEL void embedding_bf16(const unsigned short* table, const int* ids, i64 n, i64 c, float* out) {
    GRID_STRIDE(i, n * c) out[i] = bf16_to_f32(table[(i64) ids[i / c] * c + i % c]);
}

// out [N, C] = table [V, C] rows ids [N] (F16 table).
KERNEL void embedding_f16(const unsigned short* table, const int* ids, i64 n, i64 c, float* out) {
    GRID_STRIDE(i, n * c) out[i] = f16_to_f32(table[(i64) ids[i / c] * c + i % c]);
}

// out [N, C] = table [V, C] rows ids [N] (Q8 table: blocks over the flat elements).
KERNEL void embedding_q8(const unsigned char* table, const int* ids, i64 n, i64 c, float* out) {
    GRID_STRIDE(i, n * c) out[i] = q8_get(table, (i64) ids[i / c] * c + i % c);
}

// d_table [V, C] += d_out [N, C] at rows ids [N], adding in order of n (bit for bit as a sequential loop).
// Thread (column, blockIdx.y) owns the entries of its column in rows [blockIdx.y·rows_per_chunk, +rows_per_chunk):
// no two threads write one entry, and each walks all n in order, adding the ones that land in its rows.
KERNEL void embedding_backward_f32(const int* ids, const float* d_out, i64 n, i64 c, int rows_per_chunk, float* d_table) {
    i64 column = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (column >= c) return;
    int first_row = (int) blockIdx.y * rows_per_chunk;
    for (i64 m = 0; m < n; m++) {
        int id = ids[m];
        if (id >= first_row && id - first_row < rows_per_chunk) d_table[(i64) id * c + column] += d_out[m * c + column];
    }
}
