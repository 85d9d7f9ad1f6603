package org.gptneo.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;
import java.util.function.LongUnaryOperator;
import java.util.function.Supplier;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.cuda.runtime.CachingAllocator;
import org.gptneo.cuda.runtime.CudaDeviceRuntime;
import org.gptneo.cuda.runtime.DeviceRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.MemoryStats;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Device;
import org.gptneo.tensor.Tensor;

/**
 * The backend on one NVIDIA GPU: tensors in device memory, GEMMs by cuBLAS, every other kernel
 * CUDA C compiled at run time by NVRTC (sources in {@code org/gptneo/cuda/kernels}), all calls for
 * the device on its own platform thread, in order, on one stream.
 *
 * <p>Precision: products in F32 by default; {@link GemmCall.Precision#TF32} or
 * {@link GemmCall.Precision#BF16} let cuBLAS round the inputs of the GEMMs on tensor cores (weights,
 * activations, gradients and the loss stay F32: mixed precision with F32 master weights).
 *
 * <p>Device memory comes from a {@link CachingAllocator}: tensors freed by their arenas go back to
 * its cache, and {@link #emptyCache()} returns the cache to the device.
 *
 * <p>Made by {@link CudaBackendProvider}; the test suite builds it over an emulated runtime.
 */
public final class CudaBackend implements Backend {
    private final DeviceThread thread;
    private final CudaDevice gpu;
    private final GemmCall.Precision precision;
    private final Staging staging = new Staging();

    /**
     * A backend over an open runtime, which it then owns. {@code opener} runs on the device thread
     * (a CUDA runtime binds its device to the thread that opens it). Allocations are rounded to
     * {@link CachingAllocator#sizeClass}.
     */
    public static CudaBackend open(int deviceIndex, Supplier<DeviceRuntime> opener, GemmCall.Precision precision) {
        return open(deviceIndex, opener, precision, CachingAllocator::sizeClass);
    }

    /** {@link #open(int, Supplier, GemmCall.Precision)} with the allocator's size classes given. */
    public static CudaBackend open(int deviceIndex, Supplier<DeviceRuntime> opener, GemmCall.Precision precision,
                                   LongUnaryOperator sizeClasses) {
        DeviceThread thread = new DeviceThread("gptneo-cuda-" + deviceIndex);
        try {
            DeviceRuntime runtime = thread.call(opener::get);
            return new CudaBackend(thread, runtime, new CachingAllocator(runtime, sizeClasses),
                    new Device("cuda", deviceIndex, false), precision);
        } catch (RuntimeException e) {
            thread.close();
            throw e;
        }
    }

