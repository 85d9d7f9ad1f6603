package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.ModelOutput;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.RoutingStats;
import org.gptneo.nn.SecondExpertPolicy;
import org.gptneo.tensor.Tensor;

/**
 * One training step of a tiny mixture-of-experts GPT-Neo on a group of threads, each rank with its own
 * single-threaded CPU backend and its own rows of the batch, either as data-parallel replicas holding
 * every expert (the reference) or expert-parallel; what every rank saw copied to the host: its
 * logits, loss and routing, and the averaged gradients and updated parameters of the whole model
 * (an expert-parallel rank's gathered).
 */
final class ExpertParallelRun {
    /** One rank's step: its logits [B/W, T, V], loss (LM + aux), aux loss, routing, global gradient norm, gradients and updated parameters. */
    record Step(float[] logits, float loss, float aux, List<RoutingStats> routing, double gradientNorm,
                Map<String, float[]> gradients, Map<String, float[]> parameters) {
    }

    static final int TIME = 8, ROWS_PER_RANK = 2;
    static final AdamW.Settings ADAM = AdamW.Settings.defaults().withLr(1e-2f);

    private ExpertParallelRun() {
    }

    /**
     * 2 layers (global, local), both mixtures of 4 experts of width 24, hidden 16, vocabulary 101,
     * embedding and residual dropout 0.1. {@code capacityFactor} 4 keeps every assignment (capacity =
     * the group's tokens); 0.5 with groups of 8 tokens drops many.
     */
    static GptNeoConfig tiny(int topK, float capacityFactor) {
        MoeSettings moe = new MoeSettings(List.of(0, 1), 4, topK, 24, "relu", capacityFactor, 2f, 1,
                capacityFactor < 1 ? 8 : 1024, SecondExpertPolicy.RANDOM, SecondExpertPolicy.ALL, 0.2f, 0.01f);
        return GptNeoBuilder.create().vocabSize(101).contextLength(16).hiddenSize(16).heads(2).layers(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(3).dropout(0f).embedDropout(0.1f)
                .residDropout(0.1f).initializerRange(0.3f).seed(11).moe(moe).config();
    }

    /** Global batch ids [W·2, 8] for W ranks: rank r's rows are [2r, 2r + 2). */
    static int[] ids(int ranks) {
        int[] ids = new int[ranks * ROWS_PER_RANK * TIME];
        for (int i = 0; i < ids.length; i++) ids[i] = (int) ((i * 37L + 11) % 101);
        return ids;
    }

    /** One step of data-parallel replicas over {@code ranks} threads, every expert on every rank; each rank's, in rank order. */
    static List<Step> replicated(GptNeoConfig config, int ranks) {
        return replicated(config, ranks, full -> { });
    }

    /** {@link #replicated(GptNeoConfig, int)} with the initialised model changed by {@code prepare} first. */
    static List<Step> replicated(GptNeoConfig config, int ranks, Consumer<GptNeoModel> prepare) {
        return RankThreads.run(InProcessCommunicator.group(ranks), world -> {
            try (Backend backend = new CpuBackend(1); GptNeoModel model = prepared(config, backend, prepare);
                 DataParallel data = new DataParallel(world, backend, model.parameters());
                 AdamW adam = new AdamW(backend, model.parameters(), ADAM, AdamW.decayExceptBiasAndNorm())) {
                try (Tape tape = new Tape(backend, true); Arena arena = Arena.ofShared()) {
                    Forward f = forward(tape, model, world.rank(), ranks, arena);
                    data.averageGradients();
                    double norm = GradientClipping.inspect(backend, model.parameters()).norm();
                    Map<String, float[]> grads = new LinkedHashMap<>();
                    model.parameters().forEach((name, p) -> grads.put(name, p.grad().toFloatArray()));
                    adam.step();
                    Map<String, float[]> params = new LinkedHashMap<>();
                    model.parameters().forEach((name, p) -> params.put(name, p.value().toFloatArray()));
                    return f.step(norm, grads, params);
                }
            }
        });
    }

    /**
     * The same step expert-parallel: world = dp × ep ranks, rank = e + ep·d; expert-parallel groups
     * {@code world.split(d, e)}, expert-data-parallel groups {@code world.split(e, d)}.
     */
    static List<Step> expertParallel(GptNeoConfig config, int dp, int ep) {
        return expertParallel(config, dp, ep, false, full -> { });
    }

    /**
     * {@link #expertParallel(GptNeoConfig, int, int)} averaging the replicated gradients over the
     * expert-parallel group, then the expert-data-parallel group ({@link ExpertParallelGradients#stepwise}),
     * each rank's rows checked against {@link ExpertParallelGradients#firstRow}.
     */
    static List<Step> expertParallelStepwise(GptNeoConfig config, int dp, int ep) {
        return expertParallel(config, dp, ep, true, full -> { });
    }

    /** {@link #expertParallel(GptNeoConfig, int, int)} with the initialised full model changed by {@code prepare} before sharding. */
    static List<Step> expertParallel(GptNeoConfig config, int dp, int ep, Consumer<GptNeoModel> prepare) {
        return expertParallel(config, dp, ep, false, prepare);
    }

    private static List<Step> expertParallel(GptNeoConfig config, int dp, int ep, boolean stepwise, Consumer<GptNeoModel> prepare) {
        int ranks = dp * ep;
        return RankThreads.run(InProcessCommunicator.group(ranks), world -> {
            int e = world.rank() % ep, d = world.rank() / ep;
            try (Communicator epGroup = world.split(d, e); Communicator expertData = world.split(e, d);
                 Backend backend = new CpuBackend(1); ExpertParallelModel model = shardOfFreshModel(config, backend, epGroup, prepare);
                 ExpertParallelGradients gradients = stepwise ? ExpertParallelGradients.stepwise(model, expertData)
                         : new ExpertParallelGradients(model, world, expertData);
                 AdamW adam = new AdamW(backend, model.model().parameters(), ADAM, AdamW.decayExceptBiasAndNorm())) {
                if (gradients.firstRow(ranks * ROWS_PER_RANK) != world.rank() * ROWS_PER_RANK) {
                    throw new AssertionError("rank " + world.rank() + " would compute rows from " + gradients.firstRow(ranks * ROWS_PER_RANK));
                }
                try (Tape tape = new Tape(backend, true); Arena arena = Arena.ofShared()) {
                    Forward f = forward(tape, model.model(), world.rank(), ranks, arena);
                    gradients.averageGradients();
                    double norm = model.inspectGradients().norm();
                    Map<String, float[]> grads = floats(model.gatherGradients(arena));
                    adam.step();
                    return f.step(norm, grads, floats(model.gatherParameters(arena)));
                }
            }
        });
    }

    /**
     * Every rank's logits [2, 8, V] of an inference pass (evaluation capacity and second-expert policy,
     * no dropout, a tape that records nothing) over its own rows: replicas holding every expert, or
     * expert-parallel over all {@code ranks}.
     */
    static List<float[]> inferenceLogits(GptNeoConfig config, int ranks, boolean expertParallel) {
        return RankThreads.run(InProcessCommunicator.group(ranks), world -> {
            try (Backend backend = new CpuBackend(1); Arena arena = Arena.ofShared(); Tape tape = new Tape(backend, false)) {
                int[] mine = Arrays.copyOfRange(ids(ranks), world.rank() * ROWS_PER_RANK * TIME, (world.rank() + 1) * ROWS_PER_RANK * TIME);
                Tensor input = Tensor.ofInts(arena, mine, ROWS_PER_RANK, TIME);
                if (!expertParallel) {
                    try (GptNeoModel model = GptNeoModel.initialize(config, backend)) {
                        return model.forward(tape, input, false).value().toFloatArray();
                    }
                }
                try (ExpertParallelModel model = shardOfFreshModel(config, backend, world)) {
                    return model.model().forward(tape, input, false).value().toFloatArray();
                }
            }
        });
    }

    /** Every rank initialises the same full model from the seed and keeps its share. */
    static ExpertParallelModel shardOfFreshModel(GptNeoConfig config, Backend backend, Communicator ep) {
        return shardOfFreshModel(config, backend, ep, full -> { });
    }

    private static ExpertParallelModel shardOfFreshModel(GptNeoConfig config, Backend backend, Communicator ep,
                                                         Consumer<GptNeoModel> prepare) {
        try (GptNeoModel full = prepared(config, backend, prepare)) {
            return ExpertParallelModel.shard(full, ep);
        }
    }

    private static GptNeoModel prepared(GptNeoConfig config, Backend backend, Consumer<GptNeoModel> prepare) {
        GptNeoModel model = GptNeoModel.initialize(config, backend);
        prepare.accept(model);
        return model;
    }

    /** Zero gates: every token's probabilities are uniform, so (ties to the lowest expert) all choose experts 0 and 1. */
    static void zeroGates(GptNeoModel model) {
        model.registry().all().stream().filter(p -> p.name().endsWith(".mlp.gate.weight"))
                .forEach(p -> model.backend().fill(p.value(), 0f));
    }

    private record Forward(float[] logits, float loss, float aux, List<RoutingStats> routing) {
        Step step(double norm, Map<String, float[]> gradients, Map<String, float[]> parameters) {
            return new Step(logits, loss, aux, routing, norm, gradients, parameters);
        }
    }

    /** Rank {@code rank}'s rows through {@code model} in a training pass: loss = LM + aux, and its backward pass. */
    private static Forward forward(Tape tape, GptNeoModel model, int rank, int ranks, Arena arena) {
        return forward(tape, model, rank, ranks, 500, arena);
    }

    /** {@link #forward(Tape, GptNeoModel, int, int, Arena)} with the dropout seed {@code seed}; returns the loss. */
    static float trainingLoss(Tape tape, GptNeoModel model, int rank, int ranks, long seed, Arena arena) {
        return forward(tape, model, rank, ranks, seed, arena).loss();
    }

    private static Forward forward(Tape tape, GptNeoModel model, int rank, int ranks, long seed, Arena arena) {
        int[] all = ids(ranks);
        int[] mine = Arrays.copyOfRange(all, rank * ROWS_PER_RANK * TIME, (rank + 1) * ROWS_PER_RANK * TIME);
        Tensor input = Tensor.ofInts(arena, mine, ROWS_PER_RANK, TIME);
        ModelOutput output = model.run(tape, input, new TrainingPass(seed, false));
        Var loss = model.loss(tape, output, input);
        tape.backward(loss);
        return new Forward(output.logits().value().toFloatArray(), loss.value().getFloat(0),
                output.auxLoss().value().getFloat(0), output.routing());
    }

    private static Map<String, float[]> floats(Map<String, Tensor> tensors) {
        Map<String, float[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }
}
