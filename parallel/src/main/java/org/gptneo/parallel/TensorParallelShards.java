package org.gptneo.parallel;

import java.lang.foreign.Arena;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** Cuts a full tensor into this rank's shard and puts the ranks' shards back together, by the {@link TensorParallelLayout}. */
final class TensorParallelShards {
    private TensorParallelShards() {
    }

    /** shard ← this rank's part of full (F32 tensors of the backend; padding rows of the vocabulary stay as they are). */
    static void cut(Backend backend, TensorParallelLayout layout, String name, Tensor full, Tensor shard) {
        if (full.dtype() != DType.F32) {
            throw new IllegalArgumentException("tensor parallelism trains F32 tensors; '" + name + "' is " + full);
        }
        int r = layout.rank(), t = layout.ranks();
        switch (layout.split(name)) {
            case REPLICATED -> backend.copy(full, shard);
            case ROWS -> {
                int n = full.dim(0) / t;
                backend.copy(full.rows(r * n, (r + 1) * n), shard);
            }
            case COLUMNS -> {
                int n = full.dim(1) / t;
                backend.copy(full.slice(1, r * n, (r + 1) * n), shard);
            }
            case VOCABULARY_ROWS -> {
                int valid = layout.validVocabRows();
                if (valid > 0) backend.copy(full.rows(layout.vocabStart(), layout.vocabStart() + valid), shard.rows(0, valid));
            }
        }
    }

    /**
     * full ← the ranks' shards put together, on every rank: a collective, which every rank calls for
     * the same names in the same order. A replicated tensor is this rank's copy.
     */
    static void join(Backend backend, Collectives tp, TensorParallelLayout layout, String name, Tensor shard, Tensor full,
                     Arena scratch) {
        int t = layout.ranks();
        switch (layout.split(name)) {
            case REPLICATED -> backend.copy(shard, full);
            case ROWS -> tp.allGather(shard, full);
            case COLUMNS -> {
                int rows = shard.dim(0), n = shard.dim(1);
                Tensor all = backend.allocate(scratch, DType.F32, t, rows, n);             // [t, rows, in/t]
                tp.allGather(shard, all);
                for (int s = 0; s < t; s++) backend.copy(all.rows(s, s + 1).reshape(rows, n), full.slice(1, s * n, (s + 1) * n));
            }
            case VOCABULARY_ROWS -> {
                Tensor all = backend.allocate(scratch, DType.F32, layout.paddedVocabSize(), shard.dim(1));   // [V′, C]
                tp.allGather(shard, all);
                backend.copy(all.rows(0, layout.vocabSize()), full);
            }
        }
    }

    /** full [N, V] ← the ranks' logits [N, V′/t] side by side, padding columns dropped (a collective). */
    static void joinVocabularyColumns(Backend backend, Collectives tp, TensorParallelLayout layout, Tensor local, Tensor full,
                                      Arena scratch) {
        int n = local.dim(0), columns = layout.vocabRows();
        Tensor all = backend.allocate(scratch, DType.F32, layout.ranks(), n, columns);     // [t, N, V′/t]
        tp.allGather(local, all);
        for (int s = 0; s < layout.ranks(); s++) {
            int valid = layout.validVocabRows(s), from = s * columns;
            if (valid > 0) backend.copy(all.rows(s, s + 1).reshape(n, columns).slice(1, 0, valid), full.slice(1, from, from + valid));
        }
    }
}
