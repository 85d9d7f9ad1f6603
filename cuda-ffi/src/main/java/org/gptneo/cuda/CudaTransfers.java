package org.gptneo.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Copies between host tensors and device tensors. The caller's host memory may belong to a confined
 * arena, which only the caller's thread may touch, and the device is driven from its own thread, so
 * data crosses through the {@link Staging} buffer: the caller fills or drains it, the device thread
 * copies between it and the device.
 */
final class CudaTransfers {
    private CudaTransfers() {}

    /** A device copy of host tensor {@code host} (a strided host view is made dense on the way). */
    static Tensor upload(CudaDevice gpu, DeviceThread thread, Staging staging, Tensor host, Arena arena) {
        if (!host.isContiguous() && host.dtype() == DType.Q8) {
            throw new IllegalArgumentException("cannot upload a strided view of Q8 blocks: " + host);
        }
        long bytes = host.dtype().bytes(host.size());
        long pointer = staging.with(bytes, buffer -> {
            gather(host, buffer);
            return thread.call(() -> {
                long p = gpu.allocateZeroed(bytes);
                if (bytes > 0) {
                    gpu.runtime().copyToDevice(buffer, p, bytes);
                }
                return p;
            });
        });
        return gpu.wrap(pointer, bytes, arena, host.dtype(), host.shape());
    }

    /** A dense host copy of device tensor {@code t}, dense or a strided view. */
    static Tensor download(CudaDevice gpu, DeviceThread thread, Staging staging, Tensor t, Arena arena) {
        long from = t.memory().address();
        long span = t.memory().byteSize();   // a strided view: the range from its first element to its last
        Tensor out = Tensor.allocate(arena, t.dtype(), t.shape());
        staging.with(span, buffer -> {
            if (span > 0) {
                thread.run(() -> gpu.runtime().copyToHost(from, buffer, span));
            }
            if (t.isContiguous()) {
                MemorySegment.copy(buffer, 0, out.data(), 0, span);
            } else {
                int width = t.dtype().byteSize();
                for (long i = 0; i < t.size(); i++) {
                    MemorySegment.copy(buffer, t.offsetOf(i) * width, out.data(), i * width, width);
                }
            }
            return null;
        });
        return out;
    }

    /** The elements of {@code host} in row-major order, densely, into {@code buffer}. */
    private static void gather(Tensor host, MemorySegment buffer) {
        if (host.isContiguous()) {
            MemorySegment.copy(host.data(), 0, buffer, 0, buffer.byteSize());
            return;
        }
        int width = host.dtype().byteSize();
        for (long i = 0; i < host.size(); i++) {
            MemorySegment.copy(host.data(), host.offsetOf(i) * width, buffer, i * width, width);
        }
    }
}
