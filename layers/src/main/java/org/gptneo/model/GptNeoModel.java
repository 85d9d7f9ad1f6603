package org.gptneo.model;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * GPT-Neo as Hugging Face's {@code GPTNeoForCausalLM} computes it: token + position embeddings,
 * pre-LayerNorm blocks (global or local causal self-attention without 1/√d scaling, gelu_new MLP),
 * a final LayerNorm and an LM head tied to the token embedding. Parameters carry their Hugging Face
 * names. The model owns its parameter memory: {@link #close()} frees it.
 */
public final class GptNeoModel implements AutoCloseable {
    /** Label value that the loss skips, as in PyTorch. */
    public static final int IGNORE_INDEX = -100;

    private final GptNeoConfig config;
    private final Backend backend;
    private final Arena arena;
    private final AutoCloseable storage;
    private final Map<String, Var> parameters;
    private final Var wte;                       // [V, d]
    private final Var wpe;                       // [P, d]
    private final List<Block> blocks;
    private final Var lnFWeight, lnFBias;        // [d]
    private long dropoutCalls;

    private GptNeoModel(GptNeoConfig config, Backend backend, Arena arena, AutoCloseable storage,
                        Map<String, Var> parameters) {
        this.config = config;
        this.backend = backend;
        this.arena = arena;
        this.storage = storage;
        this.parameters = Collections.unmodifiableMap(parameters);
        this.wte = parameters.get("transformer.wte.weight");
        this.wpe = parameters.get("transformer.wpe.weight");
        this.lnFWeight = parameters.get("transformer.ln_f.weight");
        this.lnFBias = parameters.get("transformer.ln_f.bias");
        List<Block> list = new ArrayList<>();
        for (int i = 0; i < config.layers(); i++) {
            String p = "transformer.h." + i + ".";
            list.add(new Block(
                    parameters.get(p + "ln_1.weight"), parameters.get(p + "ln_1.bias"),
                    parameters.get(p + "attn.attention.q_proj.weight"),
                    parameters.get(p + "attn.attention.k_proj.weight"),
                    parameters.get(p + "attn.attention.v_proj.weight"),
                    parameters.get(p + "attn.attention.out_proj.weight"),
                    parameters.get(p + "attn.attention.out_proj.bias"),
                    parameters.get(p + "ln_2.weight"), parameters.get(p + "ln_2.bias"),
                    parameters.get(p + "mlp.c_fc.weight"), parameters.get(p + "mlp.c_fc.bias"),
                    parameters.get(p + "mlp.c_proj.weight"), parameters.get(p + "mlp.c_proj.bias")));
        }
        this.blocks = List.copyOf(list);
    }

    /**
     * The Hugging Face name and shape of every parameter, in checkpoint order (tied LM head omitted).
     */
    public static Map<String, int[]> parameterShapes(GptNeoConfig c) {
        int d = c.hiddenSize(), f = c.mlpWidth();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("transformer.wte.weight", new int[] {c.vocabSize(), d});
        shapes.put("transformer.wpe.weight", new int[] {c.contextLength(), d});
        for (int i = 0; i < c.layers(); i++) {
            String p = "transformer.h." + i + ".";
            shapes.put(p + "ln_1.weight", new int[] {d});
            shapes.put(p + "ln_1.bias", new int[] {d});
            shapes.put(p + "attn.attention.q_proj.weight", new int[] {d, d});
            shapes.put(p + "attn.attention.k_proj.weight", new int[] {d, d});
            shapes.put(p + "attn.attention.v_proj.weight", new int[] {d, d});
            shapes.put(p + "attn.attention.out_proj.weight", new int[] {d, d});
            shapes.put(p + "attn.attention.out_proj.bias", new int[] {d});
            shapes.put(p + "ln_2.weight", new int[] {d});
            shapes.put(p + "ln_2.bias", new int[] {d});
            shapes.put(p + "mlp.c_fc.weight", new int[] {f, d});
            shapes.put(p + "mlp.c_fc.bias", new int[] {f});
            shapes.put(p + "mlp.c_proj.weight", new int[] {d, f});
            shapes.put(p + "mlp.c_proj.bias", new int[] {d});
        }
        shapes.put("transformer.ln_f.weight", new int[] {d});
        shapes.put("transformer.ln_f.bias", new int[] {d});
        return shapes;
    }

    /**
     * A model initialised as Hugging Face does: weights and embeddings ~ N(0, initializerRange²),
     * biases 0, LayerNorm weight 1 and bias 0, from {@code config.seed()}.
     */
    public static GptNeoModel initialize(GptNeoConfig config, Backend backend) {
        MemoryCheck.requireRoomFor(config);
        SplittableRandom random = new SplittableRandom(config.seed());
        return create(config, backend, (name, tensor) -> {
            boolean isNorm = name.contains(".ln_");
            boolean isBias = name.endsWith(".bias");
            if (isNorm && !isBias) {
                backend.fill(tensor, 1f);
            } else if (!isBias) {
                float[] values = new float[Math.toIntExact(tensor.size())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * config.initializerRange());
                }
                tensor.copyFrom(values);
            }
        });
    }

    /** Fills each freshly allocated (zeroed) parameter tensor, given its Hugging Face name. */
    @FunctionalInterface
    public interface ParameterFiller {
        void fill(String name, Tensor zeroed);
    }

    /** A model whose parameters are allocated on {@code backend} and filled by {@code filler}. */
    public static GptNeoModel create(GptNeoConfig config, Backend backend, ParameterFiller filler) {
        Arena arena = Arena.ofShared();
        try {
            Map<String, Var> parameters = new LinkedHashMap<>();
            for (Map.Entry<String, int[]> e : parameterShapes(config).entrySet()) {
                Tensor t = backend.allocate(arena, DType.F32, e.getValue());
                filler.fill(e.getKey(), t);
                parameters.put(e.getKey(), Var.parameter(t, arena));
            }
            return new GptNeoModel(config, backend, arena, null, parameters);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A model over existing parameter tensors (for example views of a memory-mapped checkpoint),
     * used as they are: no copy. Every parameter must be present with its configured shape; weight
     * matrices and embeddings may be F32, BF16 or F16, vectors (biases, LayerNorm) must be F32.
     * {@code storage} (may be null) is closed with the model: it owns the tensors' memory.
     */
    public static GptNeoModel fromTensors(GptNeoConfig config, Backend backend, Map<String, Tensor> tensors,
                                          AutoCloseable storage) {
        Arena arena = Arena.ofShared();
        Map<String, Var> parameters = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : parameterShapes(config).entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null) {
                arena.close();
                throw new IllegalArgumentException("missing parameter '" + e.getKey() + "'");
            }
            boolean matrix = e.getValue().length == 2;
            if (!Arrays.equals(t.shape(), e.getValue())
                    || !(t.dtype() == DType.F32 || matrix && (t.dtype() == DType.BF16 || t.dtype() == DType.F16))) {
                arena.close();
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' is " + t + ", expected F32"
                        + (matrix ? " (or BF16/F16) " : " ") + Arrays.toString(e.getValue()));
            }
            parameters.put(e.getKey(), Var.parameter(t, arena));
        }
        return new GptNeoModel(config, backend, arena, storage, parameters);
    }

    public GptNeoConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** Every parameter by Hugging Face name, in checkpoint order; the tied LM head is {@code transformer.wte.weight}. */
    public Map<String, Var> parameters() {
        return parameters;
    }

    /** Parameters actually allocated (equals {@link GptNeoConfig#parameterCount()}). */
    public long parameterCount() {
        return parameters.values().stream().mapToLong(v -> v.value().size()).sum();
    }

    /** Zeroes every parameter gradient. */
    public void zeroGrad() {
        parameters.values().forEach(p -> p.zeroGrad(backend));
    }

    /**
     * logits [B, T, V] for ids [B, T] (I32) at positions 0..T−1. With {@code training}, dropout
     * applies with fresh seeded masks on every call; otherwise it is off.
     */
    public Var forward(Tape tape, Tensor ids, boolean training) {
        InputCheck.requireIds(ids, config);
        int b = ids.dim(0), t = ids.dim(1);
        Tensor positions = tape.allocate(DType.I32, b, t);
        for (int i = 0; i < b * t; i++) {
            positions.setInt(i, i % t);
        }
        Var out = transformer(tape, ids, positions, null, training);   // [N, d]
        Var logits = tape.matmul(out, false, wte, true);              // [N, V], LM head tied to wte
        return tape.reshape(logits, b, t, config.vocabSize());
    }

    /**
     * Inference over new tokens with a KV cache: ids [B, T] (I32) continue the sequences held in
     * {@code cache} (which grows by T), at the given absolute positions [B, T] (I32). Returns the
     * logits [B, V] of each row's last new token only: what generation needs next.
     */
    public Tensor forwardCached(Tape tape, Tensor ids, Tensor positions, KvCache cache) {
        InputCheck.requireIds(ids, config);
        InputCheck.requirePositions(positions, ids, config);
        cache.requireFits(ids.dim(1));
        int b = ids.dim(0), t = ids.dim(1);
        Var out = transformer(tape, ids, positions, cache, false);      // [N, d]
        cache.advance(t);
        Tensor lastRows = tape.allocate(DType.I32, b);
        for (int row = 0; row < b; row++) {
            lastRows.setInt(row, row * t + t - 1);
        }
        Var last = tape.embedding(out, lastRows);                       // [B, d]: gathers the last row of each sequence
        return tape.matmul(last, false, wte, true).value();             // [B, V]
    }

    /** Embeddings, every block and the final LayerNorm: [N, d] for ids [B, T]. */
    private Var transformer(Tape tape, Tensor ids, Tensor positions, KvCache cache, boolean training) {
        int b = ids.dim(0), t = ids.dim(1), n = b * t;
        long dropoutSeed = training ? nextDropoutSeed() : 0;
        Var h = tape.add(tape.embedding(wte, ids.reshape(n)), tape.embedding(wpe, positions.reshape(n))); // [N, d]
        h = dropout(tape, h, config.embedDropout(), training, dropoutSeed, 0);

        List<AttentionType> types = config.attentionLayers();
        for (int layer = 0; layer < blocks.size(); layer++) {
            Block blk = blocks.get(layer);
            boolean local = types.get(layer) == AttentionType.LOCAL;
            Var attn = attention(tape, blk, tape.layerNorm(h, blk.ln1Weight(), blk.ln1Bias(), config.layerNormEpsilon()),
                    b, t, local, cache, training, dropoutSeed, layer);
            h = tape.add(h, attn);
            Var mlp = mlp(tape, blk, tape.layerNorm(h, blk.ln2Weight(), blk.ln2Bias(), config.layerNormEpsilon()),
                    training, dropoutSeed, layer);
            h = tape.add(h, mlp);
        }
        return tape.layerNorm(h, lnFWeight, lnFBias, config.layerNormEpsilon());
    }

    /**
     * Mean next-token cross-entropy as GPTNeoForCausalLM computes it with {@code labels}: logits at
     * t predict labels at t + 1, labels equal to {@link #IGNORE_INDEX} are skipped.
     *
     * @param logits [B, T, V] from {@link #forward}
     * @param labels [B, T] (I32), usually the input ids
     */
    public Var loss(Tape tape, Var logits, Tensor labels) {
        int b = labels.dim(0), t = labels.dim(1);
        Tensor targets = tape.allocate(DType.I32, b * t);               // [N]: labels shifted left
        for (int row = 0; row < b; row++) {
            for (int col = 0; col < t; col++) {
                targets.setInt((long) row * t + col, col + 1 < t ? labels.getInt((long) row * t + col + 1) : IGNORE_INDEX);
            }
        }
        InputCheck.requireLabels(targets, config);
        return tape.crossEntropyMean(tape.reshape(logits, b * t, config.vocabSize()), targets, IGNORE_INDEX);
    }

    /**
     * out_proj(softmax(mask(q·kᵀ))·v) for x [N, d]; no 1/√head scaling (folded into q_proj's
     * weights). With a cache, keys and values are the cached ones followed by the new ones.
     */
    private Var attention(Tape tape, Block blk, Var x, int b, int t, boolean local, KvCache cache,
                          boolean training, long seed, int layer) {
        int heads = config.heads(), hs = config.headSize(), n = b * t;
        Var q = splitHeads(tape, tape.linear(x, blk.qProj(), null), b, t);   // [B, H, T, hs]
        Var k = splitHeads(tape, tape.linear(x, blk.kProj(), null), b, t);
        Var v = splitHeads(tape, tape.linear(x, blk.vProj(), null), b, t);
        AttentionMask mask = local ? AttentionMask.local(config.windowSize()) : AttentionMask.GLOBAL;
        if (cache != null) {
            KvCache.Keys all = cache.extend(tape, layer, local, k.value(), v.value());
            k = Var.constant(all.keys());                                   // [B, H, S, hs]
            v = Var.constant(all.values());
            mask = all.mask();
        }
        Var scores = tape.matmul(q, false, k, true);                        // [B, H, T, S]
        Var probs = tape.maskedSoftmax(scores, mask);
        probs = dropout(tape, probs, config.attentionDropout(), training, seed, 4 * layer + 1);
        Var context = tape.matmul(probs, false, v, false);                  // [B, H, T, hs]
        Var merged = tape.reshape(tape.swapMiddle(context), n, heads * hs); // [N, d]
        Var out = tape.linear(merged, blk.outProj(), blk.outProjBias());
        return dropout(tape, out, config.residDropout(), training, seed, 4 * layer + 2);
    }

    /** c_proj(gelu_new(c_fc(x))) for x [N, d]. */
    private Var mlp(Tape tape, Block blk, Var x, boolean training, long seed, int layer) {
        Var hidden = tape.geluNew(tape.linear(x, blk.fcWeight(), blk.fcBias()));   // [N, F]
        Var out = tape.linear(hidden, blk.projWeight(), blk.projBias());          // [N, d]
        return dropout(tape, out, config.residDropout(), training, seed, 4 * layer + 3);
    }

    /** [N, d] → [B, H, T, hs]: head h owns features h·hs … h·hs + hs − 1. */
    private Var splitHeads(Tape tape, Var x, int b, int t) {
        return tape.swapMiddle(tape.reshape(x, b, t, config.heads(), config.headSize()));
    }

    private static Var dropout(Tape tape, Var x, float p, boolean training, long seed, int site) {
        return training ? tape.dropout(x, p, seed * 0x9E3779B97F4A7C15L + site) : x;
    }

    private synchronized long nextDropoutSeed() {
        return config.seed() * 1_000_003L + (++dropoutCalls);
    }

    /**
     * Writes a Hugging Face model folder ({@code config.json} + {@code model.safetensors}) that
     * {@code GPTNeoForCausalLM.from_pretrained} reads.
     */
    public void save(Path dir) {
        HfCheckpoint.save(this, dir);
    }

    @Override
    public void close() {
        arena.close();
        if (storage != null) {
            try {
                storage.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the model's storage failed: " + e.getMessage(), e);
            }
        }
    }
}
