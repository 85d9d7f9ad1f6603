package org.gptneo.tensor;

/**
 * Where a tensor's memory lives. Host tensors ({@link #HOST}) may be read and written by any code;
 * the memory of any other device belongs to the backend that made it, and moves to and from the
 * host only through that backend's {@code upload} and {@code download}.
 *
 * @param kind           the backend kind that owns the memory ("cpu", "cuda", ...)
 * @param index          which device of that kind (GPU 0, 1, ...)
 * @param hostAccessible whether the host may dereference the memory
 */
public record Device(String kind, int index, boolean hostAccessible) {
    /** Host memory: what the CPU backend computes on and what loaders, savers and callers read. */
    public static final Device HOST = new Device("cpu", 0, true);

    @Override
    public String toString() {
        return kind + ":" + index;
    }
}
