package org.gptneo.cuda.ffi;

/**
 * A CUDA library call failed. The message names the function and carries the library's own
 * description of the status, e.g. {@code cudaMalloc failed: out of memory (cudaErrorMemoryAllocation, 2)}.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The library's status code, or {@link #NO_STATUS} when the failure has none. */
    private final int status;

    /** The {@link #status()} of a failure that is not a library status. */
    public static final int NO_STATUS = Integer.MIN_VALUE;

    public CudaException(String message, int status) {
        super(message);
        this.status = status;
    }

    public CudaException(String message) {
        this(message, NO_STATUS);
    }

    /** The status code the library returned ({@link #NO_STATUS} when there was none). */
    public int status() {
        return status;
    }
}
