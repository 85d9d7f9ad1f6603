package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.AxialPositions;
import org.gptneo.nn.Block;
import org.gptneo.nn.Embedding;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.LayerNorm;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.nn.ParameterSource;
import org.gptneo.nn.Pass;
import org.gptneo.nn.Tokens;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One stage of a pipeline-parallel GPT-Neo: the blocks of layers [from, to) and, on the first stage
 * (from = 0), the token and position embeddings, on the last (to = layers) the final LayerNorm and
 * the LM head tied to the token embedding. A last stage that is not also the first holds its own
 * copy of {@code transformer.wte.weight} for the head; keeping the two copies equal (summing their
 * gradients) is the pipeline's job. Parameters are copies of a full model's, under the same Hugging
 * Face names, in the stage's own memory ({@link #close()} frees it); frozen ones stay frozen.
 *
 * <p>A stage computes exactly what {@link GptNeoModel#forward(Tape, Tensor, TrainingPass)} computes
 * for its layers: blocks keep their layer numbers, so dropout masks, local windows and rotary
 * positions are the full model's.
 */
public final class PipelineStage implements AutoCloseable {
    private final GptNeoConfig config;
    private final Backend backend;
    private final Arena arena;
    private final int from, to;
    private final Embedding wte;                 // [V, C]: lookup (first stage) and/or LM head (last stage); else null
    private final Embedding wpe;                 // [P, C] on the first stage with learned positions, else null
    private final AxialPositions axial;          // on the first stage with axial positions, else null
    private final List<Block> blocks;            // layers from..to−1
    private final LayerNorm lnF;                 // last stage only

    private PipelineStage(GptNeoConfig config, Backend backend, Arena arena, int from, int to, ParameterSource source) {
        this.config = config;
        this.backend = backend;
        this.arena = arena;
        this.from = from;
        this.to = to;
        boolean first = from == 0, last = to == config.layers();
        this.wte = first || last ? Embedding.create(source, "transformer.wte.weight", config.vocabSize(), config.hiddenSize()) : null;
        Positions positions = config.positions();
        this.wpe = first && positions.kind() == PositionEmbedding.LEARNED
                ? Embedding.create(source, "transformer.wpe.weight", config.contextLength(), config.hiddenSize()) : null;
        this.axial = first && positions.kind() == PositionEmbedding.AXIAL
                ? new AxialPositions(source, positions.axialRows(), positions.axialColumns(), config.hiddenSize()) : null;
        List<Block> own = new ArrayList<>();
        for (int layer = from; layer < to; layer++) own.add(GptNeoModel.block(config, layer, source, FeedForward.Factory.STANDARD));
        this.blocks = List.copyOf(own);
        this.lnF = last ? LayerNorm.create(source, "transformer.ln_f.", config.hiddenSize(), config.layerNormEpsilon()) : null;
    }

    /**
     * The stage of {@code model} holding layers [from, to) (0 ≤ from < to ≤ layers), its parameters
     * copied from the model's (F32, the standard layers: no mixture of experts, no adapters).
     */
    public static PipelineStage of(GptNeoModel model, int from, int to) {
        GptNeoConfig c = model.config();
        if (from < 0 || from >= to || to > c.layers()) {
            throw new IllegalArgumentException("a pipeline stage holds layers [from, to) with 0 <= from < to <= " + c.layers()
                    + ", got [" + from + ", " + to + ")");
        }
        if (!c.moe().isEmpty()) {
            throw new IllegalArgumentException("pipeline parallelism does not support mixture-of-experts layers "
                    + "(their auxiliary loss would have to cross stages)");
        }
        ParameterRegistry full = model.registry();
        Set<String> standard = GptNeoModel.parameterShapes(c).keySet();
        for (String name : full.names()) {
            if (!standard.contains(name)) {
                throw new IllegalArgumentException("pipeline parallelism trains the standard layers only, the model also has '"
                        + name + "' (an adapter?)");
            }
        }
        Backend backend = model.backend();
        Arena arena = Arena.ofShared();
        try {
            return new PipelineStage(c, backend, arena, from, to, copying(full, backend, arena));
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Copies of the full model's parameters, by name, in {@code arena}; a frozen one stays frozen. */
    private static ParameterSource copying(ParameterRegistry full, Backend backend, Arena arena) {
        return (name, shape, init, halfPrecisionAllowed) -> {
            Parameter original = full.get(name);
            if (original.value().dtype() != DType.F32) {
                throw new IllegalArgumentException("pipeline parallelism trains F32 parameters, '" + name + "' is "
                        + original.value().dtype() + " (load the model for training)");
            }
            Tensor value = backend.allocate(arena, DType.F32, shape);
            backend.copy(original.value(), value);
            Parameter copy = Parameter.of(name, Var.parameter(value, arena));
            if (!original.isTrainable()) copy.setTrainable(false);
            return copy;
        };
    }

    public GptNeoConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** The first layer this stage holds. */
    public int from() {
        return from;
    }

    /** One past the last layer this stage holds. */
    public int to() {
        return to;
    }

    /** Whether it holds the embeddings (and takes token ids). */
    public boolean isFirst() {
        return from == 0;
    }

    /** Whether it holds the final LayerNorm and the LM head (and computes the loss). */
    public boolean isLast() {
        return to == config.layers();
    }

    /** Its copy of the tied token embedding {@code transformer.wte.weight} [V, C]: on the first and the last stage, else null. */
    public Parameter tiedEmbedding() {
        return wte == null ? null : wte.table();
    }

    /** Its parameters by Hugging Face name, in checkpoint order, with their trainable flags. */
    public ParameterRegistry registry() {
        return ParameterRegistry.of(this::layerParameters);
    }

    private List<Parameter> layerParameters() {
        List<Parameter> all = new ArrayList<>();
        if (wte != null) all.addAll(wte.parameters());
        if (wpe != null) all.addAll(wpe.parameters());
        if (axial != null) all.addAll(axial.parameters());
        blocks.forEach(b -> all.addAll(b.parameters()));
        if (lnF != null) all.addAll(lnF.parameters());
        return all;
    }

    /**
     * The stage's part of the training forward pass over a micro-batch of token ids [B, T] (I32, on
     * the backend; every stage is given them, the first embeds them): [B·T, C], the hidden states
     * after its last block, and on the last stage after the final LayerNorm. {@code input} [B·T, C]
     * is the previous stage's output (usually a {@link Var#input}); null on the first stage.
     */
    public Var forward(Tape tape, Tensor ids, Var input, TrainingPass pass) {
        if (isFirst() != (input == null)) {
            throw new IllegalArgumentException(isFirst() ? "the first stage embeds the ids and takes no input"
                    : "stage of layers [" + from + ", " + to + ") needs the previous stage's output as input");
        }
        InputCheck.requireIds(backend, ids, config);
        int b = ids.dim(0), t = ids.dim(1), n = b * t;
        Pass p = new Pass(tape, true, pass.dropoutSeed());
        Tensor positions = tape.allocate(DType.I32, b, t);
        backend.iota(positions);                                                    // [B, T]: 0..T−1 in each row
        Tokens tokens = new Tokens(b, t, positions.reshape(n));
        Var h = input;
        if (isFirst()) {
            h = wte.forward(p, ids.reshape(n));                                     // [N, C]
            if (wpe != null) {
                h = tape.add(h, wpe.forward(p, tokens.positions()));
            } else if (axial != null) {
                h = tape.add(h, axial.forward(p, tokens.positions()));
            }
            h = p.dropout(h, config.embedDropout(), 0);
        } else if (input.value().rank() != 2 || input.value().dim(0) != n || input.value().dim(1) != config.hiddenSize()) {
            throw new IllegalArgumentException("the stage's input must be [" + n + ", " + config.hiddenSize() + "] for ids " + ids
                    + ", got " + input.value());
        }
        for (Block block : blocks) {
            if (pass.checkpointBlocks()) {
                h = tape.checkpoint((sub, x) -> block.forward(new Pass(sub, true, p.seed()), x, tokens, null), h);
            } else {
                h = block.forward(p, h, tokens, null);                              // [N, C]
            }
        }
        return isLast() ? lnF.forward(p, h) : h;
    }

    /**
     * The last stage's loss for the final hidden states {@code hidden} [B·T, C] of {@link #forward}:
     * the LM head's logits [B, T, V], then {@link GptNeoModel#loss(Tape, Var, Tensor)} for labels [B, T].
     */
    public Var loss(Tape tape, Var hidden, Tensor labels) {
        if (!isLast()) {
            throw new IllegalStateException("only the last stage computes the loss; this one holds layers [" + from + ", " + to + ")");
        }
        int b = labels.dim(0), t = labels.dim(1);
        Var logits = tape.matmul(hidden, false, wte.table().var(), true);           // [N, V], LM head tied to wte
        return GptNeoModel.languageModelLoss(tape, config, tape.reshape(logits, b, t, config.vocabSize()), labels);
    }

    @Override
    public void close() {
        arena.close();
    }
}
