package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Mean cross-entropy over logits split by vocabulary (Megatron's {@code vocab_parallel_cross_entropy}):
 * input this rank's logits [N, V′/t], result the loss [1], the same on every rank. Three all-reduces of
 * [N] per pass: MAX of the row maxima m, SUM of Σ exp(z − m), SUM of the target logit (non-zero only on
 * the rank holding the target); loss_n = m + log Σ exp(z − m) − z_target, averaged over the targets that
 * are not ignored (NaN when all are, as in PyTorch). Padding columns (ids ≥ V) take no part. Backward,
 * without communication: d z_j = scale·(exp(z_j − m)/Σ − [j is the target]) on this rank's columns.
 *
 * <p>The row statistics are computed on the host in double (the logits are read through
 * {@link Backend#download}, free on a host backend); the reductions exchange F32 vectors [N].
 * One instance serves one pass: the forward keeps m and Σ for the backward.
 */
final class VocabParallelCrossEntropy implements Differentiable {
    private final TensorParallelLayout layout;
    private final Collectives tp;
    private final int[] targets;                // [N]: token ids in [0, V), or the ignore index
    private final int ignoreIndex;
    private float[] max, sum;                   // [N]: m and Σ exp(z − m) over the whole vocabulary
    private int counted;                        // targets not ignored

    VocabParallelCrossEntropy(TensorParallelLayout layout, Collectives tp, int[] targets, int ignoreIndex) {
        this.layout = layout;
        this.tp = tp;
        this.targets = targets.clone();
        this.ignoreIndex = ignoreIndex;
    }

    @Override
    public Tensor forward(Tape tape, Tensor[] inputs) {
        Tensor logits = inputs[0];                                          // [N, V′/t]
        int n = targets.length, columns = layout.vocabRows(), valid = layout.validVocabRows(), start = layout.vocabStart();
        if (logits.rank() != 2 || logits.dim(0) != n || logits.dim(1) != columns) {
            throw new IllegalArgumentException("vocabulary-parallel cross-entropy: logits " + logits + " do not match "
                    + n + " targets and " + columns + " vocabulary rows per rank");
        }
        Backend backend = tape.backend();
        float[] targetLogit = new float[n];
        max = new float[n];
        sum = new float[n];
        try (Arena host = Arena.ofConfined()) {
            MemorySegment z = backend.download(logits, host).data();
            float[] row = new float[valid];
            for (int i = 0; i < n; i++) {
                read(z, i, columns, row);
                float m = Float.NEGATIVE_INFINITY;
                for (float x : row) m = Math.max(m, x);
                max[i] = m;
                int t = targets[i] - start;
                if (targets[i] != ignoreIndex && t >= 0 && t < valid) targetLogit[i] = row[t];
            }
            max = tp.allReduce(max, ReduceOp.MAX);
            for (int i = 0; i < n; i++) {
                read(z, i, columns, row);
                double total = 0;
                for (float x : row) total += Math.exp((double) (x - max[i]));
                sum[i] = (float) total;
            }
        }
        sum = tp.allReduce(sum, ReduceOp.SUM);
        targetLogit = tp.allReduce(targetLogit, ReduceOp.SUM);
        double total = 0;
        counted = 0;
        for (int i = 0; i < n; i++) {
            if (targets[i] == ignoreIndex) continue;
            total += (float) (max[i] + Math.log(sum[i]) - targetLogit[i]);
            counted++;
        }
        return tape.uploadFloats(new float[] {(float) (total / counted)}, 1);
    }

    @Override
    public void backward(Tape tape, Tensor[] inputs, Tensor output, Tensor outputGrad, Tensor[] inputGrads) {
        if (inputGrads[0] == null) return;
        Backend backend = tape.backend();
        int n = targets.length, columns = layout.vocabRows(), valid = layout.validVocabRows(), start = layout.vocabStart();
        try (Arena host = Arena.ofConfined()) {
            float scale = backend.download(outputGrad, host).getFloat(0) / counted;
            MemorySegment z = backend.download(inputs[0], host).data();
            Tensor delta = Tensor.allocate(host, DType.F32, n, columns);     // [N, V′/t], zero in padding columns
            float[] row = new float[valid];
            for (int i = 0; i < n; i++) {
                if (targets[i] == ignoreIndex) continue;
                read(z, i, columns, row);
                int t = targets[i] - start;
                for (int j = 0; j < valid; j++) {
                    float p = (float) (Math.exp((double) (row[j] - max[i])) / sum[i]);
                    delta.setFloat((long) i * columns + j, scale * (j == t ? p - 1f : p));
                }
            }
            backend.axpy(1f, backend.upload(delta, host), inputGrads[0]);
        }
    }

    /** Row i's first {@code row.length} logits (the real vocabulary) of z [N, columns]. */
    private static void read(MemorySegment z, int i, int columns, float[] row) {
        MemorySegment.copy(z, HostReduction.FLOAT, (long) i * columns * Float.BYTES, row, 0, row.length);
    }
}
