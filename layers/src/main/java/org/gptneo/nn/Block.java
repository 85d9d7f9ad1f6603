package org.gptneo.nn;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Var;

/**
 * One pre-LayerNorm transformer block: h + attn(ln_1(h)), then h + ff(ln_2(h)). A block of
 * attention type "none" has only the second half (no ln_1, no attention). Parameters are
 * {@code transformer.h.<i>.ln_1.*}, {@code .attn.attention.*}, {@code .ln_2.*}, {@code .mlp.*}.
 */
public final class Block implements Module {
    private final LayerNorm ln1, ln2;
    private final Attention attention;
    private final FeedForward feedForward;

    /** {@code ln1} and {@code attention} are both null for a block without attention. */
    public Block(LayerNorm ln1, Attention attention, LayerNorm ln2, FeedForward feedForward) {
        if ((ln1 == null) != (attention == null)) {
            throw new IllegalArgumentException("a block has both ln_1 and attention, or neither");
        }
        this.ln1 = ln1;
        this.attention = attention;
        this.ln2 = ln2;
        this.feedForward = feedForward;
    }

    /** Its attention layer, or null for a block without attention. */
    public Attention attention() {
        return attention;
    }

    public FeedForward feedForward() {
        return feedForward;
    }

    /** h [B·T, C] of the given tokens → [B·T, C]; {@code state} may be null (no generation state). */
    public Var forward(Pass pass, Var h, Tokens tokens, LayerState state) {
        if (attention != null) {
            h = pass.tape().add(h, attention.forward(pass, ln1.forward(pass, h), tokens, state));
        }
        return pass.tape().add(h, feedForward.forward(pass, ln2.forward(pass, h)));
    }

    /** Replaces the projections of its attention and feed-forward layers. */
    public void rewriteProjections(ProjectionRewriter rewriter) {
        if (attention != null) {
            attention.rewriteProjections(rewriter);
        }
        feedForward.rewriteProjections(rewriter);
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        if (attention != null) {
            all.addAll(ln1.parameters());
            all.addAll(attention.parameters());
        }
        all.addAll(ln2.parameters());
        all.addAll(feedForward.parameters());
        return all;
    }
}
