package org.gptneo.cuda.runtime;

/**
 * The device has not enough free memory for an allocation ({@code cudaErrorMemoryAllocation}).
 * Thrown by {@link DeviceRuntime#allocate}; {@link CachingAllocator} then releases its cache and
 * tries once more before it reports the failure with the device's free and total memory.
 */
public final class DeviceOutOfMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DeviceOutOfMemoryException(String message) {
        super(message);
    }

    public DeviceOutOfMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
