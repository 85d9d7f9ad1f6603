package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;

/**
 * A self-attention layer of GPT-Neo: q, k, v projections without bias, heads of hs = C/H features,
 * optionally rotary positions on q and k, a way of mixing the values ({@link #attend}: softmax
 * attention in {@link SoftmaxAttention}, linear attention in {@code LinearAttention}), then
 * out_proj with bias and residual dropout. No 1/√hs scaling anywhere: GPT-Neo folds it into q_proj.
 *
 * <p>Parameters: {@code <prefix>{q,k,v}_proj.weight} [C, C], {@code <prefix>out_proj.{weight,bias}}
 * [C, C], [C], where the prefix is {@code transformer.h.<i>.attn.attention.}. Projections may be
 * wrapped ({@link #rewriteProjections}), for adapters or tensor-parallel splits. The layer computes as
 * many heads as its q projection has outputs of hs features: all H, or the H/t heads of a
 * tensor-parallel rank whose q, k and v projections yield only its slice of the features.
 */
public abstract class Attention implements Module {
    /** Rotary positions' base: inverse frequencies 10000^(−2k/hs). */
    public static final float ROTARY_BASE = 10000f;

    private final String prefix;
    private final int layer, headSize;
    private final float residDropout;
    private final boolean rotary;
    private Projection q, k, v, out;

    Attention(ParameterSource source, String prefix, int layer, int hidden, int heads, float residDropout, boolean rotary) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " is not a multiple of " + heads + " heads");
        }
        this.prefix = prefix;
        this.layer = layer;
        this.headSize = hidden / heads;
        this.residDropout = residDropout;
        this.rotary = rotary;
        this.q = Linear.create(source, prefix + "q_proj.", hidden, hidden, false);
        this.k = Linear.create(source, prefix + "k_proj.", hidden, hidden, false);
        this.v = Linear.create(source, prefix + "v_proj.", hidden, hidden, false);
        this.out = Linear.create(source, prefix + "out_proj.", hidden, hidden, true);
    }

    /**
     * Empty generation state for a batch whose rows start with {@code padding[b]} padding tokens and
     * will see at most {@code tokens} tokens each (padding included; at most the context length).
     */
    public abstract LayerState newState(Backend backend, Arena arena, int batch, int[] padding, int tokens);

    /**
     * Mixes values by queries and keys, all [B, H, T, hs] (positions already applied); with a state,
     * the new tokens also see what it holds and are added to it. Returns [B, H, T, hs].
     */
    abstract Var attend(Pass pass, Var q, Var k, Var v, LayerState state);

    /**
     * Attention over x [B·T, C] of the given tokens; with a state, the new tokens also see the
     * earlier ones (and are added to it). Returns [B·T, C], before the residual.
     */
    public Var forward(Pass pass, Var x, Tokens tokens, LayerState state) {
        Var qs = splitHeads(pass, q.forward(pass, x), tokens);             // [B, H, T, hs]
        Var ks = splitHeads(pass, k.forward(pass, x), tokens);
        Var vs = splitHeads(pass, v.forward(pass, x), tokens);
        if (rotary) {
            qs = pass.tape().rotary(qs, tokens.positions(), ROTARY_BASE);
            ks = pass.tape().rotary(ks, tokens.positions(), ROTARY_BASE);
        }
        Var context = attend(pass, qs, ks, vs, state);                     // [B, H, T, hs]
        Var merged = pass.tape().reshape(pass.tape().swapMiddle(context), tokens.count(), heads() * headSize); // [B·T, C]
        return pass.dropout(out.forward(pass, merged), residDropout, 4 * layer + 2);
    }

    /**
     * Replaces each projection by what {@code rewriter} returns for it (given its name prefix); q, k
     * and v must then still agree on whole heads, and out_proj take their features.
     */
    public void rewriteProjections(ProjectionRewriter rewriter) {
        Projection q2 = rewriter.rewrite(prefix + "q_proj.", q), k2 = rewriter.rewrite(prefix + "k_proj.", k);
        Projection v2 = rewriter.rewrite(prefix + "v_proj.", v), out2 = rewriter.rewrite(prefix + "out_proj.", out);
        int features = q2.outFeatures();
        if (features % headSize != 0 || k2.outFeatures() != features || v2.outFeatures() != features
                || out2.inFeatures() != features) {
            throw new IllegalArgumentException("the rewritten projections of " + prefix + " give q, k, v " + features + ", "
                    + k2.outFeatures() + ", " + v2.outFeatures() + " features and out_proj takes " + out2.inFeatures()
                    + "; they must agree on whole heads of " + headSize);
        }
        q = q2;
        k = k2;
        v = v2;
        out = out2;
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        for (Projection p : List.of(q, k, v, out)) all.addAll(p.parameters());
        return all;
    }

    /** Block index: numbers this layer's dropout sites. */
    final int layer() {
        return layer;
    }

    /** Heads this layer computes: its q projection's output features over hs (H, or H/t on a tensor-parallel rank). */
    final int heads() {
        return q.outFeatures() / headSize;
    }

    final int headSize() {
        return headSize;
    }

    /** Whether q and k are rotated by their positions. */
    public final boolean rotary() {
        return rotary;
    }

    /** [B·T, C] → [B, H, T, hs]: head h owns features h·hs … h·hs + hs − 1. */
    private Var splitHeads(Pass pass, Var x, Tokens tokens) {
        return pass.tape().swapMiddle(pass.tape().reshape(x, tokens.batch(), tokens.time(), heads(), headSize));
    }
}
