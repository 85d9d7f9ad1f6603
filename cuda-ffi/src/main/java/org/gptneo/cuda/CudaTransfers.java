package org.gptneo.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** Copies between host tensors and device tensors. */
final class CudaTransfers {
    private CudaTransfers() {}

    /** A device copy of host tensor {@code host} (a strided host view is made dense on the way). */
    static Tensor upload(CudaDevice gpu, Tensor host, Arena arena) {
        Tensor dense = host.isContiguous() ? host : denseHostCopy(host, arena);
        Tensor copy = gpu.allocate(arena, host.dtype(), host.shape());
        long bytes = dense.data().byteSize();
        if (bytes > 0) {
            gpu.runtime().copyToDevice(dense.data(), gpu.address(copy), bytes);
        }
        return copy;
    }

    /** A dense host copy of device tensor {@code t}, dense or a strided view. */
    static Tensor download(CudaDevice gpu, Tensor t, Arena arena) {
        long from = gpu.address(t);
        Tensor out = Tensor.allocate(arena, t.dtype(), t.shape());
        if (t.isContiguous()) {
            if (out.data().byteSize() > 0) {
                gpu.runtime().copyToHost(from, out.data(), out.data().byteSize());
            }
            return out;
        }
        // A strided view: fetch the range it spans, then gather its elements on the host.
        int width = t.dtype().byteSize();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment span = scratch.allocate(t.memory().byteSize());
            gpu.runtime().copyToHost(from, span, span.byteSize());
            for (long i = 0; i < t.size(); i++) {
                MemorySegment.copy(span, t.offsetOf(i) * width, out.data(), i * width, width);
            }
        }
        return out;
    }

    private static Tensor denseHostCopy(Tensor host, Arena arena) {
        if (host.dtype() == DType.Q8) {
            throw new IllegalArgumentException("cannot upload a strided view of Q8 blocks: " + host);
        }
        Tensor dense = Tensor.allocate(arena, host.dtype(), host.shape());
        int width = host.dtype().byteSize();
        for (long i = 0; i < host.size(); i++) {
            MemorySegment.copy(host.data(), host.offsetOf(i) * width, dense.data(), i * width, width);
        }
        return dense;
    }
}
