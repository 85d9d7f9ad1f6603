package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;

/**
 * Training steps of a tiny model on one device and on a tensor-parallel group of threads, each rank
 * with its own single-threaded CPU backend, what every step saw copied out to the host: logits,
 * loss, every gradient and, after the update, every parameter (a rank's gathered to full shapes).
 */
final class TensorParallelRun {
    /** One step: logits [B, T, V], the loss, the global gradient norm, gradients and updated parameters by name. */
    record Step(float[] logits, float loss, double gradientNorm, Map<String, float[]> gradients, Map<String, float[]> parameters) {
    }

    /** What a run does each step: a training pass (dropout on) or not, blocks checkpointed or not. */
    record Settings(boolean training, boolean checkpointBlocks, int steps, AdamW.Settings adam) {
        static Settings evaluation() {
            return new Settings(false, false, 1, AdamW.Settings.defaults());
        }
    }

    static final int BATCH = 2, TIME = 8;

    /** Ids and labels [2, 8] that reach every part of a 101-token vocabulary. */
    static final int[] IDS = {0, 100, 57, 26, 77, 3, 99, 50, 51, 13, 88, 64, 25, 100, 38, 70};

    private TensorParallelRun() {
    }

    static List<Step> singleDevice(GptNeoConfig config, Settings settings) {
        try (Backend backend = new CpuBackend(1); GptNeoModel model = GptNeoModel.initialize(config, backend);
             Arena arena = Arena.ofConfined();
             AdamW adam = new AdamW(backend, model.parameters(), settings.adam(), AdamW.decayExceptBiasAndNorm())) {
            Tensor ids = Tensor.ofInts(arena, IDS, BATCH, TIME);
            List<Step> steps = new ArrayList<>();
            for (int s = 0; s < settings.steps(); s++) {
                model.zeroGrad();
                try (Tape tape = new Tape(backend, true)) {
                    Var logits = settings.training() ? model.forward(tape, ids, pass(s, settings)) : model.forward(tape, ids, false);
                    Var loss = model.loss(tape, logits, ids);
                    tape.backward(loss);
                    double norm = org.gptneo.nn.GradientClipping.inspect(backend, model.parameters()).norm();
                    Map<String, float[]> grads = new LinkedHashMap<>();
                    model.parameters().forEach((name, p) -> grads.put(name, p.grad().toFloatArray()));
                    adam.step();
                    Map<String, float[]> params = new LinkedHashMap<>();
                    model.parameters().forEach((name, p) -> params.put(name, p.value().toFloatArray()));
                    steps.add(new Step(logits.value().toFloatArray(), loss.value().getFloat(0), norm, grads, params));
                }
            }
            return steps;
        }
    }

    /** The steps as every rank of a group of {@code ranks} saw them, in rank order. */
    static List<List<Step>> tensorParallel(GptNeoConfig config, Settings settings, int ranks, int vocabMultiple) {
        return RankThreads.run(InProcessCommunicator.group(ranks), tp -> rank(config, settings, tp, vocabMultiple));
    }

    private static List<Step> rank(GptNeoConfig config, Settings settings, Communicator tp, int vocabMultiple) {
        try (Backend backend = new CpuBackend(1); TensorParallelModel model = shardOfFreshModel(config, backend, tp, vocabMultiple);
             Arena arena = Arena.ofConfined();
             AdamW adam = new AdamW(backend, model.parameters(), settings.adam(), AdamW.decayExceptBiasAndNorm())) {
            Tensor ids = Tensor.ofInts(arena, IDS, BATCH, TIME);
            List<Step> steps = new ArrayList<>();
            for (int s = 0; s < settings.steps(); s++) {
                model.zeroGrad();
                try (Tape tape = new Tape(backend, true); Arena step = Arena.ofShared()) {
                    Var logits = settings.training() ? model.forward(tape, ids, pass(s, settings)) : model.forward(tape, ids, false);
                    Var loss = model.loss(tape, logits, ids);
                    tape.backward(loss);
                    double norm = model.inspectGradients().norm();
                    Map<String, float[]> grads = floats(model.gatherGradients(step));
                    adam.step();
                    Map<String, float[]> params = floats(model.gatherParameters(step));
                    float[] full = model.gatherLogits(logits.value(), step).toFloatArray();
                    steps.add(new Step(full, loss.value().getFloat(0), norm, grads, params));
                }
            }
            return steps;
        }
    }

    /** Every rank initialises the same full model from the seed and keeps its shards. */
    static TensorParallelModel shardOfFreshModel(GptNeoConfig config, Backend backend, Communicator tp, int vocabMultiple) {
        try (GptNeoModel full = GptNeoModel.initialize(config, backend)) {
            return TensorParallelModel.shard(full, tp, vocabMultiple);
        }
    }

    private static TrainingPass pass(int step, Settings settings) {
        return new TrainingPass(1000 + step, settings.checkpointBlocks());
    }

    private static Map<String, float[]> floats(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }
}
