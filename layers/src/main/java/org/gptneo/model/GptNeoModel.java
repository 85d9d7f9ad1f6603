package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.nn.Attention;
import org.gptneo.nn.AxialPositions;
import org.gptneo.nn.Block;
import org.gptneo.nn.Embedding;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.GlobalAttention;
import org.gptneo.nn.LayerNorm;
import org.gptneo.nn.LinearAttention;
import org.gptneo.nn.LocalAttention;
import org.gptneo.nn.MixtureOfExperts;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.nn.ParameterSource;
import org.gptneo.nn.Pass;
import org.gptneo.nn.ProjectionRewriter;
import org.gptneo.nn.Tokens;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HugePages;
import org.gptneo.tensor.Tensor;

/**
 * GPT-Neo as Hugging Face's {@code GPTNeoForCausalLM} computes it, assembled from layers: token and
 * position {@link Embedding}s, {@link Block}s (pre-LayerNorm, {@link GlobalAttention} or
 * {@link LocalAttention}, an {@link org.gptneo.nn.Mlp} or another {@link FeedForward}), a final
 * {@link LayerNorm} and an LM head tied to the token embedding. Parameters carry their Hugging Face
 * names ({@link #registry()}). The model owns its parameter memory: {@link #close()} frees it.
 * Saving belongs to {@code org.gptneo.io.HfCheckpoint} in the api module.
 */
public final class GptNeoModel implements AutoCloseable {
    /** Label value that the loss skips, as in PyTorch. */
    public static final int IGNORE_INDEX = -100;

    private final GptNeoConfig config;
    private final Backend backend;
    private final Arena arena;
    private final AutoCloseable storage;
    private final Embedding wte;                 // [V, C], also the LM head
    private final Embedding wpe;                 // [P, C] with learned positions, else null
    private final AxialPositions axial;          // [a1, C] and [a2, C] with axial positions, else null
    private final List<Block> blocks;
    private final LayerNorm lnF;
    private long dropoutCalls;
    private boolean ownsBackend;

    private GptNeoModel(GptNeoConfig config, Backend backend, Arena arena, AutoCloseable storage,
                        ParameterSource source, FeedForward.Factory feedForward, MixtureOfExperts.Factory mixtures) {
        this.config = config;
        this.backend = backend;
        this.arena = arena;
        this.storage = storage;
        this.wte = Embedding.create(source, "transformer.wte.weight", config.vocabSize(), config.hiddenSize());
        Positions positions = config.positions();
        this.wpe = positions.kind() == PositionEmbedding.LEARNED
                ? Embedding.create(source, "transformer.wpe.weight", config.contextLength(), config.hiddenSize()) : null;
        this.axial = positions.kind() == PositionEmbedding.AXIAL
                ? new AxialPositions(source, positions.axialRows(), positions.axialColumns(), config.hiddenSize()) : null;
        this.blocks = List.copyOf(blocks(config, source, feedForward, mixtures));
        this.lnF = LayerNorm.create(source, "transformer.ln_f.", config.hiddenSize(), config.layerNormEpsilon());
    }

