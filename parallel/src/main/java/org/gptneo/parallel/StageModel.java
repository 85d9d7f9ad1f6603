package org.gptneo.parallel;

import java.lang.foreign.Arena;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.PipelineStage;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.tensor.Tensor;

/**
 * One pipeline stage's layers as {@link PipelineParallel} drives them: a plain {@link PipelineStage},
 * or the stage's shards over a tensor-parallel group ({@link TensorParallelModel#shardStage}). Either
 * way the stage takes and gives whole activations [B·T, C]; what differs is that a tensor-parallel
 * stage's parameters are shards, put together by {@link #whole} (a collective of its group).
 */
interface StageModel extends AutoCloseable {

    GptNeoConfig config();

    Backend backend();

    boolean isFirst();

    boolean isLast();

    /** The stage's forward pass: [B·T, C] from ids [B, T] (first stage) or the previous stage's output {@code input}. */
    Var forward(Tape tape, Tensor ids, Var input, TrainingPass pass);

    /** The last stage's loss for its output {@code hidden} [B·T, C] and labels [B, T]. */
    Var loss(Tape tape, Var hidden, Tensor labels);

    /** Its parameters by Hugging Face name (shards on a tensor-parallel stage), in checkpoint order. */
    ParameterRegistry registry();

    /** Its copy of the tied token embedding (first and last stage), else null. */
    Parameter tiedEmbedding();

    /** Whether parameter {@code name} is split over a tensor-parallel group (its gradient's squares then sum over the group). */
    boolean split(String name);

    /** op over the tensor-parallel group of each of {@code values} (a collective; the values themselves without one). */
    float[] acrossTensorParallel(float[] values, ReduceOp op);

    /** The full tensor of parameter {@code name} from this stage's {@code local} one (a collective of a tensor-parallel group). */
    Tensor whole(String name, Tensor local, Arena arena);

    /** local ← this stage's part of {@code full}, a tensor shaped like parameter {@code name} (no communication). */
    void cut(String name, Tensor full, Tensor local);

    @Override
    void close();

    /** A stage of plain layers. */
    static StageModel plain(PipelineStage stage) {
        return new StageModel() {
            @Override public GptNeoConfig config() { return stage.config(); }
            @Override public Backend backend() { return stage.backend(); }
            @Override public boolean isFirst() { return stage.isFirst(); }
            @Override public boolean isLast() { return stage.isLast(); }
            @Override public Var forward(Tape tape, Tensor ids, Var input, TrainingPass pass) { return stage.forward(tape, ids, input, pass); }
            @Override public Var loss(Tape tape, Var hidden, Tensor labels) { return stage.loss(tape, hidden, labels); }
            @Override public ParameterRegistry registry() { return stage.registry(); }
            @Override public Parameter tiedEmbedding() { return stage.tiedEmbedding(); }
            @Override public boolean split(String name) { return false; }
            @Override public float[] acrossTensorParallel(float[] values, ReduceOp op) { return values; }
            @Override public Tensor whole(String name, Tensor local, Arena arena) { return local; }
            @Override public void cut(String name, Tensor full, Tensor local) { stage.backend().copy(full, local); }
            @Override public void close() { stage.close(); }
        };
    }

    /** A stage of tensor-parallel shards ({@link TensorParallelModel#shardStage}). */
    static StageModel tensorParallel(TensorParallelModel shards) {
        Collectives tp = new Collectives(shards.communicator(), shards.backend());
        return new StageModel() {
            @Override public GptNeoConfig config() { return shards.config(); }
            @Override public Backend backend() { return shards.backend(); }
            @Override public boolean isFirst() { return shards.holdsFirstLayer(); }
            @Override public boolean isLast() { return shards.holdsLastLayer(); }
            @Override public Var forward(Tape tape, Tensor ids, Var input, TrainingPass pass) { return shards.stageForward(tape, ids, input, pass); }
            @Override public Var loss(Tape tape, Var hidden, Tensor labels) { return shards.stageLoss(tape, hidden, labels); }
            @Override public ParameterRegistry registry() { return shards.registry(); }
            @Override public Parameter tiedEmbedding() { return shards.tiedEmbedding(); }
            @Override public boolean split(String name) { return shards.layout().split(name) != TensorParallelLayout.Split.REPLICATED; }
            @Override public float[] acrossTensorParallel(float[] values, ReduceOp op) { return tp.allReduce(values, op); }
            @Override public Tensor whole(String name, Tensor local, Arena arena) { return shards.gather(name, local, arena); }
            @Override public void cut(String name, Tensor full, Tensor local) { TensorParallelShards.cut(shards.backend(), shards.layout(), name, full, local); }
            @Override public void close() { shards.close(); }
        };
    }
}
