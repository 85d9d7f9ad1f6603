package org.gptneo.train;

/** How the learning rate moves after the warm-up: as Hugging Face's schedulers of the same names. */
public enum Schedule {
    /** Stays at the peak. */
    CONSTANT,
    /** Falls linearly from the peak to the floor at the last step. */
    LINEAR,
    /** Half a cosine from the peak to the floor at the last step. */
    COSINE
}