    private static List<Block> blocks(GptNeoConfig c, ParameterSource source, FeedForward.Factory feedForward,
                                      MixtureOfExperts.Factory mixtures) {
        List<Block> out = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) out.add(block(c, i, source, feedForward, mixtures));
        return out;
    }

    /**
     * Block i: ln_1 and attention of the layer's kind (neither for "none"), ln_2, feed-forward (a
     * mixture of experts in the configured layers); parameters named transformer.h.i.*. Also a
     * pipeline stage's ({@link PipelineStage}).
     */
    static Block block(GptNeoConfig c, int i, ParameterSource source, FeedForward.Factory feedForward) {
        return block(c, i, source, feedForward, MixtureOfExperts.Factory.ALL_EXPERTS);
    }

    private static Block block(GptNeoConfig c, int i, ParameterSource source, FeedForward.Factory feedForward,
                               MixtureOfExperts.Factory mixtures) {
        String p = "transformer.h." + i + ".";
        AttentionType kind = c.attentionLayers().get(i);
        LayerNorm ln1 = kind == AttentionType.NONE ? null : LayerNorm.create(source, p + "ln_1.", c.hiddenSize(), c.layerNormEpsilon());
        Attention attention = attention(c, i, kind, source, p + "attn.attention.");
        LayerNorm ln2 = LayerNorm.create(source, p + "ln_2.", c.hiddenSize(), c.layerNormEpsilon());
        FeedForward.Spec spec = new FeedForward.Spec(i, p + "mlp.", c.hiddenSize(), c.mlpWidth(), c.residDropout(), source);
        FeedForward ff = c.moe().hasLayer(i) ? mixtures.create(spec, c.moe()) : feedForward.create(spec);
        return new Block(ln1, attention, ln2, ff);
    }

    private static Attention attention(GptNeoConfig c, int i, AttentionType kind, ParameterSource source, String prefix) {
        boolean rotary = c.positions().isRotary();
        return switch (kind) {
            case GLOBAL -> new GlobalAttention(source, prefix, i, c.hiddenSize(), c.heads(), c.attentionDropout(),
                    c.residDropout(), c.causal(), rotary);
            case LOCAL -> new LocalAttention(source, prefix, i, c.hiddenSize(), c.heads(), c.windowSize(),
                    c.attentionDropout(), c.residDropout(), c.causal(), rotary);
            case LINEAR -> new LinearAttention(source, prefix, i, c.hiddenSize(), c.heads(), c.residDropout(), c.causal(), rotary);
            case NONE -> null;
        };
    }

    /**
     * The Hugging Face name and shape of every parameter of the standard model, in checkpoint order
     * (tied LM head omitted), without allocating anything: the layers themselves name them.
     */
    public static Map<String, int[]> parameterShapes(GptNeoConfig c) {
        Map<String, int[]> out = new LinkedHashMap<>();
        parameterList(c).forEachRemaining(p -> out.put(p.name(), p.shape()));
        return out;
    }

    /**
     * {@link #parameterShapes} one parameter at a time, a block made only when reached: a loader can
     * stop at the first tensor a checkpoint lacks without listing all of a possibly absurd config.
     */
    public static Iterator<Parameter> parameterList(GptNeoConfig c) {
        ParameterSource shapes = ModelParameters.SHAPES_ONLY;
        return new Iterator<>() {
            private final ArrayDeque<Parameter> pending = new ArrayDeque<>(embeddingParameters(c, shapes));
            private int nextBlock;
            private boolean finalNormDone;

            @Override
            public boolean hasNext() {
                while (pending.isEmpty() && !finalNormDone) {
                    if (nextBlock < c.layers()) {
                        pending.addAll(block(c, nextBlock++, shapes, FeedForward.Factory.STANDARD).parameters());
                    } else {
                        pending.addAll(LayerNorm.create(shapes, "transformer.ln_f.", c.hiddenSize(), c.layerNormEpsilon()).parameters());
                        finalNormDone = true;
                    }
                }
                return !pending.isEmpty();
            }

            @Override
            public Parameter next() {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                return pending.poll();
            }
        };
    }

    /** The token embedding and the position tables, in checkpoint order. */
    private static List<Parameter> embeddingParameters(GptNeoConfig c, ParameterSource source) {
        List<Parameter> out = new ArrayList<>(Embedding.create(source, "transformer.wte.weight", c.vocabSize(), c.hiddenSize()).parameters());
        Positions p = c.positions();
        switch (p.kind()) {
            case LEARNED -> out.addAll(Embedding.create(source, "transformer.wpe.weight", c.contextLength(), c.hiddenSize()).parameters());
            case AXIAL -> out.addAll(new AxialPositions(source, p.axialRows(), p.axialColumns(), c.hiddenSize()).parameters());
            case ROTARY -> { }
        }
        return out;
    }

    /**
     * A model initialised as Hugging Face does: weights and embeddings ~ N(0, initializerRange²),
     * biases 0, LayerNorm weight 1 and bias 0, from {@code config.seed()}.
     */
    public static GptNeoModel initialize(GptNeoConfig config, Backend backend) {
        return initialize(config, backend, FeedForward.Factory.STANDARD);
    }

    /** {@link #initialize(GptNeoConfig, Backend)} with each block's feed-forward layer made by {@code feedForward}. */
    public static GptNeoModel initialize(GptNeoConfig config, Backend backend, FeedForward.Factory feedForward) {
        MemoryCheck.requireRoomFor(config);
        Arena arena = HugePages.over(Arena.ofShared());
        try {
            return new GptNeoModel(config, backend, arena, null,
                    new ModelParameters.Initializer(backend, arena, config.seed(), config.initializerRange()), feedForward,
                    MixtureOfExperts.Factory.ALL_EXPERTS);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Fills each freshly allocated (zeroed) host parameter tensor, given its Hugging Face name. */
    @FunctionalInterface
    public interface ParameterFiller {
        void fill(String name, Tensor zeroed);
    }

    /** A model whose parameters are filled on the host by {@code filler} and uploaded to {@code backend}. */
    public static GptNeoModel create(GptNeoConfig config, Backend backend, ParameterFiller filler) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Arena arena = HugePages.over(Arena.ofShared());
        try {
            for (Map.Entry<String, int[]> e : parameterShapes(config).entrySet()) {
                Tensor host = Tensor.allocate(arena, DType.F32, e.getValue());
                filler.fill(e.getKey(), host);
                tensors.put(e.getKey(), backend.upload(host, arena));
            }
            return fromTensors(config, backend, tensors, arena::close);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A model over existing parameter tensors of {@code backend} (for example views of a
     * memory-mapped checkpoint), used as they are: no copy. Every parameter must be present with
     * its configured shape; weight matrices and embeddings may be F32, BF16, F16 or Q8, vectors (biases,
     * LayerNorm) must be F32. {@code storage} (may be null) is closed with the model: it owns the
     * tensors' memory.
     */
    public static GptNeoModel fromTensors(GptNeoConfig config, Backend backend, Map<String, Tensor> tensors,
                                          AutoCloseable storage) {
        return fromTensors(config, backend, tensors, storage, MixtureOfExperts.Factory.ALL_EXPERTS);
    }

    /**
     * {@link #fromTensors(GptNeoConfig, Backend, Map, AutoCloseable)} with each mixture-of-experts layer
     * made by {@code mixtures}: expert parallelism's layers, which hold a share of the experts, so
     * that {@code tensors} holds only those experts' weights.
     */
    public static GptNeoModel fromTensors(GptNeoConfig config, Backend backend, Map<String, Tensor> tensors,
                                          AutoCloseable storage, MixtureOfExperts.Factory mixtures) {
        Arena arena = Arena.ofShared();
        try {
            return new GptNeoModel(config, backend, arena, storage, new ModelParameters.FromTensors(tensors, arena),
                    FeedForward.Factory.STANDARD, mixtures);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public GptNeoConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** Makes {@link #close()} also close the backend, for a backend made just for this model; returns this. */
    public GptNeoModel closingBackend() {
        ownsBackend = true;
        return this;
    }

    /** The blocks, in order: where to reach a layer's attention or feed-forward part. */
    public List<Block> blocks() {
        return blocks;
    }

    /** Every parameter by Hugging Face name, with its trainable flag (freeze here). */
    public ParameterRegistry registry() {
        return ParameterRegistry.of(this::layerParameters);
    }

    /** The layers' parameters in checkpoint order: embeddings, blocks, final LayerNorm. */
    private List<Parameter> layerParameters() {
        List<Parameter> all = new ArrayList<>(wte.parameters());
        if (wpe != null) all.addAll(wpe.parameters());
        if (axial != null) all.addAll(axial.parameters());
        blocks.forEach(b -> all.addAll(b.parameters()));
        all.addAll(lnF.parameters());
        return all;
    }

    /** Every parameter's value and gradient by Hugging Face name, in checkpoint order; the tied LM head is {@code transformer.wte.weight}. */
    public Map<String, Var> parameters() {
        return registry().asVars();
    }

    /** Parameters actually allocated (equals {@link GptNeoConfig#parameterCount()} for the standard layers). */
    public long parameterCount() {
        return registry().elementCount();
    }

    /** Zeroes every parameter gradient. */
    public void zeroGrad() {
        parameters().values().forEach(p -> p.zeroGrad(backend));
    }

    /**
     * Replaces projections throughout the model (every block's q/k/v/out_proj, c_fc and c_proj), for
     * example with adapters that wrap them; their parameters then join {@link #registry()}.
     */
    public void rewriteProjections(ProjectionRewriter rewriter) {
        blocks.forEach(b -> b.rewriteProjections(rewriter));
    }

    /**
     * logits [B, T, V] for ids [B, T] (I32, on the backend) at positions 0..T−1. With
     * {@code training}, dropout applies with fresh seeded masks on every call (the seed comes from
     * a per-model call counter; {@link #forward(Tape, Tensor, TrainingPass)} takes it explicitly);
     * otherwise it is off.
     */
    public Var forward(Tape tape, Tensor ids, boolean training) {
        return run(tape, ids, training).logits();
    }

    /** {@link #forward(Tape, Tensor, boolean)} with what the layers report beside the logits (auxiliary losses, routing). */
    public ModelOutput run(Tape tape, Tensor ids, boolean training) {
        if (training) {
            return run(tape, ids, new TrainingPass(nextDropoutSeed(), false));
        }
        return logits(Pass.inference(tape), ids, false);
    }

    /**
     * Training logits [B, T, V] for ids [B, T] (I32, on the backend) at positions 0..T−1: dropout
     * on, its masks determined by {@code pass.dropoutSeed()} alone, and with
     * {@code pass.checkpointBlocks()} each block recomputed in the backward pass instead of keeping
     * its activations (same logits and gradients, bit for bit).
     */
    public Var forward(Tape tape, Tensor ids, TrainingPass pass) {
        return run(tape, ids, pass).logits();
    }

    /** {@link #forward(Tape, Tensor, TrainingPass)} with what the layers report beside the logits. */
    public ModelOutput run(Tape tape, Tensor ids, TrainingPass pass) {
        if (pass.checkpointBlocks() && !config.moe().isEmpty()) {
            throw new IllegalArgumentException("activation checkpointing does not support mixture-of-experts layers yet "
                    + "(their auxiliary loss would be recomputed outside the pass)");
        }
        return logits(new Pass(tape, true, pass.dropoutSeed()), ids, pass.checkpointBlocks());
    }

    private ModelOutput logits(Pass pass, Tensor ids, boolean checkpointBlocks) {
        Tape tape = pass.tape();
        InputCheck.requireIds(backend, ids, config);
        int b = ids.dim(0), t = ids.dim(1);
        Tensor positions = tape.allocate(DType.I32, b, t);
        backend.iota(positions);                                        // [B, T]: 0..T−1 in each row
        Var out = transformer(pass, ids, positions, null, checkpointBlocks);   // [N, C]
        Var logits = tape.matmul(out, false, wte.table().var(), true);  // [N, V], LM head tied to wte
        return ModelOutput.of(tape, tape.reshape(logits, b, t, config.vocabSize()), pass.auxiliary());
    }

    /**
     * Inference over new tokens with a KV cache: ids [B, T] (I32) continue the sequences held in
     * {@code cache} (which grows by T), at the given absolute positions [B, T] (I32). Returns the
     * logits [B, V] of each row's last new token only: what generation needs next.
     */
    public Tensor forwardCached(Tape tape, Tensor ids, Tensor positions, KvCache cache) {
        InputCheck.requireIds(backend, ids, config);
        InputCheck.requirePositions(backend, positions, ids, config);
        cache.requireFits(ids.dim(1));
        int b = ids.dim(0), t = ids.dim(1);
        Var out = transformer(Pass.inference(tape), ids, positions, cache, false);   // [N, C]
        cache.advance(t);
        Tensor last = tape.allocate(b, config.hiddenSize());                   // [B, C]: each row's last token
        backend.copy(out.value().reshape(b, t, config.hiddenSize()).slice(1, t - 1, t), last.reshape(b, 1, config.hiddenSize()));
        return tape.matmul(Var.constant(last), false, wte.table().var(), true).value();   // [B, V]
    }

    /**
     * Embeddings, every block and the final LayerNorm: [N, C] for ids [B, T]; with
     * {@code checkpointBlocks} (no cache then) each block runs under {@link Tape#checkpoint}.
     */
    private Var transformer(Pass pass, Tensor ids, Tensor positions, KvCache cache, boolean checkpointBlocks) {
        Tape tape = pass.tape();
        int b = ids.dim(0), t = ids.dim(1), n = b * t;
        Tokens tokens = new Tokens(b, t, positions.reshape(n));
        Var h = wte.forward(pass, ids.reshape(n));                                   // [N, C]
        if (wpe != null) {
            h = tape.add(h, wpe.forward(pass, tokens.positions()));
        } else if (axial != null) {
            h = tape.add(h, axial.forward(pass, tokens.positions()));
        }
        h = pass.dropout(h, config.embedDropout(), 0);
        for (int layer = 0; layer < blocks.size(); layer++) {
            Block block = blocks.get(layer);
            if (checkpointBlocks) {
                h = tape.checkpoint((sub, x) -> block.forward(new Pass(sub, pass.training(), pass.seed()), x, tokens, null), h);
            } else {
                h = block.forward(pass, h, tokens, cache == null ? null : cache.layer(layer));
            }
        }
        return lnF.forward(pass, h);
    }

    /**
     * The language-modelling loss for {@code labels}, labels equal to {@link #IGNORE_INDEX} skipped.
     * Causal LM: mean next-token cross-entropy as GPTNeoForCausalLM computes it (logits at t
     * predict labels at t + 1). Masked LM: mean cross-entropy at each labelled position, no shift.
     * Auxiliary losses are not included: see {@link #loss(Tape, ModelOutput, Tensor)}.
     *
     * @param logits [B, T, V] from {@link #forward}
     * @param labels [B, T] (I32, on the backend): for causal LM usually the input ids
     */
    public Var loss(Tape tape, Var logits, Tensor labels) {
        return languageModelLoss(tape, config, logits, labels);
    }

    /** {@link #loss(Tape, Var, Tensor)} for a model of {@code config}: also a pipeline's last stage's ({@link PipelineStage}). */
    static Var languageModelLoss(Tape tape, GptNeoConfig config, Var logits, Tensor labels) {
        Backend backend = tape.backend();
        int b = labels.dim(0), t = labels.dim(1);
        Tensor targets = tape.allocate(DType.I32, b * t);               // [N]
        if (config.causal()) {
            backend.shiftLeft(labels, IGNORE_INDEX, targets);           // labels shifted left
        } else {
            backend.copy(labels.reshape(b * t), targets);
        }
        InputCheck.requireLabels(backend, targets, config);
        return tape.crossEntropyMean(tape.reshape(logits, b * t, config.vocabSize()), targets, IGNORE_INDEX);
    }

    /** The training loss: {@link #loss(Tape, Var, Tensor)} plus the pass's auxiliary losses (mixture-of-experts balancing). */
    public Var loss(Tape tape, ModelOutput output, Tensor labels) {
        Var lm = loss(tape, output.logits(), labels);
        return output.auxLoss() == null ? lm : tape.add(lm, output.auxLoss());
    }

    private synchronized long nextDropoutSeed() {
        return config.seed() * 1_000_003L + (++dropoutCalls);
    }

    @Override
    public void close() {
        arena.close();
        try {
            if (storage != null) {
                storage.close();
            }
        } catch (Exception e) {
            throw new IllegalStateException("closing the model's storage failed: " + e.getMessage(), e);
        } finally {
            if (ownsBackend) {
                backend.close();
            }
        }
    }
}
