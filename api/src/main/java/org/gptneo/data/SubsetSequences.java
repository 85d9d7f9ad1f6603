package org.gptneo.data;

/**
 * Positions {@code [from, from + size)} of a permutation of a parent dataset: sequence {@code i} is the
 * parent's {@code order.indexAt(0, from + i)}. Two subsets over disjoint position ranges of one order
 * are disjoint.
 */
final class SubsetSequences implements SequenceDataset {
    /** Mixed into the split's seed so that it differs from a training shuffle made with the same seed. */
    static final long SPLIT_SALT = 0x5D1B_7A11_0C3E_95F1L;

    private final SequenceDataset parent;
    private final ShuffledOrder order;
    private final long from;
    private final long size;

    SubsetSequences(SequenceDataset parent, ShuffledOrder order, long from, long size) {
        this.parent = parent;
        this.order = order;
        this.from = from;
        this.size = size;
    }

    @Override
    public int seqLen() {
        return parent.seqLen();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(long index, int[] dst, int offset) {
        parent.read(parentIndex(index), dst, offset);
    }

    /** The parent's index of sequence {@code index}. */
    long parentIndex(long index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("sequence " + index + " is outside [0, " + size + ")");
        }
        return order.indexAt(0, from + index);
    }
}
