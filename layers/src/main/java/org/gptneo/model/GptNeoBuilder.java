package org.gptneo.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.nn.FeedForward;
import org.gptneo.nn.MoeSettings;
import org.gptneo.nn.SecondExpertPolicy;

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
    private Positions positions = Positions.LEARNED;
    /** null: no experts unless {@link #expertLayers} names layers; else E. */
    private Integer experts;
    /** null: every other layer (1, 3, 5, ...; layer 0 in a one-layer model) once experts are set. */
    private List<Integer> expertLayers;
    private MoeSettings moe = MoeSettings.NONE;
    private Objective objective = Objective.CAUSAL_LM;
    private MaskedLmSettings maskedLm = MaskedLmSettings.DEFAULT;

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
                .bosTokenId(c.bosTokenId()).eosTokenId(c.eosTokenId()).positions(c.positions())
                .moe(c.moe()).objective(c.objective()).maskedLm(c.maskedLm());
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

    // ---- positions -----------------------------------------------------------------------------

    /** {@code LEARNED} (wpe, the default) or {@code ROTARY}; axial ones need their shape: {@link #positions(PositionEmbedding, int, int)}. */
    public GptNeoBuilder positions(PositionEmbedding kind) {
        if (kind == PositionEmbedding.AXIAL) {
            throw invalid("axial positions need their shape: positions(AXIAL, a1, a2) with a1·a2 = contextLength");
        }
        this.positions = kind == PositionEmbedding.ROTARY ? Positions.ROTARY : Positions.LEARNED;
        return this;
    }

    /** Axial positions from tables [a1, C] and [a2, C]; a1·a2 must equal the context length. */
    public GptNeoBuilder positions(PositionEmbedding kind, int a1, int a2) {
        if (kind != PositionEmbedding.AXIAL) {
            throw invalid("only axial positions take a shape, got " + kind.configName());
        }
        this.positions = Positions.axial(a1, a2);
        return this;
    }

    public GptNeoBuilder positions(Positions p) { this.positions = java.util.Objects.requireNonNull(p, "positions"); return this; }

    // ---- mixture of experts -------------------------------------------------------------------

    /** E experts in the expert layers (by default every other layer: 1, 3, 5, ...). */
    public GptNeoBuilder experts(int e) { this.experts = e; return this; }

    /** The 0-based layers whose MLP is a mixture of experts. */
    public GptNeoBuilder expertLayers(int... layerIndices) {
        this.expertLayers = Arrays.stream(layerIndices).boxed().toList();
        return this;
    }

    /** Experts per token: 1 (Switch) or 2 (the default). */
    public GptNeoBuilder topK(int k) { return moeWith(m -> copy(m, k, m.capacityFactor(), m.evalCapacityFactor(), m.secondPolicy(), m.secondPolicyEval())); }

    /** Capacity factor of training passes (1.25). */
    public GptNeoBuilder capacityFactor(float f) { return moeWith(m -> copy(m, m.topK(), f, m.evalCapacityFactor(), m.secondPolicy(), m.secondPolicyEval())); }

    /** Capacity factor of passes without dropout: evaluation, logits, generation (2.0). */
    public GptNeoBuilder evalCapacityFactor(float f) { return moeWith(m -> copy(m, m.topK(), m.capacityFactor(), f, m.secondPolicy(), m.secondPolicyEval())); }

    /** Second-expert policy of training passes (random) and of the others (all). */
    public GptNeoBuilder secondExpertPolicy(SecondExpertPolicy training, SecondExpertPolicy eval) {
        return moeWith(m -> copy(m, m.topK(), m.capacityFactor(), m.evalCapacityFactor(), training, eval));
    }

    /** Every mixture-of-experts setting at once (its layer list included, unless {@link #expertLayers} is set). */
    public GptNeoBuilder moe(MoeSettings settings) {
        this.moe = java.util.Objects.requireNonNull(settings, "moe");
        this.experts = settings.isEmpty() ? null : settings.experts();
        this.expertLayers = settings.isEmpty() ? null : settings.layers();
        return this;
    }

    private GptNeoBuilder moeWith(java.util.function.UnaryOperator<MoeSettings> change) {
        this.moe = change.apply(moe);
        return this;
    }

    private static MoeSettings copy(MoeSettings m, int topK, float capacity, float evalCapacity,
                                    SecondExpertPolicy policy, SecondExpertPolicy evalPolicy) {
        return new MoeSettings(m.layers(), m.experts(), topK, m.hiddenSize(), m.activation(), capacity, evalCapacity,
                m.minCapacity(), m.groupSize(), policy, evalPolicy, m.secondThreshold(), m.auxLossCoefficient());
    }

    // ---- objective ----------------------------------------------------------------------------

    /** CAUSAL_LM (the default) or MASKED_LM (bidirectional attention; needs {@link #maskTokenId}). */
    public GptNeoBuilder objective(Objective o) { this.objective = java.util.Objects.requireNonNull(o, "objective"); return this; }

    public GptNeoBuilder maskTokenId(Integer id) {
        return maskedLm(new MaskedLmSettings(id, maskedLm.maskProbability(), maskedLm.sameTokenProbability(),
                maskedLm.randomTokenProbability()));
    }

    /** Share of tokens selected for masking (0.15). */
    public GptNeoBuilder maskProbability(float p) {
        return maskedLm(new MaskedLmSettings(maskedLm.maskTokenId(), p, maskedLm.sameTokenProbability(),
                maskedLm.randomTokenProbability()));
    }

    /** Shares of selected tokens kept as they are (0.10) and replaced by a random id (0.10). */
    public GptNeoBuilder maskReplacement(float sameTokenProbability, float randomTokenProbability) {
        return maskedLm(new MaskedLmSettings(maskedLm.maskTokenId(), maskedLm.maskProbability(), sameTokenProbability,
                randomTokenProbability));
    }

    public GptNeoBuilder maskedLm(MaskedLmSettings settings) { this.maskedLm = java.util.Objects.requireNonNull(settings, "maskedLm"); return this; }

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
        checkPositions();
        MoeSettings resolvedMoe = resolvedMoe();
        checkMaskedLm();
        return new GptNeoConfig(vocabSize, contextLength, hiddenSize, layers, heads, resolvedAttention(), windowSize,
                intermediateSize, act, embedDropout, attentionDropout, residDropout, layerNormEpsilon,
                initializerRange, seed, bos, eos, positions, resolvedMoe, objective, maskedLm);
    }

    private void checkPositions() {
        switch (positions.kind()) {
            case AXIAL -> {
                positive("axial shape a1", positions.axialRows());
                positive("axial shape a2", positions.axialColumns());
                if ((long) positions.axialRows() * positions.axialColumns() != contextLength) {
                    throw invalid("axial shape [" + positions.axialRows() + ", " + positions.axialColumns()
                            + "] does not match contextLength (" + contextLength + "): a1·a2 must equal it");
                }
            }
            case ROTARY -> {
                if ((hiddenSize / heads) % 2 != 0) {
                    throw invalid("rotary positions need an even head size, got " + hiddenSize / heads);
                }
            }
            case LEARNED -> { }
        }
    }

    private MoeSettings resolvedMoe() {
        if (experts == null && expertLayers == null) {
            return moe.withLayers(List.of());
        }
        int e = experts != null ? experts : moe.experts();
        List<Integer> chosen = expertLayers != null ? expertLayers : everyOtherLayer();
        MoeSettings m = new MoeSettings(chosen, e, moe.topK(), moe.hiddenSize(), moe.activation(), moe.capacityFactor(),
                moe.evalCapacityFactor(), moe.minCapacity(), moe.groupSize(), moe.secondPolicy(), moe.secondPolicyEval(),
                moe.secondThreshold(), moe.auxLossCoefficient());
        positive("experts", m.experts());
        if (m.topK() != 1 && m.topK() != 2) {
            throw invalid("topK must be 1 or 2, got " + m.topK());
        }
        if (m.topK() > m.experts()) {
            throw invalid("topK (" + m.topK() + ") is more than experts (" + m.experts() + ")");
        }
        if (chosen.isEmpty()) {
            throw invalid("expertLayers names no layer");
        }
        if (chosen.stream().distinct().count() != chosen.size()) {
            throw invalid("expertLayers (" + chosen + ") names a layer twice");
        }
        for (int layer : chosen) {
            if (layer < 0 || layer >= layers) {
                throw invalid("expertLayers names layer " + layer + ", outside the model's layers 0.." + (layers - 1));
            }
        }
        if (m.hiddenSize() != null) {
            positive("expertHiddenSize", m.hiddenSize());
        }
        if (!m.activation().equals("relu") && !m.activation().equals(Activation.GELU_NEW.configName())) {
            throw invalid("expertActivation '" + m.activation() + "' is not supported (use relu or gelu_new)");
        }
        if (!(m.capacityFactor() > 0) || !(m.evalCapacityFactor() > 0)) {
            throw invalid("capacityFactor (" + m.capacityFactor() + ") and evalCapacityFactor (" + m.evalCapacityFactor() + ") must be > 0");
        }
        if (m.secondPolicyEval() == SecondExpertPolicy.RANDOM) {
            throw invalid("secondPolicyEval 'random' is a training-only policy (passes without dropout take all, threshold or none)");
        }
        positive("minCapacity", m.minCapacity());
        positive("groupSize", m.groupSize());
        if (!(m.secondThreshold() > 0) || Float.isInfinite(m.secondThreshold())) {
            throw invalid("secondThreshold must be > 0, got " + m.secondThreshold());
        }
        if (!(m.auxLossCoefficient() >= 0) || Float.isInfinite(m.auxLossCoefficient())) {
            throw invalid("auxLossCoefficient must be ≥ 0, got " + m.auxLossCoefficient());
        }
        return m;
    }

    private List<Integer> everyOtherLayer() {
        if (layers == 1) {
            return List.of(0);
        }
        List<Integer> odd = new ArrayList<>();
        for (int i = 1; i < layers; i += 2) odd.add(i);
        return odd;
    }

    private void checkMaskedLm() {
        MaskedLmSettings m = maskedLm;
        if (objective == Objective.MASKED_LM) {
            if (m.maskTokenId() == null) {
                throw invalid("a masked-LM model needs maskTokenId (the id of its mask token)");
            }
            if (m.maskTokenId() < 0 || m.maskTokenId() >= vocabSize) {
                throw invalid("maskTokenId (" + m.maskTokenId() + ") is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        if (!(m.maskProbability() > 0 && m.maskProbability() <= 1)) {
            throw invalid("maskProbability must be in (0, 1], got " + m.maskProbability());
        }
        if (!(m.sameTokenProbability() >= 0 && m.randomTokenProbability() >= 0
                && m.sameTokenProbability() + m.randomTokenProbability() <= 1)) {
            throw invalid("sameTokenProbability (" + m.sameTokenProbability() + ") and randomTokenProbability ("
                    + m.randomTokenProbability() + ") must be ≥ 0 with a sum ≤ 1");
        }
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
