package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.nn.Module;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.Pass;
import org.gptneo.tensor.Tensor;

/**
 * The token embedding split by vocabulary rows, also the tied LM head. Lookup: each rank picks the
 * rows of the ids it holds (the others give zero rows) and g sums the ranks' results, so every row
 * comes from exactly one rank and equals the single-device lookup bit for bit. LM head: f, then the
 * logits of this rank's slice of the (padded) vocabulary.
 */
final class VocabParallelEmbedding implements Module {
    private final Parameter table;              // [V′/t, C]: ids [vocabStart, vocabStart + V′/t)
    private final TensorParallelLayout layout;
    private final Collectives tp;

    VocabParallelEmbedding(Parameter table, TensorParallelLayout layout, Collectives tp) {
        this.table = table;
        this.layout = layout;
        this.tp = tp;
    }

    Parameter table() {
        return table;
    }

    /** ids [N] (I32, on the backend, each in [0, V)) → their embeddings [N, C] on every rank. */
    Var forward(Pass pass, Tensor ids) {
        Tape tape = pass.tape();
        int n = Math.toIntExact(ids.size());
        int start = layout.vocabStart(), end = start + layout.validVocabRows();
        int[] local = new int[n], rows = new int[n];
        int m = 0;
        try (Arena host = Arena.ofConfined()) {
            int[] all = tape.backend().download(ids, host).toIntArray();
            for (int i = 0; i < n; i++) {
                if (all[i] < 0 || all[i] >= layout.vocabSize()) {
                    throw new IllegalArgumentException("token id " + all[i] + " at " + i + " is outside the vocabulary [0, "
                            + layout.vocabSize() + ")");
                }
                if (all[i] >= start && all[i] < end) {
                    local[m] = all[i] - start;
                    rows[m++] = i;
                }
            }
        }
        // No id of this rank: one row picked with weight 0, so that the graph (and which steps of the
        // backward pass communicate) is the same on every rank.
        float weight = m == 0 ? 0f : 1f;
        int picks = Math.max(m, 1);
        Var picked = tape.embedding(table.var(), tape.uploadInts(Arrays.copyOf(local, picks), picks));   // [M, C]
        Tensor weights = tape.allocate(picks);
        tape.backend().fill(weights, weight);
        Var partial = tape.scatterAddRows(picked, Var.constant(weights), tape.uploadInts(Arrays.copyOf(rows, picks), picks), n);
        return tape.apply(new ReduceFromTensorParallel(tp), partial);               // [N, C]: zero rows for others' ids, summed
    }

    /** h [N, C] (the same on every rank) → logits [N, V′/t] of this rank's vocabulary rows, padding included. */
    Var logits(Pass pass, Var h) {
        Var copied = pass.tape().apply(new CopyToTensorParallel(tp), h);            // [N, C]
        return pass.tape().matmul(copied, false, table.var(), true);                // [N, V′/t]
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(table);
    }
}
