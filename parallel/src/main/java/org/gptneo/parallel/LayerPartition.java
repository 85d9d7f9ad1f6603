package org.gptneo.parallel;

/**
 * How a pipeline splits a model's layers into stages: balanced by count, as GPT-NeoX's
 * {@code pipe_partition_method "type:transformer"} weighs every transformer layer the same. Each of
 * the p stages gets ⌊L/p⌋ contiguous layers and the first L mod p stages one more, so the extra
 * layers land away from the last stage, which also runs the LM head and the loss (the costliest
 * work outside the blocks). Stage s holds layers [{@link #from}(s), {@link #to}(s)).
 */
public record LayerPartition(int layers, int stages) {

    public LayerPartition {
        if (stages < 1) {
            throw new IllegalArgumentException("a pipeline needs at least one stage, got " + stages);
        }
        if (stages > layers) {
            throw new IllegalArgumentException("a pipeline of " + stages + " stages needs at least " + stages
                    + " layers (one per stage), the model has " + layers);
        }
    }

    /** The first layer of stage s. */
    public int from(int stage) {
        requireStage(stage);
        return stage * (layers / stages) + Math.min(stage, layers % stages);
    }

    /** One past the last layer of stage s. */
    public int to(int stage) {
        return stage == stages - 1 ? layers : from(stage + 1);
    }

    /** The stage that holds {@code layer}. */
    public int stageOf(int layer) {
        if (layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("layer " + layer + " is outside [0, " + layers + ")");
        }
        int stage = 0;
        while (to(stage) <= layer) stage++;
        return stage;
    }

    private void requireStage(int stage) {
        if (stage < 0 || stage >= stages) {
            throw new IllegalArgumentException("stage " + stage + " is outside [0, " + stages + ")");
        }
    }
}
