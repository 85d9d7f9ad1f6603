package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.PositionEmbedding;
import org.gptneo.model.Positions;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.Attention;
import org.gptneo.nn.AxialPositions;
import org.gptneo.nn.Block;
import org.gptneo.nn.Embedding;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.GlobalAttention;
import org.gptneo.nn.GradientClipping;
import org.gptneo.nn.LayerNorm;
import org.gptneo.nn.Linear;
import org.gptneo.nn.LinearAttention;
import org.gptneo.nn.LocalAttention;
import org.gptneo.nn.Mlp;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.nn.ParameterSource;
import org.gptneo.nn.Pass;
import org.gptneo.nn.Projection;
import org.gptneo.nn.Tokens;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One rank's part of a GPT-Neo model under Megatron tensor parallelism over the group {@code tp}
 * (shard table: {@link TensorParallelLayout}). The forward pass is the model's, with f before and g
 * after each split layer: embeddings looked up by vocabulary slice and summed, blocks on this rank's
 * heads and MLP slice ({@link TensorParallelBlock}), the final LayerNorm, and the tied LM head giving
 * logits for this rank's vocabulary slice [B, T, V′/t]; {@link #loss} is the vocabulary-parallel
 * cross-entropy, the same number on every rank. Every rank calls the same methods in the same order
 * (they communicate). Parameters keep their Hugging Face names with this rank's shapes; replicated
 * ones get the same gradient on every rank, so an optimizer steps each rank's parameters alone.
 *
 * <p>Dropout: masks are drawn per element index of each tensor, as in the single-device model. The
 * embedding, attention-output and MLP-output sites see whole [N, C] tensors and draw the same masks as
 * the single-device model; the attention probabilities [B, H/t, T, S] of a rank are indexed over its
 * own heads, so with attention dropout on their masks differ from the single-device model's (another
 * valid draw, not the same one).
 *
 * <p>Made by {@link #shard} from a full model (the same on every rank, e.g. initialised from the same
 * seed), which the caller may close afterwards; {@link #shardStage} makes the shards of one pipeline
 * stage's layers instead, which {@code PipelineParallel} runs (tensor × pipeline parallelism); {@link #gatherFullModel} puts an ordinary model back
 * together for saving. The model owns its parameter memory: {@link #close()} frees it. Tensors the
 * ranks exchange live in shared arenas (an in-process group's ranks read them from their own threads)
 * and pass through {@link Collectives}, which stages them when the communicator cannot take the
 * backend's tensors.
 */
public final class TensorParallelModel implements AutoCloseable {
    private final GptNeoConfig config;
    private final TensorParallelLayout layout;
    private final Collectives tp;
    private final Backend backend;
    private final Arena arena;
    private final int from, to;                  // the layers held: [0, L) for the whole model, else a pipeline stage's
    private final VocabParallelEmbedding wte;    // [V′/t, C], also the LM head; null on a middle pipeline stage
    private final Embedding wpe;                 // [P, C] with learned positions (first layers only), else null
    private final AxialPositions axial;          // with axial positions (first layers only), else null
    private final List<TensorParallelBlock> blocks = new ArrayList<>();
    private final LayerNorm lnF;                 // null unless the last layer is held
    private long dropoutCalls;

    private TensorParallelModel(GptNeoModel full, Communicator tp, TensorParallelLayout layout, Arena arena, int from, int to) {
        this.config = full.config();
        this.arena = arena;
        this.layout = layout;
        this.from = from;
        this.to = to;
        this.backend = full.backend();
        this.tp = new Collectives(tp, backend);
        ParameterSource source = shardSource(full.registry());
        int c = config.hiddenSize();
        boolean first = from == 0, last = to == config.layers();
        this.wte = first || last ? new VocabParallelEmbedding(source.take("transformer.wte.weight", new int[] {config.vocabSize(), c},
                ParameterSource.Init.NORMAL, true), layout, this.tp) : null;
        Positions positions = config.positions();
        this.wpe = first && positions.kind() == PositionEmbedding.LEARNED
                ? Embedding.create(source, "transformer.wpe.weight", config.contextLength(), c) : null;
        this.axial = first && positions.kind() == PositionEmbedding.AXIAL
                ? new AxialPositions(source, positions.axialRows(), positions.axialColumns(), c) : null;
        for (int i = from; i < to; i++) blocks.add(block(i, source));
        this.lnF = last ? LayerNorm.create(source, "transformer.ln_f.", c, config.layerNormEpsilon()) : null;
    }

    /** Rank {@code tp.rank()}'s shards of {@code full}, the vocabulary padded to a multiple of 128·t (Megatron's default). */
    public static TensorParallelModel shard(GptNeoModel full, Communicator tp) {
        return shard(full, tp, TensorParallelLayout.DEFAULT_VOCAB_MULTIPLE);
    }

    /**
     * Rank {@code tp.rank()}'s shards of {@code full} (a plain GPT-Neo model with F32 parameters, the
     * same on every rank), copied into memory of its own; the vocabulary is padded to a multiple of
     * {@code vocabMultiple}·t. Trainable flags are kept. A one-line error when the model cannot be split
     * over {@code tp.size()} ranks.
     */
    public static TensorParallelModel shard(GptNeoModel full, Communicator tp, int vocabMultiple) {
        return shard(full, tp, vocabMultiple, 0, full.config().layers());
    }

    /**
     * Rank {@code tp.rank()}'s shards of the pipeline stage of {@code full} that holds layers [from, to)
     * (as {@code PipelineStage} cuts a stage: the embeddings with the first layer, the final LayerNorm
     * and the tied LM head with the last), the vocabulary padded to a multiple of 128·t. Runs through
     * {@code PipelineParallel}; the whole-model methods ({@link #forward}, {@link #gatherFullModel})
     * need all the layers.
     */
    public static TensorParallelModel shardStage(GptNeoModel full, Communicator tp, int from, int to) {
        if (from < 0 || from >= to || to > full.config().layers()) {
            throw new IllegalArgumentException("a pipeline stage holds layers [from, to) with 0 <= from < to <= "
                    + full.config().layers() + ", got [" + from + ", " + to + ")");
        }
        return shard(full, tp, TensorParallelLayout.DEFAULT_VOCAB_MULTIPLE, from, to);
    }

    private static TensorParallelModel shard(GptNeoModel full, Communicator tp, int vocabMultiple, int from, int to) {
        GptNeoConfig config = full.config();
        TensorParallelLayout layout = TensorParallelLayout.of(config, tp.size(), tp.rank(), vocabMultiple);
        Set<String> expected = GptNeoModel.parameterShapes(config).keySet();
        for (String name : full.registry().names()) {
            if (!expected.contains(name)) {
                throw new IllegalArgumentException("tensor parallelism splits a plain GPT-Neo model, but it has the parameter '"
                        + name + "' (merge or remove adapters first)");
            }
        }
        List<Block> fullBlocks = full.blocks();
        for (int i = 0; i < fullBlocks.size(); i++) {
            if (!(fullBlocks.get(i).feedForward() instanceof Mlp)) {
                throw new IllegalArgumentException("tensor parallelism splits GPT-Neo's MLP, but layer " + i + " has a "
                        + fullBlocks.get(i).feedForward().getClass().getSimpleName());
            }
        }
        Arena arena = Arena.ofShared();
        try {
            TensorParallelModel model = new TensorParallelModel(full, tp, layout, arena, from, to);
            model.registry().all().forEach(p -> p.setTrainable(full.registry().get(p.name()).isTrainable()));
            return model;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Takes each parameter as this rank's shard of the full model's, copied into this model's memory. */
    private ParameterSource shardSource(ParameterRegistry full) {
        return (name, shape, init, halfPrecisionAllowed) -> {
            Tensor whole = full.get(name).value();
            if (!Arrays.equals(whole.shape(), shape)) {
                throw new IllegalArgumentException("parameter '" + name + "' is " + whole + ", expected " + Arrays.toString(shape));
            }
            Tensor local = backend.allocate(arena, DType.F32, layout.localShape(name, whole.shape()));
            TensorParallelShards.cut(backend, layout, name, whole, local);
            return Parameter.of(name, Var.parameter(local, arena));
        };
    }

    /**
     * Block i as the model makes it, from shards: q, k, v and c_fc are plain linear layers over this
     * rank's output features (so the attention computes H/t heads), out_proj and c_proj row-parallel.
     */
    private TensorParallelBlock block(int i, ParameterSource source) {
        GptNeoConfig c = config;
        String p = "transformer.h." + i + ".", a = p + "attn.attention.";
        boolean rotary = c.positions().isRotary();
        AttentionType kind = c.attentionLayers().get(i);
        LayerNorm ln1 = kind == AttentionType.NONE ? null : LayerNorm.create(source, p + "ln_1.", c.hiddenSize(), c.layerNormEpsilon());
        Attention attention = switch (kind) {
            case GLOBAL -> new GlobalAttention(source, a, i, c.hiddenSize(), c.heads(), c.attentionDropout(), c.residDropout(),
                    c.causal(), rotary);
            case LOCAL -> new LocalAttention(source, a, i, c.hiddenSize(), c.heads(), c.windowSize(), c.attentionDropout(),
                    c.residDropout(), c.causal(), rotary);
            case LINEAR -> new LinearAttention(source, a, i, c.hiddenSize(), c.heads(), c.residDropout(), c.causal(), rotary);
            case NONE -> null;
        };
        LayerNorm ln2 = LayerNorm.create(source, p + "ln_2.", c.hiddenSize(), c.layerNormEpsilon());
        FeedForward mlp = new FeedForward.Spec(i, p + "mlp.", c.hiddenSize(), c.mlpWidth(), c.residDropout(), source).standard();
        if (attention != null) attention.rewriteProjections(this::rowParallel);
        mlp.rewriteProjections(this::rowParallel);
        return new TensorParallelBlock(ln1, attention, ln2, mlp, tp);
    }

    private Projection rowParallel(String prefix, Projection current) {
        boolean row = layout.split(prefix + "weight") == TensorParallelLayout.Split.COLUMNS;
        return row ? new RowParallelLinear((Linear) current, tp) : current;
    }

    public GptNeoConfig config() {
        return config;
    }

    public TensorParallelLayout layout() {
        return layout;
    }

    public Communicator communicator() {
        return tp.group();
    }

    public Backend backend() {
        return backend;
    }

    /** This rank's parameters by Hugging Face name (shards with their local shapes), in checkpoint order. */
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

    /** Whether this holds every layer (made by {@link #shard}), not one pipeline stage's. */
    public boolean isWhole() {
        return from == 0 && to == config.layers();
    }

    /** Whether the first layer (and so the embeddings) is held. */
    boolean holdsFirstLayer() {
        return from == 0;
    }

    /** Whether the last layer (and so the final LayerNorm and the LM head) is held. */
    boolean holdsLastLayer() {
        return to == config.layers();
    }

    private void requireWhole(String what) {
        if (!isWhole()) {
            throw new IllegalStateException(what + " needs the whole model; this one holds the pipeline stage of layers ["
                    + from + ", " + to + ")");
        }
    }

    /** This rank's tied token embedding shard [V′/t, C] (with the first or the last layer), else null. */
    Parameter tiedEmbedding() {
        return wte == null ? null : wte.parameters().getFirst();
    }

    /** This rank's parameters' values and gradients by name: what its optimizer takes. */
    public Map<String, Var> parameters() {
        return registry().asVars();
    }

    public void zeroGrad() {
        parameters().values().forEach(p -> p.zeroGrad(backend));
    }

    /**
     * This rank's logits [B, T, V′/t] (its vocabulary slice, padding columns included) for ids [B, T]
     * (I32, on the backend, the same on every rank); with {@code training}, dropout with a fresh seed
     * from a per-model call counter, which advances alike on every rank.
     */
    public Var forward(Tape tape, Tensor ids, boolean training) {
        if (training) {
            return forward(tape, ids, new TrainingPass(nextDropoutSeed(), false));
        }
        return logits(Pass.inference(tape), ids, false);
    }

    /** Training logits [B, T, V′/t] with the pass's dropout seed and, if asked, each block recomputed in the backward pass. */
    public Var forward(Tape tape, Tensor ids, TrainingPass pass) {
        return logits(new Pass(tape, true, pass.dropoutSeed()), ids, pass.checkpointBlocks());
    }

    private Var logits(Pass pass, Tensor ids, boolean checkpointBlocks) {
        requireWhole("forward");
        Var logits = wte.logits(pass, hidden(pass, ids, null, checkpointBlocks));  // [N, V′/t]
        return pass.tape().reshape(logits, ids.dim(0), ids.dim(1), layout.vocabRows());
    }

    /**
     * A pipeline stage's part of the training forward pass (as {@code PipelineStage.forward}): [B·T, C],
     * the hidden states after its last block, after the final LayerNorm on the last stage. {@code input}
     * [B·T, C] is the previous stage's output (the same on every tensor-parallel rank); null on the first.
     */
    Var stageForward(Tape tape, Tensor ids, Var input, TrainingPass pass) {
        if ((from == 0) != (input == null)) {
            throw new IllegalArgumentException(from == 0 ? "the first stage embeds the ids and takes no input"
                    : "stage of layers [" + from + ", " + to + ") needs the previous stage's output as input");
        }
        return hidden(new Pass(tape, true, pass.dropoutSeed()), ids, input, pass.checkpointBlocks());
    }

    /** The last pipeline stage's loss for its hidden states [B·T, C]: the vocabulary-parallel LM head and cross-entropy. */
    Var stageLoss(Tape tape, Var hidden, Tensor labels) {
        if (to != config.layers()) {
            throw new IllegalStateException("only the last stage computes the loss; this one holds layers [" + from + ", " + to + ")");
        }
        Var logits = wte.logits(new Pass(tape, true, 0), hidden);                  // [N, V′/t]
        return loss(tape, tape.reshape(logits, labels.dim(0), labels.dim(1), layout.vocabRows()), labels);
    }

    /**
     * The hidden states [B·T, C] after the held blocks (and the final LayerNorm with the last layer):
     * from the embeddings of {@code ids} when {@code input} is null (the first layers are held), else
     * from {@code input}.
     */
    private Var hidden(Pass pass, Tensor ids, Var input, boolean checkpointBlocks) {
        Tape tape = pass.tape();
        if (ids.dtype() != DType.I32 || ids.rank() != 2 || ids.dim(0) < 1 || ids.dim(1) < 1
                || ids.dim(1) > config.contextLength()) {
            throw new IllegalArgumentException("token ids must be an I32 tensor [batch, time] of at most "
                    + config.contextLength() + " tokens, got " + ids);
        }
        int b = ids.dim(0), t = ids.dim(1), n = b * t;
        Tensor positions = tape.allocate(DType.I32, b, t);
        backend.iota(positions);                                                    // [B, T]: 0..T−1 in each row
        Tokens tokens = new Tokens(b, t, positions.reshape(n));
        Var h = input;
        if (input == null) {
            h = wte.forward(pass, ids.reshape(n));                                  // [N, C]
            if (wpe != null) {
                h = tape.add(h, wpe.forward(pass, tokens.positions()));
            } else if (axial != null) {
                h = tape.add(h, axial.forward(pass, tokens.positions()));
            }
            h = pass.dropout(h, config.embedDropout(), 0);
        } else if (input.value().rank() != 2 || input.value().dim(0) != n || input.value().dim(1) != config.hiddenSize()) {
            throw new IllegalArgumentException("the stage's input must be [" + n + ", " + config.hiddenSize() + "] for ids " + ids
                    + ", got " + input.value());
        }
        for (TensorParallelBlock block : blocks) {
            if (checkpointBlocks) {
                h = tape.checkpoint((sub, x) -> block.forward(new Pass(sub, pass.training(), pass.seed()), x, tokens), h);
            } else {
                h = block.forward(pass, h, tokens);
            }
        }
        return lnF != null ? lnF.forward(pass, h) : h;
    }

    /**
     * The language-modelling loss as {@link GptNeoModel#loss(Tape, Var, Tensor)} computes it (causal:
     * next-token; masked LM: at the labelled positions), from every rank's logits [B, T, V′/t]: the
     * same one-element value on every rank.
     *
     * @param labels [B, T] (I32, on the backend, the same on every rank)
     */
    public Var loss(Tape tape, Var logits, Tensor labels) {
        int b = labels.dim(0), t = labels.dim(1);
        Tensor targets = tape.allocate(DType.I32, b * t);                          // [N]
        if (config.causal()) {
            backend.shiftLeft(labels, GptNeoModel.IGNORE_INDEX, targets);
        } else {
            backend.copy(labels.reshape(b * t), targets);
        }
        int[] host;
        try (Arena scratch = Arena.ofConfined()) {
            host = backend.download(targets, scratch).toIntArray();
        }
        for (int label : host) {
            if (label != GptNeoModel.IGNORE_INDEX && (label < 0 || label >= config.vocabSize())) {
                throw new IllegalArgumentException("label " + label + " is outside the vocabulary [0, " + config.vocabSize()
                        + ") and is not the ignore index " + GptNeoModel.IGNORE_INDEX);
            }
        }
        Var local = tape.reshape(logits, b * t, layout.vocabRows());               // [N, V′/t]
        return tape.apply(new VocabParallelCrossEntropy(layout, tp, host, GptNeoModel.IGNORE_INDEX), local);
    }

    /** The whole logits [B, T, V] from every rank's [B, T, V′/t], on every rank (a collective). */
    public Tensor gatherLogits(Tensor local, Arena arena) {
        int b = local.dim(0), t = local.dim(1);
        Tensor full = backend.allocate(arena, DType.F32, b, t, config.vocabSize());
        try (Arena scratch = Arena.ofShared()) {
            TensorParallelShards.joinVocabularyColumns(backend, tp, layout, local.reshape(b * t, layout.vocabRows()),
                    full.reshape(b * t, config.vocabSize()), scratch);
        }
        return full;
    }

    /** The full tensor of parameter {@code name} (full shape) from every rank's {@code shard} of it, on every rank (a collective). */
    public Tensor gather(String name, Tensor shard, Arena arena) {
        int[] fullShape = GptNeoModel.parameterShapes(config).get(name);
        if (fullShape == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        Tensor full = backend.allocate(arena, DType.F32, fullShape);
        try (Arena scratch = Arena.ofShared()) {
            TensorParallelShards.join(backend, tp, layout, name, shard, full, scratch);
        }
        return full;
    }

    /** This rank's shard of {@code full}, a tensor shaped like parameter {@code name} (optimizer moments on resume, for example). */
    public Tensor shardOf(String name, Tensor full, Arena arena) {
        Tensor local = backend.allocate(arena, DType.F32, registry().get(name).shape());
        TensorParallelShards.cut(backend, layout, name, full, local);
        return local;
    }

    /** Every parameter's full value by name, in checkpoint order, on every rank (a collective). */
    public Map<String, Tensor> gatherParameters(Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        registry().all().forEach(p -> out.put(p.name(), gather(p.name(), p.value(), arena)));
        return out;
    }

    /** Every parameter's full gradient by name (zeros where a parameter has none), on every rank (a collective). */
    public Map<String, Tensor> gatherGradients(Arena arena) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (Arena zeros = Arena.ofShared()) {
            for (Parameter p : registry().all()) {
                Tensor grad = p.grad() != null ? p.grad() : backend.allocate(zeros, DType.F32, p.shape());
                out.put(p.name(), gather(p.name(), grad, arena));
            }
        }
        return out;
    }

    /**
     * An ordinary model with the full parameters, on every rank (a collective): what {@code HfCheckpoint.save}
     * writes as one checkpoint, loadable at any layout. The caller closes it.
     */
    public GptNeoModel gatherFullModel() {
        requireWhole("gatherFullModel");
        try (Arena scratch = Arena.ofShared()) {
            Map<String, Tensor> full = gatherParameters(scratch);
            return GptNeoModel.create(config, backend, (name, host) -> host.copyFrom(backend.download(full.get(name), scratch)));
        }
    }

    /**
     * Copies every parameter's full value into {@code model} (an ordinary model of this configuration,
     * F32) on every rank (a collective): so that a caller holding a full model per rank can evaluate or
     * save it with the single-device paths.
     */
    public void copyInto(GptNeoModel model) {
        if (!model.config().equals(config)) {
            throw new IllegalArgumentException("copyInto needs a model of the tensor-parallel model's configuration");
        }
        ParameterRegistry full = model.registry();
        for (Parameter p : registry().all()) {
            try (Arena scratch = Arena.ofShared()) {
                backend.copy(gather(p.name(), p.value(), scratch), full.get(p.name()).value());
            }
        }
    }

    /**
     * Cuts {@code model}'s parameters into this rank's shards (no communication): after the full model
     * was changed on every rank alike, e.g. restored from a checkpoint.
     */
    public void loadFrom(GptNeoModel model) {
        if (!model.config().equals(config)) {
            throw new IllegalArgumentException("loadFrom needs a model of the tensor-parallel model's configuration");
        }
        ParameterRegistry full = model.registry();
        registry().all().forEach(p -> TensorParallelShards.cut(backend, layout, p.name(), full.get(p.name()).value(), p.value()));
    }

    /**
     * The global gradient norm of the whole model, as the single-device model's
     * {@link GradientClipping#inspect} measures it: the shards' squares summed over the ranks (one
     * all-reduce), the replicated parameters counted once; the same on every rank. Names the first
     * parameter of this rank with a non-finite gradient, or says that another rank's is.
     */
    public GradientClipping.Report inspectGradients() {
        Map<String, Double> squares = new LinkedHashMap<>();
        for (Parameter p : registry().all()) {
            if (p.grad() != null) squares.put(p.name(), backend.sumOfSquares(p.grad()));
        }
        return inspectGradients(squares);
    }

    /**
     * {@link #inspectGradients()} from this rank's parameters' squared gradient norms, by name (those
     * with a gradient), measured elsewhere: a ZeRO-1 optimizer's, over its data-parallel group.
     */
    public GradientClipping.Report inspectGradients(Map<String, Double> squares) {
        double replicated = 0, sharded = 0;
        String bad = null;
        for (Map.Entry<String, Double> e : squares.entrySet()) {
            double s = e.getValue();
            if (!Double.isFinite(s) && bad == null) bad = e.getKey();
            if (layout.split(e.getKey()) == TensorParallelLayout.Split.REPLICATED) replicated += s;
            else sharded += s;
        }
        double norm = Math.sqrt(replicated + tp.allReduce(new float[] {(float) sharded}, ReduceOp.SUM)[0]);
        if (bad == null && !Double.isFinite(norm)) bad = "a gradient shard of another tensor-parallel rank";
        return new GradientClipping.Report(norm, Optional.ofNullable(bad));
    }

    /** Whether any rank of the tensor-parallel group passes true (a collective): for the ranks to agree, e.g. on stopping. */
    public boolean anyRank(boolean flag) {
        return tp.allReduce(new float[] {flag ? 1 : 0}, ReduceOp.MAX)[0] > 0;
    }

    private synchronized long nextDropoutSeed() {
        return config.seed() * 1_000_003L + (++dropoutCalls);
    }

    @Override
    public void close() {
        arena.close();
    }
}
