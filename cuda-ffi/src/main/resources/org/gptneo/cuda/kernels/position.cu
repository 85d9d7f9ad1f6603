// Rotary positions ("rotate half") over x, out [B, H, T, hs]; positions [B·T].

// For each (row of hs, k < hs/2): θ = position·base^(−2k/hs) in double, then the pair (k, k + hs/2) rotated
// by θ, or by −θ when inverse.
KERNEL void rotary_f32(const float* x, const int* positions, float base, int inverse, float* out, i64 rows, int heads,
                       int time, int hs) {
    int half = hs / 2;
    GRID_STRIDE(i, rows * half) {
        i64 row = i / half;
        int k = (int) (i % half);
        i64 b = row / ((i64) heads * time), t = row % time;
        double angle = positions[b * time + t] * pow((double) base, -2.0 * k / hs);
        float c = (float) cos(angle), sn = (float) (inverse ? -sin(angle) : sin(angle));
        float first = x[row * hs + k], second = x[row * hs + half + k];
        out[row * hs + k] = first * c - second * sn;
        out[row * hs + half + k] = second * c + first * sn;
    }
}
