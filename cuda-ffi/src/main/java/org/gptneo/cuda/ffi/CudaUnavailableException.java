package org.gptneo.cuda.ffi;

/**
 * A CUDA function cannot be called because its library or symbol was not found; the message is
 * {@code "<symbol>: <why>"} and names what was tried.
 */
public final class CudaUnavailableException extends CudaException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }
}
