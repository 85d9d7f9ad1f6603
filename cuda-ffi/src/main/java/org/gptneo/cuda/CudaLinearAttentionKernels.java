package org.gptneo.cuda;

import java.lang.foreign.Arena;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's causal linear attention forward and backward (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaLinearAttentionKernels {
    private CudaLinearAttentionKernels() {}

    /** The shapes every call checks (the CPU backend's messages): pairs = B·H, t tokens, d query/key features, e value features. */
    private record Shape(int pairs, int t, int d, int e) {
        static Shape of(Tensor q, Tensor k, Tensor v, Tensor out, String kernel) {
            if (q.rank() != 4 || !q.sameShape(k) || v.rank() != 4 || !v.sameShape(out)
                    || v.dim(0) != q.dim(0) || v.dim(1) != q.dim(1) || v.dim(2) != q.dim(2)) {
                throw new IllegalArgumentException("linear attention needs q, k [B, H, T, d] and v, out [B, H, T, e], got "
                        + q + ", " + k + ", " + v + ", " + out);
            }
            for (Tensor x : new Tensor[] {q, k, v, out}) CudaElementwise.requireDenseF32(x, kernel);
            return new Shape(Math.multiplyExact(q.dim(0), q.dim(1)), q.dim(2), q.dim(3), v.dim(3));
        }

        /** One block per (batch, head) pair, its threads spread over the larger of d and e (whole warps, at most THREADS). */
        Launch launch(int sharedFloats) {
            int threads = Math.min(Launch.THREADS, Math.max(32, (Math.max(d, e) + 31) / 32 * 32));
            return Launch.perRow(pairs, threads, sharedFloats * Float.BYTES);
        }
    }

    /** out [B, H, T, e] from q, k [B, H, T, d] and v; state [B, H, d, e] and normaliser [B, H, d] carried when given. */
    static void linearAttentionCausal(CudaDevice gpu, Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        Shape sh = Shape.of(q, k, v, out, "linearAttentionCausal");
        if ((state == null) != (normaliser == null)) {
            throw new IllegalArgumentException("linear attention takes both state and normaliser, or neither");
        }
        if (state != null && (state.size() != (long) sh.pairs() * sh.d() * sh.e() || normaliser.size() != (long) sh.pairs() * sh.d())) {
            throw new IllegalArgumentException("linear attention state " + state + " and normaliser " + normaliser
                    + " do not fit q " + q + " and v " + v);
        }
        if (sh.pairs() == 0) return;
        try (Arena scratch = Arena.ofConfined()) {             // no state: start from zero sums, kept nowhere
            Tensor s = state != null ? state : gpu.allocate(scratch, DType.F32, sh.pairs(), sh.d(), sh.e());
            Tensor z = normaliser != null ? normaliser : gpu.allocate(scratch, DType.F32, sh.pairs(), sh.d());
            CudaElementwise.requireDenseF32(s, "linearAttentionCausal");
            CudaElementwise.requireDenseF32(z, "linearAttentionCausal");
            gpu.launch("linear_attention_causal_f32", sh.launch(3 * sh.d()),
                    KernelArgs.of().pointer(gpu.address(q)).pointer(gpu.address(k)).pointer(gpu.address(v))
                            .i32(sh.t()).i32(sh.d()).i32(sh.e()).f32(eps)
                            .pointer(gpu.address(s)).pointer(gpu.address(z)).pointer(gpu.address(out)));
        }
    }

    /** dq, dk [B, H, T, d] and dv [B, H, T, e] += the gradients of the forward (from no state), streaming as it does. */
    static void linearAttentionCausalBackward(CudaDevice gpu, Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        Shape sh = Shape.of(q, k, v, out, "linearAttentionCausalBackward");
        if (!dOut.sameShape(out) || !dq.sameShape(q) || !dk.sameShape(k) || !dv.sameShape(v)) {
            throw new IllegalArgumentException("linear attention gradients " + dq + ", " + dk + ", " + dv + ", " + dOut
                    + " do not match their values");
        }
        for (Tensor x : new Tensor[] {dOut, dq, dk, dv}) CudaElementwise.requireDenseF32(x, "linearAttentionCausalBackward");
        if (sh.pairs() == 0) return;
        try (Arena scratch = Arena.ofConfined()) {
            Tensor sums = gpu.allocate(scratch, DType.F32, sh.pairs(), sh.e(), sh.d());   // S, then R (transposed)
            Tensor den = gpu.allocate(scratch, DType.F32, sh.pairs(), sh.t());            // D[n]
            Tensor dDen = gpu.allocate(scratch, DType.F32, sh.pairs(), sh.t());           // dD[n]
            gpu.launch("linear_attention_causal_backward_f32", sh.launch(3 * sh.d() + 4 * sh.e()),
                    KernelArgs.of().pointer(gpu.address(q)).pointer(gpu.address(k)).pointer(gpu.address(v))
                            .i32(sh.t()).i32(sh.d()).i32(sh.e()).f32(eps)
                            .pointer(gpu.address(out)).pointer(gpu.address(dOut)).pointer(gpu.address(sums))
                            .pointer(gpu.address(den)).pointer(gpu.address(dDen))
                            .pointer(gpu.address(dq)).pointer(gpu.address(dk)).pointer(gpu.address(dv)));
        }
    }
}
