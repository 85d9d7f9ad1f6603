package org.gptneo.train;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.data.MaskedLmMasking;
import org.gptneo.data.SequenceDataset;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.tensor.Tensor;

/**
 * Validation loss: the model (no dropout, no gradients) on sequences of a dataset in order,
 * batch by batch. Causal LM: the mean next-token loss over every predicted token (T − 1 per
 * sequence). Masked LM: the mean loss over the masked positions, sequence i of the dataset masked
 * with the fixed seed {@link MaskedLmMasking#evaluationSeed(long) evaluationSeed(i)}, so every
 * evaluation of every run (and any batch size) scores the same positions with the same inputs.
 * Auxiliary losses are not included.
 */
public final class Evaluation {
    private Evaluation() {}

    /**
     * @param maxBatches at most this many batches (0 = the whole dataset)
     * @param step       the step the result is reported for
     */
    public static EvalMetrics run(GptNeoModel model, SequenceDataset data, int batchSize, int maxBatches, int step) {
        return run(model, data, batchSize, maxBatches, step, null);
    }

    /**
     * {@link #run(GptNeoModel, SequenceDataset, int, int, int)} with each batch's tensors taken from
     * {@code passes} (a host backend's; null: fresh memory), as the Trainer's own passes take theirs, so
     * evaluating between steps needs no memory beside theirs.
     */
    static EvalMetrics run(GptNeoModel model, SequenceDataset data, int batchSize, int maxBatches, int step, Workspace passes) {
        if (batchSize < 1) throw new IllegalArgumentException("the evaluation batch size must be at least 1, got " + batchSize);
        Backend backend = model.backend();
        MaskedLmMasking masking = model.config().objective() == Objective.MASKED_LM ? MaskedLmMasking.forModel(model.config()) : null;
        int t = data.seqLen();
        long sequences = maxBatches > 0 ? Math.min(data.size(), (long) maxBatches * batchSize) : data.size();
        double weightedLoss = 0;
        long tokens = 0;
        for (long first = 0; first < sequences; first += batchSize) {
            int rows = (int) Math.min(batchSize, sequences - first);
            int[] ids = new int[rows * t];                                        // [rows, T]
            for (int r = 0; r < rows; r++) data.read(first + r, ids, r * t);
            int[] labels = ids;
            long predicted = (long) rows * (t - 1);
            if (masking != null) {
                labels = new int[rows * t];
                predicted = 0;
                for (int r = 0; r < rows; r++) {
                    MaskedLmMasking.Batch masked = masking.apply(Arrays.copyOfRange(ids, r * t, (r + 1) * t), 1,
                            MaskedLmMasking.evaluationSeed(first + r));
                    System.arraycopy(masked.inputs(), 0, ids, r * t, t);
                    System.arraycopy(masked.labels(), 0, labels, r * t, t);
                    predicted += masked.labelled();
                }
            }
            try (Tape tape = passes != null ? new Tape(backend, false, passes) : new Tape(backend, false); Arena host = Arena.ofConfined()) {
                Tensor input = backend.upload(Tensor.ofInts(host, ids, rows, t), host);
                Tensor target = labels == ids ? input : backend.upload(Tensor.ofInts(host, labels, rows, t), host);
                double loss = backend.download(model.loss(tape, model.forward(tape, input, false), target).value(), host).getFloat(0);
                weightedLoss += loss * predicted;
                tokens += predicted;
            }
        }
        double mean = weightedLoss / tokens;
        return new EvalMetrics(step, mean, Math.exp(mean), tokens);
    }
}
