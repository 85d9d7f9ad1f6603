package org.gptneo.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.nn.FeedForward;

/**
 * The fluent way to describe a GPT-Neo model. Unset fields take Hugging Face's GPT-Neo defaults
 * (vocabulary 50257, context 2048, d 2048, 24 layers, 16 heads, alternating global/local attention,
 * window 256, MLP 4·d, gelu_new, no dropout, LayerNorm ε 1e-5). Every rule is checked in
 * {@link #config()} and {@link #build()}, with a message naming the field.
 *
 * <pre>{@code
 * GptNeoModel model = GptNeoBuilder.create()
 *         .vocabSize(50257).contextLength(256)
 *         .hiddenSize(256).layers(4).heads(8)
 *         .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(64)
 *         .build();
 * }</pre>
 */
public final class GptNeoBuilder {
    private static final int END_OF_TEXT = 50256;

    private int vocabSize = 50257;
    private int contextLength = 2048;
    private int hiddenSize = 2048;
    private int layers = 24;
    private int heads = 16;
    /** Either a pattern repeated over all layers ... */
    private List<AttentionType> attentionPattern = List.of(AttentionType.GLOBAL, AttentionType.LOCAL);
    /** ... or an exact compressed list (takes precedence when set). */
    private List<AttentionPattern> attentionTypes;
    private int windowSize = 256;
    private Integer intermediateSize;
    private String activation = Activation.GELU_NEW.configName();
    private float embedDropout;
    private float attentionDropout;
    private float residDropout;
    private float layerNormEpsilon = 1e-5f;
    private float initializerRange = 0.02f;
    private FeedForward.Factory feedForward = FeedForward.Factory.STANDARD;
    private long seed = 42;
    /** null: GPT-2's {@code <|endoftext|>} (50256), or the last id of a smaller vocabulary. */
    private Integer bosTokenId;
    private Integer eosTokenId;

    private GptNeoBuilder() {}

    public static GptNeoBuilder create() {
        return new GptNeoBuilder();
    }

    static GptNeoBuilder from(GptNeoConfig c) {
        return create().vocabSize(c.vocabSize()).contextLength(c.contextLength()).hiddenSize(c.hiddenSize())
                .layers(c.layers()).heads(c.heads()).attentionTypes(c.attentionTypes()).windowSize(c.windowSize())
                .intermediateSize(c.intermediateSize()).activation(c.activation().configName())
                .embedDropout(c.embedDropout()).attentionDropout(c.attentionDropout()).residDropout(c.residDropout())
                .layerNormEpsilon(c.layerNormEpsilon()).initializerRange(c.initializerRange()).seed(c.seed())
                .bosTokenId(c.bosTokenId()).eosTokenId(c.eosTokenId());
    }

    public GptNeoBuilder vocabSize(int v) { this.vocabSize = v; return this; }

    /** Maximum sequence length: rows of the position embedding (max_position_embeddings). */
    public GptNeoBuilder contextLength(int p) { this.contextLength = p; return this; }

    public GptNeoBuilder hiddenSize(int d) { this.hiddenSize = d; return this; }

    public GptNeoBuilder layers(int l) { this.layers = l; return this; }

    public GptNeoBuilder heads(int h) { this.heads = h; return this; }

    /** A pattern repeated over the layers: {@code attention(GLOBAL, LOCAL)} alternates, layer 0 global. */
    public GptNeoBuilder attention(AttentionType... pattern) {
        this.attentionPattern = List.of(pattern);
        this.attentionTypes = null;
        return this;
    }

    /** The exact compressed form of config.json, e.g. [[["local"],10],[["global"],2]]. */
    public GptNeoBuilder attentionTypes(List<AttentionPattern> types) {
        this.attentionTypes = List.copyOf(types);
        return this;
    }

    public GptNeoBuilder windowSize(int w) { this.windowSize = w; return this; }

    /** MLP width F; null restores the default 4·d. */
    public GptNeoBuilder intermediateSize(Integer f) { this.intermediateSize = f; return this; }

    /** By Hugging Face name; only "gelu_new" is supported (checked at build). */
    public GptNeoBuilder activation(String name) { this.activation = name; return this; }

    public GptNeoBuilder activation(Activation a) { this.activation = a.configName(); return this; }

    /** Sets embedding, attention and residual dropout together. */
    public GptNeoBuilder dropout(float p) {
        return embedDropout(p).attentionDropout(p).residDropout(p);
    }

    public GptNeoBuilder embedDropout(float p) { this.embedDropout = p; return this; }

    public GptNeoBuilder attentionDropout(float p) { this.attentionDropout = p; return this; }

    public GptNeoBuilder residDropout(float p) { this.residDropout = p; return this; }

    public GptNeoBuilder layerNormEpsilon(float eps) { this.layerNormEpsilon = eps; return this; }

    /** Standard deviation of the normal weight initialisation. */
    public GptNeoBuilder initializerRange(float std) { this.initializerRange = std; return this; }

