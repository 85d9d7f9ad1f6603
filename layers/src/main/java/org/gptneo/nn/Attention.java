package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;

/**
 * GPT-Neo's causal self-attention: out_proj(softmax(mask(q·kᵀ))·v) with q, k, v projections
 * without bias and, unlike GPT-2, no 1/√head scaling (it is folded into q_proj's weights). The
 * kinds differ in which keys a query sees ({@link #mask()}) and in what they keep for generation
 * ({@link #newCache}): see {@link GlobalAttention} and {@link LocalAttention}.
 *
 * <p>Parameters: {@code <prefix>{q,k,v}_proj.weight} [C, C], {@code <prefix>out_proj.{weight,bias}}
 * [C, C], [C], where the prefix is {@code transformer.h.<i>.attn.attention.}. Projections may be
 * wrapped ({@link #rewriteProjections}), for adapters or tensor-parallel splits.
 */
public abstract sealed class Attention implements Module permits GlobalAttention, LocalAttention {
    private final String prefix;
    private final int layer, heads, headSize;
    private final float attentionDropout, residDropout;
    private Projection q, k, v, out;

    Attention(ParameterSource source, String prefix, int layer, int hidden, int heads,
              float attentionDropout, float residDropout) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " is not a multiple of " + heads + " heads");
        }
        this.prefix = prefix;
        this.layer = layer;
        this.heads = heads;
        this.headSize = hidden / heads;
        this.attentionDropout = attentionDropout;
        this.residDropout = residDropout;
        this.q = Linear.create(source, prefix + "q_proj.", hidden, hidden, false);
        this.k = Linear.create(source, prefix + "k_proj.", hidden, hidden, false);
        this.v = Linear.create(source, prefix + "v_proj.", hidden, hidden, false);
        this.out = Linear.create(source, prefix + "out_proj.", hidden, hidden, true);
    }

    /** Which keys a query sees, without padding. */
    public abstract AttentionMask mask();

    /** Empty inference state for a batch whose rows start with {@code padding[b]} padding tokens. */
    public abstract AttentionCache newCache(Backend backend, Arena arena, int batch, int[] padding, int contextLength);

    final AttentionCache cache(Backend backend, Arena arena, int batch, int[] padding, int keep, int capacity) {
        return new AttentionCache(backend, arena, mask(), keep, capacity, batch, heads, headSize, padding);
    }

    /**
     * Attention over x [B·T, C] of B sequences of T tokens; with a cache, the new tokens also see
     * the cached ones (and are appended to it). Returns [B·T, C], before the residual.
     */
    public Var forward(Pass pass, Var x, int batch, int time, AttentionCache cache) {
        int n = batch * time;
        Var qs = splitHeads(pass, q.forward(pass, x), batch, time);        // [B, H, T, hs]
        Var ks = splitHeads(pass, k.forward(pass, x), batch, time);
        Var vs = splitHeads(pass, v.forward(pass, x), batch, time);
        AttentionMask mask = mask();
        if (cache != null) {
            AttentionCache.Keys all = cache.append(pass.tape(), ks.value(), vs.value());
            ks = Var.constant(all.keys());                                 // [B, H, S, hs]
            vs = Var.constant(all.values());
            mask = all.mask();
        }
        Var scores = pass.tape().matmul(qs, false, ks, true);              // [B, H, T, S]
        Var probs = pass.tape().maskedSoftmax(scores, mask);
        probs = pass.dropout(probs, attentionDropout, 4 * layer + 1);
        Var context = pass.tape().matmul(probs, false, vs, false);         // [B, H, T, hs]
        Var merged = pass.tape().reshape(pass.tape().swapMiddle(context), n, heads * headSize); // [B·T, C]
        return pass.dropout(out.forward(pass, merged), residDropout, 4 * layer + 2);
    }

    /** Replaces each projection by what {@code rewriter} returns for it (given its name prefix). */
    public void rewriteProjections(ProjectionRewriter rewriter) {
        q = rewriter.rewrite(prefix + "q_proj.", q);
        k = rewriter.rewrite(prefix + "k_proj.", k);
        v = rewriter.rewrite(prefix + "v_proj.", v);
        out = rewriter.rewrite(prefix + "out_proj.", out);
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        for (Projection p : List.of(q, k, v, out)) all.addAll(p.parameters());
        return all;
    }

    /** [B·T, C] → [B, H, T, hs]: head h owns features h·hs … h·hs + hs − 1. */
    private Var splitHeads(Pass pass, Var x, int batch, int time) {
        return pass.tape().swapMiddle(pass.tape().reshape(x, batch, time, heads, headSize));
    }
}
