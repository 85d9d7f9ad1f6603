package org.gptneo.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Element-wise reductions of dense F32 host buffers, combined in rank order (((x0 op x1) op x2) ...),
 * so that the same inputs give the same bits on every rank and in every run.
 */
final class HostReduction {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HostReduction() {
    }

    /** op over {@code inputs} (one per rank, in rank order) of elements [from, from + count); AVG divides the sum by the rank count. */
    static float[] reduce(MemorySegment[] inputs, long from, int count, ReduceOp op) {
        float[] acc = new float[count];
        float[] next = new float[count];
        MemorySegment.copy(inputs[0], FLOAT, from * Float.BYTES, acc, 0, count);
        for (int r = 1; r < inputs.length; r++) {
            MemorySegment.copy(inputs[r], FLOAT, from * Float.BYTES, next, 0, count);
            combine(acc, next, op);
        }
        if (op == ReduceOp.AVG) {
            float ranks = inputs.length;
            for (int i = 0; i < count; i++) acc[i] /= ranks;
        }
        return acc;
    }

    private static void combine(float[] acc, float[] next, ReduceOp op) {
        switch (op) {
            case SUM, AVG -> {
                for (int i = 0; i < acc.length; i++) acc[i] += next[i];
            }
            case MAX -> {
                for (int i = 0; i < acc.length; i++) acc[i] = Math.max(acc[i], next[i]);
            }
            case MIN -> {
                for (int i = 0; i < acc.length; i++) acc[i] = Math.min(acc[i], next[i]);
            }
        }
    }

    /** The first element of the block of {@code part} when {@code count} elements are cut into {@code parts} near-equal blocks. */
    static long blockStart(long count, int parts, int part) {
        return count * part / parts;
    }
}
