package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * dp = 2 × tp = 2 on four threads, groups split from the world as Megatron lays them out (rank =
 * tp + t·dp; tensor-parallel group colour dp, data-parallel group colour tp): each data-parallel rank
 * runs one row of the batch on its tensor-parallel pair, gradients are averaged over the data-parallel
 * group, and the result equals the single-device model on the whole batch.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TensorParallelDataParallelTest {
    private static final int TP = 2, DP = 2;

    @Test
    void dataParallelOverTensorParallelPairsEqualsTheSingleDeviceModel() {
        GptNeoConfig config = TensorParallelTest.tiny().config();
        TensorParallelRun.Step want = TensorParallelRun.singleDevice(config, TensorParallelRun.Settings.evaluation()).getFirst();
        List<TensorParallelRun.Step> got = RankThreads.run(InProcessCommunicator.group(TP * DP), world -> {
            int tpRank = world.rank() % TP, dpRank = world.rank() / TP;
            try (Communicator tp = world.split(dpRank, tpRank); Communicator dp = world.split(tpRank, dpRank);
                 Backend backend = new CpuBackend(1); TensorParallelModel model = TensorParallelRun.shardOfFreshModel(config, backend, tp, 1);
                 DataParallel data = new DataParallel(dp, backend, model.parameters());
                 Arena arena = Arena.ofShared(); Tape tape = new Tape(backend, true)) {
                int rows = data.localRows(TensorParallelRun.BATCH), first = data.firstRow(TensorParallelRun.BATCH);
                int[] ids = Arrays.copyOfRange(TensorParallelRun.IDS, first * TensorParallelRun.TIME,
                        (first + rows) * TensorParallelRun.TIME);
                Tensor input = Tensor.ofInts(arena, ids, rows, TensorParallelRun.TIME);
                Var loss = model.loss(tape, model.forward(tape, input, false), input);
                tape.backward(loss);
                data.averageGradients();
                float meanLoss = data.average(new float[] {loss.value().getFloat(0)})[0];
                Map<String, float[]> grads = new LinkedHashMap<>();
                model.gatherGradients(arena).forEach((name, g) -> grads.put(name, g.toFloatArray()));
                return new TensorParallelRun.Step(new float[0], meanLoss, model.inspectGradients().norm(), grads, Map.of());
            }
        });
        for (TensorParallelRun.Step rank : got) {
            TensorParallelTest.assertClose("loss", new float[] {rank.loss()}, new float[] {want.loss()});
            assertThat(rank.gradients().keySet()).containsExactlyElementsOf(want.gradients().keySet());
            want.gradients().forEach((name, g) -> TensorParallelTest.assertClose("gradient of " + name, rank.gradients().get(name), g));
            TensorParallelTest.assertClose("gradient norm", new float[] {(float) rank.gradientNorm()},
                    new float[] {(float) want.gradientNorm()});
        }
    }
}
