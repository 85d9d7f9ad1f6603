package org.gptneo.train;

import org.gptneo.data.SequenceDataset;
import org.gptneo.data.ShuffledOrder;

/**
 * Where training is in its data: sequence number k (counting every sequence handed out so far)
 * is sequence {@code order.indexAt(k / size, k % size)}, a new seeded permutation each epoch (or
 * simply {@code k % size} without shuffling). The position alone, saved in checkpoints, restores
 * the exact stream.
 */
final class SequenceCursor {
    private final SequenceDataset data;
    private final ShuffledOrder order;     // null: in order
    private long position;

    SequenceCursor(SequenceDataset data, long seed, boolean shuffle, long position) {
        this.data = data;
        this.order = shuffle ? new ShuffledOrder(data.size(), seed) : null;
        this.position = position;
    }

    /** Fills {@code rows} sequences into dst as [rows, seqLen] and moves on. */
    void next(int[] dst, int rows) {
        int t = data.seqLen();
        long n = data.size();
        for (int r = 0; r < rows; r++, position++) {
            long index = order == null ? position % n : order.indexAt(position / n, position % n);
            data.read(index, dst, r * t);
        }
    }

    long position() {
        return position;
    }
}
