package org.gptneo.cuda;

import static org.gptneo.backend.KernelChecks.requireSameSize;
import static org.gptneo.cuda.CudaElementwise.requireDenseF32;

import java.lang.foreign.Arena;
import org.gptneo.backend.AttentionMask;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The CUDA backend's masked softmax and its backward (softmax.cu): one block per row of scores.
 * The mask travels as its window, causal flag and (for left padding) the per-row first keys, a
 * small array uploaded per call.
 */
final class CudaSoftmaxKernels {
    private CudaSoftmaxKernels() {}

    static void maskedSoftmax(CudaDevice gpu, Tensor scores, AttentionMask mask, Tensor probs) {
        requireDenseF32(scores, "maskedSoftmax");
        requireDenseF32(probs, "maskedSoftmax");
        requireSameSize(scores, probs);
        int t = scores.dim(-2), s = scores.dim(-1);
        if ((long) t * s == 0) {
            return;
        }
        long matrices = scores.size() / ((long) t * s);
        int[] firstKeys = mask.firstKeys();
        try (Arena scratch = Arena.ofConfined()) {
            long keys = firstKeys(gpu, scratch, firstKeys, matrices, "maskedSoftmax");
            gpu.launch("masked_softmax_f32", Launch.perRow(Math.toIntExact(matrices * t), Launch.THREADS, 0), KernelArgs.of()
                    .pointer(gpu.address(scores)).pointer(gpu.address(probs)).i32(t).i32(s).i64(matrices)
                    .i32(mask.window()).i32(mask.causal() ? 1 : 0).pointer(keys).i32(firstKeys == null ? 0 : firstKeys.length));
        }
    }

    /**
     * The device address of a mask's per-row first keys uploaded into {@code scratch}, or 0 (null) when
     * there are none; they must divide the {@code matrices} score matrices evenly.
     */
    static long firstKeys(CudaDevice gpu, Arena scratch, int[] firstKeys, long matrices, String kernel) {
        if (firstKeys == null) {
            return 0;
        }
        if (firstKeys.length == 0 || matrices % firstKeys.length != 0) {
            throw new IllegalArgumentException(kernel + ": " + firstKeys.length + " padded rows do not divide "
                    + matrices + " score matrices");
        }
        Tensor host = Tensor.ofInts(scratch, firstKeys, firstKeys.length);
        Tensor device = gpu.allocate(scratch, DType.I32, firstKeys.length);
        long keys = gpu.address(device);
        gpu.runtime().copyToDevice(host.data(), keys, host.data().byteSize());
        return keys;
    }

    static void softmaxBackward(CudaDevice gpu, Tensor probs, Tensor dProbs, Tensor dScores) {
        for (Tensor x : new Tensor[] {probs, dProbs, dScores}) requireDenseF32(x, "softmaxBackward");
        requireSameSize(probs, dProbs);
        requireSameSize(probs, dScores);
        int s = probs.dim(-1);
        if (s == 0 || probs.size() == 0) {
            return;
        }
        long rows = probs.size() / s;
        gpu.launch("softmax_backward_f32", Launch.perRow(Math.toIntExact(rows), Launch.THREADS, 0), KernelArgs.of()
                .pointer(gpu.address(probs)).pointer(gpu.address(dProbs)).pointer(gpu.address(dScores)).i64(rows).i32(s));
    }
}
