package org.gptneo.parallel;

import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * Makes the ranks agree on which parameters have a gradient. A parameter gets its gradient tensor
 * when a backward pass first reaches it, and a rank's rows may not reach one that another rank's
 * rows do (an expert no token of this rank chose). Every rank then gives such a parameter a zero
 * gradient, so the ranks' buckets line up and their optimizers update the same parameters; a
 * parameter no rank reached keeps no gradient and is skipped by the optimizer, as in one process.
 */
final class GradientPresence {
    private GradientPresence() {
    }

    /** Which entries have a gradient on some rank (a collective); allocates zero gradients for those missing here. */
    static boolean[] agree(Collectives collectives, Backend backend, List<FlatLayout.Entry> entries) {
        return agree(collectives, backend, entries, List.of());
    }

    /**
     * {@link #agree(Collectives, Backend, List)} at the start of a backward pass: the parameters in
     * {@code coming}, which the pass will give a gradient, count as having one.
     */
    static boolean[] agree(Collectives collectives, Backend backend, List<FlatLayout.Entry> entries, Collection<Var> coming) {
        Set<Var> soon = Collections.newSetFromMap(new IdentityHashMap<>());
        soon.addAll(coming);
        float[] mine = new float[entries.size()];
        for (FlatLayout.Entry e : entries) mine[e.index()] = e.param().grad() != null || soon.contains(e.param()) ? 1 : 0;
        float[] any = collectives.allReduce(mine, ReduceOp.MAX);
        boolean[] present = new boolean[entries.size()];
        List<Var> missing = entries.stream().filter(e -> any[e.index()] > 0 && mine[e.index()] == 0).map(FlatLayout.Entry::param).toList();
        for (FlatLayout.Entry e : entries) present[e.index()] = any[e.index()] > 0;
        if (!missing.isEmpty()) allocateGradients(backend, missing);
        return present;
    }

    /** Gives each of {@code params} a zero gradient: a backward pass through an operation that reads them and adds nothing. */
    private static void allocateGradients(Backend backend, List<Var> params) {
        try (Tape tape = new Tape(backend, true)) {
            Var touched = tape.apply(new Differentiable() {
                @Override
                public Tensor forward(Tape t, Tensor[] inputs) {
                    return t.allocate(1);
                }

                @Override
                public void backward(Tape t, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
                    // the output does not depend on the inputs: their gradients stay zero
                }
            }, params.toArray(Var[]::new));
            tape.backward(touched);
        }
    }
}
