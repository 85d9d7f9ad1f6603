package org.gptneo.parallel;

import java.util.Map;

/**
 * Tensor × pipeline training (tp = 2 × pp = 2, {@link ParallelGroups}' layout) over any world of four
 * ranks, checked against one device's gradient accumulation computed in the same process: what
 * {@code MpiJobTest} runs over real MPI processes, with {@link TensorPipelineParallelTest}'s model,
 * data and tolerances (which that test explains). Every rank checks its losses and the global gradient
 * norm; global rank 0 also checks the gathered weights after the last step.
 */
public final class TensorPipelineCheck {
    private static final int TP = 2, STAGES = 2, M = 2, STEPS = 3;
    private static final double LR = 1e-2;     // PipelineFixture's AdamW

    private TensorPipelineCheck() {}

    /** Runs this rank's part; returns a one-line summary, or throws an AssertionError naming the first difference. */
    public static String run(Communicator world) {
        ParallelLayout layout = new ParallelLayout(1, TP, STAGES, 1);
        layout.requireWorldSize(world.size());
        PipelineFixture.Run one = PipelineFixture.singleDevice(PipelineFixture.tiny(0f), M, STEPS, false);
        PipelineFixture.Run rank;
        try (ParallelGroups groups = ParallelGroups.split(world, layout)) {
            rank = PipelineFixture.rank(PipelineFixture.tiny(0f), groups.pipeline(), groups.tensor(), M, STEPS,
                    PipelineSchedule.ONE_F_ONE_B);
        }
        double lossDiff = 0;
        for (int step = 0; step < STEPS; step++) {
            double relative = Math.abs(rank.losses()[step] - one.losses()[step]) / Math.abs(one.losses()[step]);
            require(relative <= 1e-6, "step " + step + " loss " + rank.losses()[step] + " vs one device's " + one.losses()[step]);
            lossDiff = Math.max(lossDiff, relative);
        }
        double normDiff = Math.abs(rank.norm() - one.norm()) / one.norm();
        require(normDiff <= 1e-6, "gradient norm " + rank.norm() + " vs one device's " + one.norm());
        double weightDiff = 0;
        if (world.rank() == 0) {
            require(rank.weights().keySet().equals(one.weights().keySet()), "the gathered model's names differ from one device's");
            for (Map.Entry<String, float[]> e : rank.weights().entrySet()) {
                float[] want = one.weights().get(e.getKey()), got = e.getValue();
                for (int i = 0; i < want.length; i++) weightDiff = Math.max(weightDiff, Math.abs(got[i] - want[i]));
            }
            require(weightDiff <= 1e-2 * LR * STEPS, "gathered weights differ from one device's by " + weightDiff);
        }
        return String.format("tp2 x pp2 as one device (losses %.1e relative, norm %.1e relative, weights %.1e)",
                lossDiff, normDiff, weightDiff);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new AssertionError(message);
    }
}
