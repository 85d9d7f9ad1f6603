package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.tensor.Tensor;

/**
 * A tiny GPT-Neo (d 32, 4 heads, 4 layers alternating global and local attention, window 4) trained
 * for a few AdamW steps on fixed micro-batches [2, 8], on one device with gradient accumulation and
 * as a pipeline of in-process ranks: what the pipeline tests compare.
 */
final class PipelineFixture {
    static final int B = 2, T = 8, VOCAB = 64;
    private static final AdamW.Settings ADAM = new AdamW.Settings(1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);

    private PipelineFixture() {
    }

    static GptNeoBuilder tiny(float dropout) {
        return GptNeoBuilder.create().vocabSize(VOCAB).contextLength(16).hiddenSize(32).layers(4).heads(4)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).dropout(dropout)
                .initializerRange(0.1f).seed(7);
    }

    /** Micro-batch {@code micro} of step {@code step}: token ids [B, T], fixed pseudo-random. */
    static int[] ids(int step, int micro) {
        Random random = new Random(1000L * step + micro);
        int[] ids = new int[B * T];
        for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(VOCAB);
        return ids;
    }

    static TrainingPass pass(int step, int micro) {
        return new TrainingPass(31L * step + micro + 1, false);
    }

    /**
     * What one run gives: each step's loss; the first step's gradients, global gradient norm and
     * (pipeline) micro-batches held; the weights and AdamW's moments (as "name.m", "name.v") after the
     * last step; each by Hugging Face name.
     */
    record Run(double[] losses, Map<String, float[]> gradients, double norm, int held, Map<String, float[]> weights,
               Map<String, float[]> moments) {}

    /**
     * One device: each step, m micro-batches forward and backward with gradients accumulated, then
     * divided by m (the Trainer's accumulation), then AdamW. With {@code wholeBatch} one forward pass
     * over the m micro-batches stacked [m·B, T] instead (dropout must be off: masks depend on shapes).
     */
    static Run singleDevice(GptNeoBuilder builder, int m, int steps, boolean wholeBatch) {
        try (CpuBackend backend = new CpuBackend(1); GptNeoModel model = builder.build(backend);
             AdamW adam = new AdamW(backend, model.parameters(), ADAM, AdamW.decayExceptBiasAndNorm())) {
            double[] losses = new double[steps];
            Map<String, float[]> gradients = null;
            double norm = 0;
            for (int step = 0; step < steps; step++) {
                model.zeroGrad();
                double sum = 0;
                int passes = wholeBatch ? 1 : m, rows = wholeBatch ? m * B : B;
                for (int micro = 0; micro < passes; micro++) {
                    int[] ids = wholeBatch ? stacked(step, m) : ids(step, micro);
                    try (Tape tape = new Tape(backend, true); Arena host = Arena.ofConfined()) {
                        Tensor input = Tensor.ofInts(host, ids, rows, T);
                        Var loss = model.loss(tape, model.forward(tape, input, pass(step, micro)), input);
                        tape.backward(loss);
                        sum += loss.value().getFloat(0);
                    }
                }
                losses[step] = sum / passes;
                if (passes > 1) model.parameters().values().forEach(p -> backend.scale(p.grad(), 1f / passes));
                if (step == 0) {
                    gradients = copies(model.parameters(), true);
                    norm = GradientClipping.inspect(backend, model.parameters()).norm();
                }
                adam.step();
            }
            return new Run(losses, gradients, norm, 0, copies(model.parameters(), false), moments(adam.moments()));
        }
    }

    private static int[] stacked(int step, int m) {
        int[] all = new int[m * B * T];
        for (int micro = 0; micro < m; micro++) System.arraycopy(ids(step, micro), 0, all, micro * B * T, B * T);
        return all;
    }

    /**
     * A pipeline of {@code stages} in-process ranks running the same steps; element s is rank s's
     * run: its stage's gradients, weights and moments, except that rank 0's weights and moments are
     * the gathered full model's and optimizer state's.
     */
    static List<Run> pipeline(GptNeoBuilder builder, int stages, int m, int steps, PipelineSchedule schedule) {
        return RankThreads.run(InProcessCommunicator.group(stages), c -> {
            try {
                return rank(builder, c, null, m, steps, schedule);
            } catch (RuntimeException | Error e) {
                c.abort(e);
                throw e;
            }
        });
    }

    /**
     * As {@link #pipeline}, on tp·stages ranks laid out by {@link ParallelGroups} (tensor-parallel
     * fastest), each stage split over its tensor-parallel group; element r is global rank r's run, its
     * gradients this rank's shards.
     */
    static List<Run> tensorPipeline(GptNeoBuilder builder, int tp, int stages, int m, int steps) {
        ParallelLayout layout = new ParallelLayout(1, tp, stages, 1);
        return RankThreads.run(InProcessCommunicator.group(layout.worldSize()), c -> {
            try (ParallelGroups groups = ParallelGroups.split(c, layout)) {
                return rank(builder, groups.pipeline(), groups.tensor(), m, steps, PipelineSchedule.ONE_F_ONE_B);
            } catch (RuntimeException | Error e) {
                c.abort(e);
                throw e;
            }
        });
    }

    /** One rank of a pipeline run over {@code c} (its stages split over {@code tensor} where not null): the element of {@link #pipeline}'s list. */
    static Run rank(GptNeoBuilder builder, Communicator c, Communicator tensor, int m, int steps, PipelineSchedule schedule) {
        try (CpuBackend backend = new CpuBackend(1); PipelineParallel pp = create(builder, backend, c, tensor, schedule);
             AdamW adam = new AdamW(backend, pp.parameters(), ADAM, AdamW.decayExceptBiasAndNorm())) {
            double[] losses = new double[steps];
            Map<String, float[]> gradients = null;
            double norm = 0;
            int held = 0;
            for (int step = 0; step < steps; step++) {
                try (Arena host = Arena.ofConfined()) {
                    List<MicroBatch> batches = new ArrayList<>();
                    for (int micro = 0; micro < m; micro++) {
                        Tensor ids = Tensor.ofInts(host, ids(step, micro), B, T);
                        batches.add(new MicroBatch(ids, ids, pass(step, micro)));
                    }
                    losses[step] = pp.step(batches);
                }
                if (step == 0) {
                    gradients = copies(pp.parameters(), true);
                    norm = pp.gradientReport().norm();
                    held = pp.microBatchesHeld();
                }
                adam.step();
            }
            try (GptNeoModel gathered = pp.gatherModel(); Arena staging = Arena.ofShared()) {
                Map<String, float[]> weights = gathered == null ? copies(pp.parameters(), false) : copies(gathered.parameters(), false);
                Map<String, AdamW.Moments> moments = pp.gatherMoments(adam.moments(), staging);
                return new Run(losses, gradients, norm, held, weights, moments(moments == null ? adam.moments() : moments));
            }
        }
    }

    /** The stage of a full model built here from {@code builder}'s seed, the full model closed again. */
    private static PipelineParallel create(GptNeoBuilder builder, CpuBackend backend, Communicator c, Communicator tensor,
                                           PipelineSchedule schedule) {
        try (GptNeoModel full = builder.build(backend)) {
            return tensor == null ? PipelineParallel.create(full, c, schedule) : PipelineParallel.create(full, c, tensor, schedule);
        }
    }

    private static Map<String, float[]> moments(Map<String, AdamW.Moments> moments) {
        Map<String, float[]> out = new LinkedHashMap<>();
        moments.forEach((name, m) -> {
            out.put(name + ".m", m.m().toFloatArray());
            out.put(name + ".v", m.v().toFloatArray());
        });
        return out;
    }

    private static Map<String, float[]> copies(Map<String, Var> parameters, boolean gradients) {
        Map<String, float[]> out = new LinkedHashMap<>();
        parameters.forEach((name, p) -> out.put(name, (gradients ? p.grad() : p.value()).toFloatArray()));
        return out;
    }
}
