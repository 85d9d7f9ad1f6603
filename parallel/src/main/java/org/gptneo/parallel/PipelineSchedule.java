package org.gptneo.parallel;

/**
 * The order in which a pipeline stage runs the forward and backward passes of a step's m
 * micro-batches and exchanges activations and gradients with its neighbours. Both schedules compute
 * the same gradients (every stage runs backward passes oldest first) and flush before the optimizer
 * step; they differ in how many micro-batches' activations a stage holds. With p stages each leaves
 * a bubble of (p − 1)/(m + p − 1) of the step idle.
 */
public enum PipelineSchedule {
    /** GPipe: all m forward passes, then all m backward passes; every stage holds all m micro-batches. */
    GPIPE {
        @Override
        void run(StageExecutor x, int stages, int stage, int microBatches) {
            for (int i = 0; i < microBatches; i++) {
                x.receiveForward();
                x.forward();
                x.sendForward();
            }
            for (int i = 0; i < microBatches; i++) {
                x.receiveBackward();
                x.backward();
                x.sendBackward();
            }
        }
    },

    /**
     * 1F1B (PipeDream-Flush): stage s runs p − s − 1 warm-up forward passes, then alternates one
     * forward and one backward pass, then drains the remaining backward passes; it holds at most
     * p − s micro-batches. A stage sending to and receiving from the same neighbour does both in one
     * {@link Communicator#sendReceive}, so neighbours cannot deadlock.
     */
    ONE_F_ONE_B {
        @Override
        void run(StageExecutor x, int stages, int stage, int microBatches) {
            int warmUp = Math.min(stages - stage - 1, microBatches), steady = microBatches - warmUp;
            for (int i = 0; i < warmUp; i++) {
                x.receiveForward();
                x.forward();
                x.sendForward();
            }
            if (steady > 0) x.receiveForward();
            for (int i = 0; i < steady; i++) {
                x.forward();
                x.sendForwardReceiveBackward();
                x.backward();
                if (i == steady - 1) {
                    x.sendBackward();
                } else {
                    x.sendBackwardReceiveForward();
                }
            }
            for (int i = 0; i < warmUp; i++) {
                x.receiveBackward();
                x.backward();
                x.sendBackward();
            }
        }
    };

    /** Runs stage {@code stage} of {@code stages}' part of a step over {@code microBatches} micro-batches. */
    abstract void run(StageExecutor x, int stages, int stage, int microBatches);
}
