package org.gptneo.backend;

/** The constants of gelu_new, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), shared by every backend. */
public final class GeluNew {
    public static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    public static final float COEFF = 0.044715f;

    private GeluNew() {}
}
