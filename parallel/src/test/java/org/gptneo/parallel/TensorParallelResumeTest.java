package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A run saved as full tensors resumes on another layout: two AdamW steps at t = 4, the weights and
 * moments gathered to full shapes (what a checkpoint holds), a model rebuilt from them and cut for t = 2,
 * the moments cut likewise, one more step: the single-device model's third step.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TensorParallelResumeTest {
    private static final AdamW.Settings ADAM = AdamW.Settings.defaults().withLr(1e-2f);

    /** Full-shaped weights, and moments m and v by parameter name, after some steps. */
    private record Saved(Map<String, float[]> weights, Map<String, float[]> m, Map<String, float[]> v) {
    }

    @Test
    void aRunSavedAtFourRanksResumesAtTwo() {
        GptNeoConfig config = TensorParallelTest.tiny().config();
        TensorParallelRun.Settings three = new TensorParallelRun.Settings(false, false, 3, ADAM);
        Map<String, float[]> want = TensorParallelRun.singleDevice(config, three).getLast().parameters();

        Saved saved = RankThreads.run(InProcessCommunicator.group(4), tp -> {
            try (Backend backend = new CpuBackend(1); TensorParallelModel model = TensorParallelRun.shardOfFreshModel(config, backend, tp, 1);
                 AdamW adam = new AdamW(backend, model.parameters(), ADAM, AdamW.decayExceptBiasAndNorm())) {
                train(model, adam, 2);
                return save(model, adam);
            }
        }).getFirst();

        List<Map<String, float[]>> resumed = RankThreads.run(InProcessCommunicator.group(2), tp -> {
            try (Backend backend = new CpuBackend(1);
                 GptNeoModel full = GptNeoModel.create(config, backend, (name, host) -> host.copyFrom(saved.weights().get(name)));
                 TensorParallelModel model = TensorParallelModel.shard(full, tp, 1);
                 AdamW adam = new AdamW(backend, model.parameters(), ADAM, AdamW.decayExceptBiasAndNorm());
                 Arena arena = Arena.ofShared()) {
                Map<String, AdamW.Moments> moments = new LinkedHashMap<>();
                for (String name : model.parameters().keySet()) {
                    int[] shape = GptNeoModel.parameterShapes(config).get(name);
                    moments.put(name, new AdamW.Moments(model.shardOf(name, Tensor.of(arena, saved.m().get(name), shape), arena),
                            model.shardOf(name, Tensor.of(arena, saved.v().get(name), shape), arena)));
                }
                adam.restore(2, moments);
                train(model, adam, 1);
                Map<String, float[]> weights = new LinkedHashMap<>();
                model.gatherParameters(arena).forEach((name, t) -> weights.put(name, t.toFloatArray()));
                return weights;
            }
        });
        for (Map<String, float[]> rank : resumed) {
            assertThat(rank.keySet()).containsExactlyElementsOf(want.keySet());
            want.forEach((name, w) -> {
                float[] got = rank.get(name);
                double worst = 0;
                for (int i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(got[i] - w[i]));
                assertThat(worst).as(name).isLessThanOrEqualTo(1e-2 * ADAM.lr() * 3);   // TensorParallelTest's step tolerance
            });
        }
    }

    private static void train(TensorParallelModel model, AdamW adam, int steps) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor ids = Tensor.ofInts(arena, TensorParallelRun.IDS, TensorParallelRun.BATCH, TensorParallelRun.TIME);
            for (int s = 0; s < steps; s++) {
                model.zeroGrad();
                try (Tape tape = new Tape(model.backend(), true)) {
                    Var loss = model.loss(tape, model.forward(tape, ids, false), ids);
                    tape.backward(loss);
                    adam.step();
                }
            }
        }
    }

    private static Saved save(TensorParallelModel model, AdamW adam) {
        Map<String, float[]> weights = new LinkedHashMap<>(), m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
        try (Arena arena = Arena.ofShared()) {
            model.gatherParameters(arena).forEach((name, t) -> weights.put(name, t.toFloatArray()));
            adam.moments().forEach((name, moments) -> {
                m.put(name, model.gather(name, moments.m(), arena).toFloatArray());
                v.put(name, model.gather(name, moments.v(), arena).toFloatArray());
            });
        }
        return new Saved(weights, m, v);
    }
}