    private CudaBackend(DeviceThread thread, DeviceRuntime runtime, CachingAllocator memory, Device device,
                        GemmCall.Precision precision) {
        this.thread = thread;
        this.gpu = new CudaDevice(runtime, memory, device, thread);
        this.precision = precision;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device device() {
        return gpu.device();
    }

    /** What the device is ("NVIDIA H200, sm_90, ..."). */
    public String describe() {
        return thread.call(() -> gpu.runtime().describe());
    }

    /**
     * Runs {@code work} on this device's thread with the CUDA stream ({@code cudaStream_t}) every call of
     * this backend is ordered on, and returns its result: a library such as NCCL queues its work there,
     * behind the backend's kernels. A tensor's device address is its {@code memory().address()}. Throws
     * {@link IllegalStateException} for a backend over an emulated device, which has no stream.
     */
    public <T> T onStream(Function<MemorySegment, T> work) {
        return thread.call(() -> {
            if (!(gpu.runtime() instanceof CudaDeviceRuntime cuda)) {
                throw new IllegalStateException("the cuda backend runs on " + gpu.runtime().describe()
                        + ", which has no CUDA stream");
            }
            return work.apply(cuda.stream());
        });
    }

    /** How the GEMMs round their inputs. */
    public GemmCall.Precision precision() {
        return precision;
    }

    /** Device memory in use, reserved and at its peak (after the frees of closed arenas queued so far). */
    public MemoryStats memoryStats() {
        return thread.call(() -> gpu.memory().stats());
    }

    /** Returns every cached block to the device ({@code cudaFree}); tensors still alive keep theirs. */
    public void emptyCache() {
        thread.run(() -> gpu.memory().emptyCache());
    }

    // allocate, upload and download touch the caller's arena and host memory on the caller's thread
    // (a confined arena is usable only there) and the device on the device thread: see CudaTransfers.

    @Override
    public Tensor allocate(Arena arena, DType dtype, int... shape) {
        long bytes = dtype.bytes(Tensor.elementCount(shape));
        long pointer = thread.call(() -> gpu.allocateZeroed(bytes));
        return gpu.wrap(pointer, bytes, arena, dtype, shape);
    }

    @Override
    public Tensor upload(Tensor host, Arena arena) {
        if (!host.isHostAccessible()) {
            throw new IllegalArgumentException("upload takes a host tensor, got " + host);
        }
        return CudaTransfers.upload(gpu, thread, staging, host, arena);
    }

    @Override
    public Tensor download(Tensor t, Arena arena) {
        gpu.address(t); // refuses another device's tensor
        return CudaTransfers.download(gpu, thread, staging, t, arena);
    }

    /** Waits for every queued kernel; reports a kernel that failed asynchronously. */
    @Override
    public void synchronize() {
        thread.run(() -> gpu.runtime().synchronize());
    }

    @Override
    public void close() {
        try {
            thread.run(() -> {
                gpu.memory().emptyCache();
                gpu.runtime().close();
            });
        } finally {
            thread.close();
            staging.close();
        }
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        thread.run(() -> CudaMatmul.matmul(gpu, precision, a, transposeA, b, transposeB, c, alpha, beta));
    }

    @Override
    public void fill(Tensor t, float value) {
        thread.run(() -> CudaElementwise.fill(gpu, t, value));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        thread.run(() -> CudaElementwise.copy(gpu, src, dst));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        thread.run(() -> CudaElementwise.add(gpu, a, b, out));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        thread.run(() -> CudaElementwise.mul(gpu, a, b, out));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        thread.run(() -> CudaElementwise.axpy(gpu, alpha, x, y));
    }

    @Override
    public void scale(Tensor t, float s) {
        thread.run(() -> CudaElementwise.scale(gpu, t, s));
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return thread.call(() -> CudaElementwise.sumOfSquares(gpu, x));
    }

    @Override
    public double sum(Tensor x) {
        return thread.call(() -> CudaElementwise.sum(gpu, x));
    }

    @Override
    public void addSumOfSquares(Tensor x, Tensor out) {
        thread.run(() -> CudaElementwise.addSumOfSquares(gpu, x, out));
    }

    @Override
    public void iota(Tensor out) {
        thread.run(() -> CudaIndexKernels.iota(gpu, out));
    }

    @Override
    public void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        thread.run(() -> CudaIndexKernels.divMod(gpu, x, divisor, quotient, remainder));
    }

    @Override
    public void shiftLeft(Tensor labels, int fill, Tensor targets) {
        thread.run(() -> CudaIndexKernels.shiftLeft(gpu, labels, fill, targets));
    }

    @Override
    public long firstOutOfRange(Tensor ids, int lo, int hi, int allowed) {
        return thread.call(() -> CudaIndexKernels.firstOutOfRange(gpu, ids, lo, hi, allowed));
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        thread.run(() -> CudaElementwise.addBias(gpu, x, bias));
    }

    @Override
    public void addBiasBackward(Tensor dy, Tensor dBias) {
        thread.run(() -> CudaElementwise.addBiasBackward(gpu, dy, dBias));
    }

    @Override
    public void swapMiddle(Tensor x, Tensor out, boolean accumulate) {
        thread.run(() -> CudaElementwise.swapMiddle(gpu, x, out, accumulate));
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        thread.run(() -> CudaNormKernels.layerNorm(gpu, x, gamma, beta, eps, out, mean, rstd));
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx, Tensor dGamma, Tensor dBeta) {
        thread.run(() -> CudaNormKernels.layerNormBackward(gpu, dOut, x, gamma, mean, rstd, dx, dGamma, dBeta));
    }

