package org.gptneo.nn;

import org.gptneo.tensor.Tensor;

/**
 * The layout of the tokens a layer sees: B sequences of T new tokens each, flattened row-major
 * into N = B·T rows, and each token's absolute position (what rotary positions rotate by).
 *
 * @param positions [B·T] (I32, on the backend)
 */
public record Tokens(int batch, int time, Tensor positions) {

    public int count() {
        return batch * time;
    }
}
