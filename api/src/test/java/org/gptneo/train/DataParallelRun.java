package org.gptneo.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.InProcessRanks;
import org.gptneo.parallel.ParallelGroups;
import org.gptneo.parallel.ParallelLayout;

/**
 * The data-parallel tests' run: a tiny GPT-Neo without dropout (so that a rank's rows see the masks a
 * single process would) on a one-thread CPU backend, trained with clipping, weight decay and warm-up;
 * what it returns: the loss of every step and the final parameters.
 */
final class DataParallelRun {
    static final int STEPS = 5;

    /** What one rank (or the single process) saw: the losses per step and the final parameters by name. */
    record Outcome(List<Double> losses, Map<String, float[]> parameters) {}

    private DataParallelRun() {}

    static GptNeoModel model() {
        return GptNeo.builder().vocabSize(64).contextLength(32).hiddenSize(16).layers(2).heads(2).dropout(0f).seed(3)
                .build(new CpuBackend(1)).closingBackend();
    }

    static TrainerBuilder trainer(GptNeoModel model, int batch, int accumulate) {
        return Trainer.builder().model(model).data(ArrayTokens.patterned(3000, 64, 5)).seqLen(16).steps(STEPS)
                .batchSize(batch).accumulate(accumulate).learningRate(1e-2).warmup(1).weightDecay(0.1).gradClip(1.0).seed(11);
    }

    /** One process. */
    static Outcome single(int batch, int accumulate, UnaryOperator<TrainerBuilder> more) {
        try (GptNeoModel model = model()) {
            return run(model, more.apply(trainer(model, batch, accumulate)));
        }
    }

    /** Every rank's outcome, in rank order, of {@code ranks} in-process ranks. */
    static List<Outcome> parallel(int ranks, int zero, int batch, int accumulate, UnaryOperator<TrainerBuilder> more) {
        return InProcessRanks.run(ranks, (Communicator c) -> {
            try (GptNeoModel model = model()) {
                return run(model, more.apply(trainer(model, batch, accumulate)).dataParallel(c).zeroStage(zero));
            }
        });
    }

    /**
     * Every rank's outcome, in global rank order, of {@code layout.worldSize()} in-process ranks split
     * into GPT-NeoX's groups ({@link ParallelGroups}); each group of more than one rank is given to the trainer.
     */
    static List<Outcome> parallel(ParallelLayout layout, int batch, int accumulate, UnaryOperator<TrainerBuilder> more) {
        return InProcessRanks.run(layout.worldSize(), (Communicator world) -> {
            try (ParallelGroups groups = ParallelGroups.split(world, layout); GptNeoModel model = model()) {
                TrainerBuilder builder = more.apply(trainer(model, batch, accumulate));
                if (layout.dp() > 1) builder.dataParallel(groups.data());
                if (layout.tp() > 1) builder.tensorParallel(groups.tensor());
                if (layout.pp() > 1) builder.pipelineParallel(groups.pipeline());
                return run(model, builder);
            }
        });
    }

    static Outcome run(GptNeoModel model, TrainerBuilder builder) {
        List<Double> losses = new ArrayList<>();
        builder.listener(new TrainerListener() {
            @Override public void onStep(StepMetrics m) { losses.add(m.loss()); }
        }).build().fit();
        return new Outcome(losses, parameters(model));
    }

    static Map<String, float[]> parameters(GptNeoModel model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Var> e : model.registry().trainable().asVars().entrySet()) {
            out.put(e.getKey(), e.getValue().value().toFloatArray());
        }
        return out;
    }
}