    @Override
    public void rotary(Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        thread.run(() -> CudaPositionKernels.rotary(gpu, x, positions, base, inverse, out));
    }

    @Override
    public void exp(Tensor x, Tensor out) {
        thread.run(() -> CudaActivationKernels.exp(gpu, x, out));
    }

    @Override
    public void linearAttentionCausal(Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        thread.run(() -> CudaLinearAttentionKernels.linearAttentionCausal(gpu, q, k, v, eps, state, normaliser, out));
    }

    @Override
    public void linearAttentionCausalBackward(Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        thread.run(() -> CudaLinearAttentionKernels.linearAttentionCausalBackward(gpu, q, k, v, eps, out, dOut, dq, dk, dv));
    }

    @Override
    public void geluNew(Tensor x, Tensor out) {
        thread.run(() -> CudaActivationKernels.geluNew(gpu, x, out));
    }

    @Override
    public void geluNewBackward(Tensor x, Tensor dOut, Tensor dx) {
        thread.run(() -> CudaActivationKernels.geluNewBackward(gpu, x, dOut, dx));
    }

    @Override
    public void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs) {
        thread.run(() -> CudaSoftmaxKernels.maskedSoftmax(gpu, scores, mask, probs));
    }

    @Override
    public void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores) {
        thread.run(() -> CudaSoftmaxKernels.softmaxBackward(gpu, probs, dProbs, dScores));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed, Tensor out, Tensor rowStats) {
        thread.run(() -> CudaAttentionKernels.attention(gpu, q, k, v, mask, dropout, seed, out, rowStats));
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, float dropout, long seed, Tensor out,
                                  Tensor rowStats, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        thread.run(() -> CudaAttentionKernels.attentionBackward(gpu, q, k, v, mask, dropout, seed, out, rowStats, dOut, dq, dk, dv));
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        thread.run(() -> CudaEmbeddingKernels.embedding(gpu, table, ids, out));
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        thread.run(() -> CudaEmbeddingKernels.embeddingBackward(gpu, ids, dOut, dTable));
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        thread.run(() -> CudaLossKernels.crossEntropy(gpu, logits, targets, ignoreIndex, losses));
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        thread.run(() -> CudaLossKernels.crossEntropyBackward(gpu, logits, targets, ignoreIndex, scale, dLogits));
    }

    @Override
    public void crossEntropyMean(Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        thread.run(() -> CudaLossKernels.crossEntropyMean(gpu, logits, targets, ignoreIndex, out));
    }

    @Override
    public void crossEntropyMeanBackward(Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        thread.run(() -> CudaLossKernels.crossEntropyMeanBackward(gpu, logits, targets, ignoreIndex, dOut, dLogits));
    }

    @Override
    public void dropoutMask(Tensor mask, float p, long seed) {
        thread.run(() -> CudaElementwise.dropoutMask(gpu, mask, p, seed));
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        thread.run(() -> CudaRoutingKernels.relu(gpu, x, out));
    }

    @Override
    public void reluBackward(Tensor x, Tensor dOut, Tensor dx) {
        thread.run(() -> CudaRoutingKernels.reluBackward(gpu, x, dOut, dx));
    }

    @Override
    public void scatterAddRows(Tensor src, Tensor weights, Tensor rows, Tensor out) {
        thread.run(() -> CudaRoutingKernels.scatterAddRows(gpu, src, weights, rows, out));
    }

    @Override
    public void scatterAddRowsBackward(Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        thread.run(() -> CudaRoutingKernels.scatterAddRowsBackward(gpu, dOut, src, weights, rows, dSrc, dWeights));
    }

    @Override
    public void normalizeRows(Tensor x, float eps, Tensor out) {
        thread.run(() -> CudaRoutingKernels.normalizeRows(gpu, x, eps, out));
    }

    @Override
    public void normalizeRowsBackward(Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        thread.run(() -> CudaRoutingKernels.normalizeRowsBackward(gpu, x, out, dOut, eps, dx));
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        thread.run(() -> CudaOptimizerKernels.adamW(gpu, param, grad, m, v, step));
    }
}
