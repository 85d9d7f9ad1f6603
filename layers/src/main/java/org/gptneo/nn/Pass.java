package org.gptneo.nn;

import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;

/**
 * One forward pass as the layers see it: the tape that records it, whether it trains (dropout on,
 * training-only routing), the pass's dropout seed, and where layers report auxiliary losses and
 * statistics. Each dropout site of the model has a fixed number, so that a mask depends only on
 * (seed, site, element), never on threads or backend.
 */
public record Pass(Tape tape, boolean training, long seed, Auxiliary auxiliary) {

    public Pass(Tape tape, boolean training, long seed) {
        this(tape, training, seed, new Auxiliary());
    }

    /** An inference pass: no dropout. */
    public static Pass inference(Tape tape) {
        return new Pass(tape, false, 0);
    }

    /** Inverted dropout with probability p at dropout site {@code site}; x itself when not training. */
    public Var dropout(Var x, float p, int site) {
        return training ? tape.dropout(x, p, dropoutSeed(site)) : x;
    }

    /** The dropout probability of a site with probability p in this pass: p when training, else 0. */
    public float dropoutRate(float p) {
        return training ? p : 0f;
    }

    /** The seed of dropout site {@code site}'s masks in this pass. */
    public long dropoutSeed(int site) {
        return seed * 0x9E3779B97F4A7C15L + site;
    }
}
