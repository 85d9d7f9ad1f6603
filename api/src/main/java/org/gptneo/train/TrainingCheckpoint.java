package org.gptneo.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.io.CheckpointException;
import org.gptneo.io.SafeTensorsFile;
import org.gptneo.io.SafeTensorsWriter;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The files of one {@code checkpoint-STEP} folder: the trained weights (a Hugging Face folder, or
 * a PEFT adapter folder), {@code optimizer.safetensors} (AdamW's {@code <name>.exp_avg} and
 * {@code <name>.exp_avg_sq}, with the step count in the metadata) and {@code trainer_state.json},
 * written last.
 */
final class TrainingCheckpoint {
    static final String OPTIMIZER = "optimizer.safetensors";
    private static final String EXP_AVG = ".exp_avg";
    private static final String EXP_AVG_SQ = ".exp_avg_sq";

    private TrainingCheckpoint() {}

    /** Writes a checkpoint: the weights, the optimizer's full-sized {@code moments} (backend tensors) and step count, the state. */
    static void write(Path dir, TrainedWeights weights, Map<String, AdamW.Moments> moments, int stepCount, TrainerState state,
                      Backend backend) throws IOException {
        weights.save(dir);
        try (Arena staging = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            moments.forEach((name, m) -> {
                tensors.put(name + EXP_AVG, backend.download(m.m(), staging));
                tensors.put(name + EXP_AVG_SQ, backend.download(m.v(), staging));
            });
            SafeTensorsWriter.write(dir.resolve(OPTIMIZER), tensors,
                    Map.of("step", Integer.toString(stepCount), "format", "gptneo-adamw/1"));
        }
        state.write(dir);
    }

    /** Puts the weights and the optimizer's moments of checkpoint {@code dir} back; returns its state. */
    static TrainerState restore(Path dir, TrainedWeights weights, StepOptimizer optimizer, Backend backend) {
        TrainerState state = TrainerState.read(dir);
        try (SafeTensorsFile file = SafeTensorsFile.open(dir.resolve(weights.weightsFile()));
             Arena staging = Arena.ofShared()) {
            for (Map.Entry<String, Var> e : weights.parameters().entrySet()) {
                Tensor saved = exact(file, e.getKey(), e.getValue().value());
                backend.copy(backend.upload(saved, staging), e.getValue().value());
            }
        }
        try (SafeTensorsFile file = SafeTensorsFile.open(dir.resolve(OPTIMIZER)); Arena staging = Arena.ofShared()) {
            String step = file.metadata().get("step");
            if (step == null || Integer.parseInt(step) != state.step()) {
                throw new CheckpointException(file.path() + ": optimizer step " + step + " does not match the trainer state's "
                        + state.step());
            }
            Map<String, AdamW.Moments> moments = new LinkedHashMap<>();
            weights.parameters().forEach((name, p) -> {
                if (p.requiresGrad()) {                                          // the parameters AdamW updates
                    moments.put(name, new AdamW.Moments(backend.upload(exact(file, name + EXP_AVG, p.value()), staging),
                            backend.upload(exact(file, name + EXP_AVG_SQ, p.value()), staging)));
                }
            });
            optimizer.restore(state.step(), moments);
        }
        return state;
    }

    /** Tensor {@code name} of the file, which must be F32 of {@code like}'s shape. */
    private static Tensor exact(SafeTensorsFile file, String name, Tensor like) {
        if (!file.contains(name)) {
            throw new CheckpointException(file.path() + " lacks tensor '" + name + "' that this run trains");
        }
        Tensor t = file.tensor(name);
        if (t.dtype() != DType.F32 || !t.sameShape(like)) {
            throw new CheckpointException(file.path() + ": tensor '" + name + "' is " + t + ", expected F32 of the shape of " + like);
        }
        return t;
    }
}