    /** Seeds weight initialisation and dropout masks. */
    public GptNeoBuilder seed(long s) { this.seed = s; return this; }

    /**
     * The beginning-of-text id. It may lie outside the vocabulary: Hugging Face's GPTNeoConfig
     * defaults it to 50256 even for small test vocabularies, and such checkpoints must load.
     */
    public GptNeoBuilder bosTokenId(Integer id) { this.bosTokenId = id; return this; }

    /**
     * The end-of-text id. It may lie outside the vocabulary (as {@link #bosTokenId}); the model then
     * never produces it, so generation never stops at end-of-text.
     */
    public GptNeoBuilder eosTokenId(Integer id) { this.eosTokenId = id; return this; }

    /** The validated configuration, without allocating any weights. */
    public GptNeoConfig config() {
        positive("vocabSize", vocabSize);
        positive("contextLength", contextLength);
        positive("hiddenSize", hiddenSize);
        positive("layers", layers);
        positive("heads", heads);
        if (hiddenSize % heads != 0) {
            throw invalid("hiddenSize (" + hiddenSize + ") must be divisible by heads (" + heads + ")");
        }
        if (windowSize < 1) {
            throw invalid("windowSize must be ≥ 1, got " + windowSize);
        }
        if (intermediateSize != null) {
            positive("intermediateSize", intermediateSize);
        }
        Activation act;
        try {
            act = Activation.fromConfigName(activation);
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        probability("embedDropout", embedDropout);
        probability("attentionDropout", attentionDropout);
        probability("residDropout", residDropout);
        if (!(layerNormEpsilon > 0) || Float.isInfinite(layerNormEpsilon)) {
            throw invalid("layerNormEpsilon must be > 0, got " + layerNormEpsilon);
        }
        if (!(initializerRange >= 0) || Float.isInfinite(initializerRange)) {
            throw invalid("initializerRange must be ≥ 0, got " + initializerRange);
        }
        int bos = tokenId("bosTokenId", bosTokenId);
        int eos = tokenId("eosTokenId", eosTokenId);
        return new GptNeoConfig(vocabSize, contextLength, hiddenSize, layers, heads, resolvedAttention(), windowSize,
                intermediateSize, act, embedDropout, attentionDropout, residDropout, layerNormEpsilon,
                initializerRange, seed, bos, eos);
    }

    /**
     * Makes each block's feed-forward layer with {@code factory} instead of GPT-Neo's MLP (a mixture
     * of experts, a user's own layer; {@code spec.standard()} gives the MLP back for some layers).
     * Code, not configuration: it is not part of {@link #config()} or of a saved config.json.
     */
    public GptNeoBuilder feedForward(FeedForward.Factory factory) {
        this.feedForward = java.util.Objects.requireNonNull(factory, "factory");
        return this;
    }

    /** Validates, allocates and initialises a model on a new default backend, which the model closes. */
    public GptNeoModel build() {
        GptNeoConfig config = config();
        Backend backend = Backends.defaultBackend();
        try {
            return GptNeoModel.initialize(config, backend, feedForward).closingBackend();
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    /** Validates, allocates and initialises a model on {@code backend} (the caller keeps owning it). */
    public GptNeoModel build(Backend backend) {
        return GptNeoModel.initialize(config(), backend, feedForward);
    }

    private List<AttentionPattern> resolvedAttention() {
        if (attentionTypes != null) {
            int expanded = AttentionPattern.expand(attentionTypes).size();
            if (expanded != layers) {
                throw invalid("attentionTypes expand to " + expanded + " layers but layers is " + layers);
            }
            return attentionTypes;
        }
        if (attentionPattern.isEmpty()) {
            throw invalid("attention needs at least one attention type");
        }
        if (layers % attentionPattern.size() != 0) {
            throw invalid("attention pattern " + lowerCase(attentionPattern) + " (" + attentionPattern.size()
                    + " layers) must divide layers (" + layers + "); set attention(...) to a pattern that does");
        }
        return List.of(new AttentionPattern(attentionPattern, layers / attentionPattern.size()));
    }

    private int tokenId(String field, Integer id) {
        if (id == null) {
            return Math.min(END_OF_TEXT, vocabSize - 1);
        }
        if (id < 0) {   // ids at or above vocabSize are allowed: see bosTokenId(Integer)
            throw invalid(field + " must be ≥ 0, got " + id);
        }
        return id;
    }

    private static String lowerCase(List<AttentionType> pattern) {
        List<String> names = new ArrayList<>();
        pattern.forEach(t -> names.add(t.configName()));
        return Arrays.toString(names.toArray());
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw invalid(field + " must be ≥ 1, got " + value);
        }
    }

    private static void probability(String field, float p) {
        if (!(p >= 0f && p < 1f)) {
            throw invalid(field + " must be in [0, 1), got " + p);
        }
    }

    private static InvalidConfigException invalid(String message) {
        return new InvalidConfigException(message);
    }
}
