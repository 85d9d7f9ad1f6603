package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tensor × pipeline parallelism: {@link PipelineParallel} with each stage split over a
 * tensor-parallel group (tp = 2 × pp = 2 on four threads, {@link ParallelGroups}' layout), on the
 * pipeline tests' tiny model (d 32, 4 heads, 4 layers global/local, dropout 0, micro-batches [2, 8],
 * m = 2), against one device's gradient accumulation over the same micro-batches.
 *
 * <p>Tolerance: each tensor-parallel stage sums its row-parallel products in two parts and its
 * cross-entropy statistics in another order (see TensorParallelTest), so losses and gradients are
 * one device's up to float rounding. Measured: losses ≤ 5.6e-8 relative, first-step gradients ≤ 1.2e-6
 * of each tensor's largest element (allowed 1e-5), norm 8.8e-8 relative (allowed 1e-6); after three
 * AdamW steps (lr 1e-2) moments ≤ 3.2e-5 of their largest element (allowed 1e-4) and weights ≤ 2.7e-4,
 * all but one element ≤ 3.2e-5: a q_proj element whose first gradient is −1.5e-8, about AdamW's ε, so
 * that its rounding becomes a visible part of a step of size lr (allowed 1e-2·lr per step, as in
 * TensorParallelTest).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TensorPipelineParallelTest {
    private static final int TP = 2, STAGES = 2, M = 2, STEPS = 3;
    private static final float LR = 1e-2f;     // PipelineFixture's AdamW

    @Test
    void stagesSplitOverTensorParallelRanksComputeWhatOneDeviceComputes() {
        GptNeoBuilder builder = PipelineFixture.tiny(0f);
        PipelineFixture.Run one = PipelineFixture.singleDevice(builder, M, STEPS, false);
        List<PipelineFixture.Run> ranks = PipelineFixture.tensorPipeline(builder, TP, STAGES, M, STEPS);
        GptNeoConfig config;
        try (CpuBackend backend = new CpuBackend(1); GptNeoModel model = builder.build(backend)) {
            config = model.config();
        }
        for (PipelineFixture.Run rank : ranks) {
            for (int step = 0; step < STEPS; step++) {
                assertThat(rank.losses()[step]).as("step %d", step).isCloseTo(one.losses()[step], within(1e-6 * one.losses()[step]));
            }
            assertThat(rank.norm()).isCloseTo(one.norm(), within(1e-6 * one.norm()));
        }
        for (int r = 0; r < ranks.size(); r++) {
            TensorParallelLayout layout = TensorParallelLayout.of(config, TP, r % TP, TensorParallelLayout.DEFAULT_VOCAB_MULTIPLE);
            for (Map.Entry<String, float[]> e : ranks.get(r).gradients().entrySet()) {
                float[] want = shardOf(layout, e.getKey(), one.gradients().get(e.getKey()), config);
                float scale = maxAbs(one.gradients().get(e.getKey()));
                assertThat(e.getValue()).as("rank %d: %s", r, e.getKey()).containsExactly(want, within(1e-5f * scale));
            }
        }
        Map<String, float[]> gathered = ranks.getFirst().weights();
        assertThat(gathered.keySet()).as("the gathered model is the whole model").containsExactlyElementsOf(one.weights().keySet());
        gathered.forEach((name, w) -> assertThat(w).as(name).containsExactly(one.weights().get(name), within(1e-2f * LR * STEPS)));
        Map<String, float[]> moments = ranks.getFirst().moments();
        assertThat(moments.keySet()).as("the gathered optimizer state is one device's").containsExactlyElementsOf(one.moments().keySet());
        moments.forEach((key, x) -> assertThat(x).as(key).containsExactly(one.moments().get(key),
                within(1e-4f * maxAbs(one.moments().get(key)))));
    }

    @Test
    void aStagesShardsRefuseTheWholeModelsMethodsAndBadRanges() {
        try (CpuBackend backend = new CpuBackend(1); GptNeoModel full = PipelineFixture.tiny(0f).build(backend);
             InProcessCommunicator lone = InProcessCommunicator.group(1).getFirst();
             TensorParallelModel stage = TensorParallelModel.shardStage(full, lone, 1, 3)) {
            assertThat(stage.isWhole()).isFalse();
            assertThat(stage.registry().names()).as("blocks 1 and 2 only").allMatch(n -> n.startsWith("transformer.h.1.")
                    || n.startsWith("transformer.h.2."));
            assertThatThrownBy(stage::gatherFullModel)
                    .hasMessage("gatherFullModel needs the whole model; this one holds the pipeline stage of layers [1, 3)");
            assertThatThrownBy(() -> TensorParallelModel.shardStage(full, lone, 2, 2))
                    .hasMessage("a pipeline stage holds layers [from, to) with 0 <= from < to <= 4, got [2, 2)");
        }
    }

    /** This rank's shard of a full tensor shaped like parameter {@code name}, as {@link TensorParallelShards#cut} makes it. */
    private static float[] shardOf(TensorParallelLayout layout, String name, float[] full, GptNeoConfig config) {
        try (CpuBackend backend = new CpuBackend(1); Arena arena = Arena.ofConfined()) {
            int[] shape = GptNeoModel.parameterShapes(config).get(name);
            Tensor whole = Tensor.of(arena, full, shape);
            Tensor shard = backend.allocate(arena, DType.F32, layout.localShape(name, shape));
            TensorParallelShards.cut(backend, layout, name, whole, shard);
            return shard.toFloatArray();
        }
    }

    private static float maxAbs(float[] x) {
        float m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }
}
