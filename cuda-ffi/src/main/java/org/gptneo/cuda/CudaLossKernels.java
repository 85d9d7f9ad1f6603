package org.gptneo.cuda;

import java.lang.foreign.Arena;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.Launch;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The CUDA backend's softmax cross-entropy, per row and mean (see {@link org.gptneo.backend.Backend} for each contract). */
final class CudaLossKernels {
    private CudaLossKernels() {}

    /** losses [N] of logits [N, V] and targets [N]; one block per row. */
    static void crossEntropy(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        int v = checkedVocabulary(gpu, logits, targets, ignoreIndex, "crossEntropy");
        requireRows(losses, targets, "crossEntropy", "losses");
        launchLosses(gpu, logits, targets, v, ignoreIndex, losses);
    }

    /** dLogits [N, V] += scale·(softmax − onehot) for every row not ignored. */
    static void crossEntropyBackward(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        int v = checkedVocabulary(gpu, logits, targets, ignoreIndex, "crossEntropyBackward");
        requireLogitsShape(dLogits, logits, "crossEntropyBackward");
        if (targets.size() == 0) return;
        gpu.launch("cross_entropy_backward_f32", Launch.perRow(Math.toIntExact(targets.size()), Launch.THREADS, 0),
                KernelArgs.of().pointer(gpu.address(logits)).pointer(gpu.address(targets)).i64(v).i32(ignoreIndex).f32(scale)
                        .pointer(gpu.address(dLogits)));
    }

    /** out [1] = the mean loss over the targets not ignored, reduced on the device (nothing crosses to the host). */
    static void crossEntropyMean(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        int v = checkedVocabulary(gpu, logits, targets, ignoreIndex, "crossEntropyMean");
        requireOne(out, "crossEntropyMean", "out");
        try (Arena scratch = Arena.ofConfined()) {
            Tensor losses = gpu.allocate(scratch, DType.F32, Math.toIntExact(targets.size()));
            launchLosses(gpu, logits, targets, v, ignoreIndex, losses);
            gpu.launch("cross_entropy_mean_f32", Launch.perRow(1, Launch.THREADS, 0),
                    KernelArgs.of().pointer(gpu.address(losses)).pointer(gpu.address(targets)).i64(targets.size()).i32(ignoreIndex)
                            .pointer(gpu.address(out)));
        }
    }

    /** The backward of the mean: scale = dOut[0] / count, both read and computed on the device. */
    static void crossEntropyMeanBackward(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        int v = checkedVocabulary(gpu, logits, targets, ignoreIndex, "crossEntropyMeanBackward");
        requireOne(dOut, "crossEntropyMeanBackward", "dOut");
        requireLogitsShape(dLogits, logits, "crossEntropyMeanBackward");
        if (targets.size() == 0) return;
        try (Arena scratch = Arena.ofConfined()) {
            Tensor scale = gpu.allocate(scratch, DType.F32, 1);
            gpu.launch("cross_entropy_mean_scale", Launch.perRow(1, Launch.THREADS, 0),
                    KernelArgs.of().pointer(gpu.address(targets)).i64(targets.size()).i32(ignoreIndex).pointer(gpu.address(dOut))
                            .pointer(gpu.address(scale)));
            gpu.launch("cross_entropy_backward_scaled_f32", Launch.perRow(Math.toIntExact(targets.size()), Launch.THREADS, 0),
                    KernelArgs.of().pointer(gpu.address(logits)).pointer(gpu.address(targets)).i64(v).i32(ignoreIndex)
                            .pointer(gpu.address(scale)).pointer(gpu.address(dLogits)));
        }
    }

    /** losses [N] of logits [N, V], one block per row (none for no rows). */
    private static void launchLosses(CudaDevice gpu, Tensor logits, Tensor targets, int v, int ignoreIndex, Tensor losses) {
        if (targets.size() == 0) return;
        gpu.launch("cross_entropy_f32", Launch.perRow(Math.toIntExact(targets.size()), Launch.THREADS, 0),
                KernelArgs.of().pointer(gpu.address(logits)).pointer(gpu.address(targets)).i64(v).i32(ignoreIndex)
                        .pointer(gpu.address(losses)));
    }

    /**
     * V of logits [N, V] and targets [N], after checking that each target is ignoreIndex or in
     * [0, V) (the message every backend gives; one number crosses to the host).
     */
    private static int checkedVocabulary(CudaDevice gpu, Tensor logits, Tensor targets, int ignoreIndex, String kernel) {
        CudaElementwise.requireDenseF32(logits, kernel);
        CudaIndexKernels.requireDenseI32(targets, kernel);
        int v = logits.dim(-1);
        if (logits.size() != targets.size() * v) {
            throw new IllegalArgumentException(kernel + ": logits [N, V] and targets [N] do not fit: " + logits + ", " + targets);
        }
        CudaIndexKernels.requireIds(gpu, targets, v, ignoreIndex);
        return v;
    }

    private static void requireRows(Tensor t, Tensor targets, String kernel, String name) {
        CudaElementwise.requireDenseF32(t, kernel);
        if (t.size() != targets.size()) {
            throw new IllegalArgumentException(kernel + ": " + name + " " + t + " needs one value per target of " + targets);
        }
    }

    private static void requireOne(Tensor t, String kernel, String name) {
        CudaElementwise.requireDenseF32(t, kernel);
        if (t.size() != 1) {
            throw new IllegalArgumentException(kernel + ": " + name + " must hold one value, got " + t);
        }
    }

    private static void requireLogitsShape(Tensor dLogits, Tensor logits, String kernel) {
        CudaElementwise.requireDenseF32(dLogits, kernel);
        if (dLogits.size() != logits.size()) {
            throw new IllegalArgumentException(kernel + ": dLogits " + dLogits + " does not match logits " + logits);
        }
    }
}
