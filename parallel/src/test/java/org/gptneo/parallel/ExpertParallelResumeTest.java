package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A checkpoint of an expert-parallel run is an ordinary one: after a step at ep = 2 the ranks gather
 * the whole model ({@link ExpertParallelModel#gatherFullModel}) and AdamW's moments
 * ({@link ExpertParallelModel#gather}); a fresh run builds a model from those, shards it again, takes
 * its share of the moments ({@link ExpertParallelModel#shardOf}) and steps on. Its second step equals
 * the uninterrupted run's bit for bit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExpertParallelResumeTest {
    private static final int EP = 2;

    /** Every rank's loss of each step and its gathered parameters after the last, as host arrays. */
    private record Run(List<Float> losses, Map<String, float[]> parameters) {
    }

    /** What a checkpoint after step 1 holds: the whole model's weights and AdamW moments by name. */
    private record Checkpoint(Map<String, float[]> weights, Map<String, float[]> m, Map<String, float[]> v) {
    }

    @Test
    void resumingFromAGatheredCheckpointChangesNoBit() {
        GptNeoConfig config = ExpertParallelRun.tiny(2, 0.5f);
        List<Run> uninterrupted = RankThreads.run(InProcessCommunicator.group(EP), ep -> {
            try (Backend backend = new CpuBackend(1); ExpertParallelModel model = ExpertParallelRun.shardOfFreshModel(config, backend, ep)) {
                return steps(model, backend, ep, null, 0, 2);
            }
        });
        List<Checkpoint> saved = RankThreads.run(InProcessCommunicator.group(EP), ep -> {
            try (Backend backend = new CpuBackend(1); ExpertParallelModel model = ExpertParallelRun.shardOfFreshModel(config, backend, ep);
                 AdamW adam = new AdamW(backend, model.model().parameters(), ExpertParallelRun.ADAM, AdamW.decayExceptBiasAndNorm());
                 ExpertParallelGradients gradients = new ExpertParallelGradients(model);
                 Arena arena = Arena.ofShared()) {
                step(model, gradients, adam, backend, ep, 0);
                Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
                adam.moments().forEach((name, moments) -> {
                    m.put(name, moments.m());
                    v.put(name, moments.v());
                });
                try (GptNeoModel whole = model.gatherFullModel()) {
                    Map<String, float[]> weights = new LinkedHashMap<>();
                    whole.parameters().forEach((name, p) -> weights.put(name, p.value().toFloatArray()));
                    return new Checkpoint(weights, floats(model.gather(m, arena)), floats(model.gather(v, arena)));
                }
            }
        });
        assertThat(saved.get(1).weights()).usingRecursiveComparison().isEqualTo(saved.getFirst().weights());
        Checkpoint checkpoint = saved.getFirst();
        List<Run> resumed = RankThreads.run(InProcessCommunicator.group(EP), ep -> {
            try (Backend backend = new CpuBackend(1);
                 GptNeoModel full = GptNeoModel.create(config, backend, (name, host) -> host.copyFrom(checkpoint.weights().get(name)));
                 ExpertParallelModel model = ExpertParallelModel.shard(full, ep)) {
                return steps(model, backend, ep, checkpoint, 1, 2);
            }
        });
        for (int r = 0; r < EP; r++) {
            assertThat(resumed.get(r).losses().getLast()).isEqualTo(uninterrupted.get(r).losses().getLast());
            Map<String, float[]> want = uninterrupted.get(r).parameters();
            resumed.get(r).parameters().forEach((name, p) -> assertThat(p).as(name).containsExactly(want.get(name)));
        }
    }

    /** Steps [from, to) of a run, its AdamW restored from {@code checkpoint} (taken after step {@code from}) unless null. */
    private static Run steps(ExpertParallelModel model, Backend backend, Communicator ep, Checkpoint checkpoint, int from, int to) {
        try (AdamW adam = new AdamW(backend, model.model().parameters(), ExpertParallelRun.ADAM, AdamW.decayExceptBiasAndNorm());
             ExpertParallelGradients gradients = new ExpertParallelGradients(model);
             Arena arena = Arena.ofShared()) {
            if (checkpoint != null) {
                Map<String, Tensor> m = model.shardOf(tensors(shapes(model), checkpoint.m(), arena)),
                        v = model.shardOf(tensors(shapes(model), checkpoint.v(), arena));
                Map<String, AdamW.Moments> moments = new LinkedHashMap<>();
                m.forEach((name, t) -> moments.put(name, new AdamW.Moments(t, v.get(name))));
                adam.restore(from, moments);
            }
            List<Float> losses = new ArrayList<>();
            for (int s = from; s < to; s++) losses.add(step(model, gradients, adam, backend, ep, s));
            return new Run(losses, floats(model.gatherParameters(arena)));
        }
    }

    private static float step(ExpertParallelModel model, ExpertParallelGradients gradients, AdamW adam, Backend backend,
                              Communicator ep, int step) {
        model.model().zeroGrad();
        try (Tape tape = new Tape(backend, true); Arena arena = Arena.ofShared()) {
            float loss = ExpertParallelRun.trainingLoss(tape, model.model(), ep.rank(), EP, 500 + step, arena);
            gradients.averageGradients();
            adam.step();
            return loss;
        }
    }

    private static Map<String, float[]> floats(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }

    /** Host tensors shaped like the parameters they belong to. */
    private static Map<String, Tensor> tensors(Map<String, int[]> shapes, Map<String, float[]> values, Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        values.forEach((name, v) -> out.put(name, Tensor.of(arena, v, shapes.get(name))));
        return out;
    }

    private static Map<String, int[]> shapes(ExpertParallelModel model) {
        return GptNeoModel.parameterShapes(model.model().config());
    }
}
