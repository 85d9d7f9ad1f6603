// The AdamW step, with the CPU backend's float operations in its order (--fmad=false: no fused a·b + c).

// For param, grad, m, v [n]: p ← p·decay; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g·g;
// p ← p − step_size·m / (√v / bias2_sqrt + eps). g1 = 1 − β1 and g2 = 1 − β2 come rounded from the host.
KERNEL void adamw_f32(float* param, const float* grad, float* m, float* v, i64 n, float decay, float b1, float b2,
                      float g1, float g2, float eps, float step_size, float bias2_sqrt) {
    GRID_STRIDE(i, n) {
        float g = grad[i];
        float p = param[i] * decay;
        float mi = b1 * m[i] + g1 * g;
        float vi = b2 * v[i] + g2 * g * g;
        float denom = sqrtf(vi) / bias2_sqrt + eps;
        param[i] = p - step_size * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}
