package org.gptneo.autograd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.tensor.HugePages;

/**
 * Memory reused by a run of tapes, one after another: the steps of a generation loop, or the
 * forward and backward passes of a training loop, which allocate the same tensors every step (a
 * tape frees nothing before it closes, so taking slices of one slab costs no more memory). A fresh tape maps, zeroes and frees its memory every step
 * (the large tensors cost a system call and a page fault per page each time); a tape made with
 * {@code new Tape(backend, workspace)} takes slices of one slab instead, zeroed except for
 * the results its ops write whole (on a host backend, see {@code Tape#written}). When a step needs
 * more than the slab holds, the rest comes from the workspace's arena, and when that tape closes
 * the slab is replaced by one that fits the whole step, so from the second step on nothing is
 * allocated.
 *
 * <p>Tensors of such a tape stay addressable after it closes and then alias the next step's: as
 * with any tape, use nothing of it after {@link Tape#close()}. One tape at a time; closing the
 * workspace frees its memory.
 */
public final class Workspace implements AutoCloseable {
    private static final long ALIGNMENT = 64;

    private Arena owner = Arena.ofShared();
    private MemorySegment slab = MemorySegment.NULL;
    private boolean inUse;
    /** This step: bytes taken from the slab, and bytes asked for in all (alignment included). */
    private long used, asked;

    /** The arena of the next tape: slices of the slab, zeroed; closing it ends the step. */
    Arena step() {
        if (inUse) {
            throw new IllegalStateException("a workspace serves one tape at a time: close the previous tape first");
        }
        inUse = true;
        used = 0;
        asked = 0;
        return new StepArena();
    }

    @Override
    public void close() {
        owner.close();
    }

    /** Bytes the slab holds: what the largest step so far asked for. */
    long capacity() {
        return slab.byteSize();
    }

    /** A slice of the slab, zeroed unless {@code zeroed} is false (then it holds what the last step left). */
    private MemorySegment take(long bytes, long alignment, boolean zeroed) {
        long align = Math.max(alignment, ALIGNMENT);
        asked += bytes + align;
        long start = (used + align - 1) / align * align;
        if (start + bytes <= slab.byteSize()) {
            used = start + bytes;
            MemorySegment slice = slab.asSlice(start, bytes);
            return zeroed ? slice.fill((byte) 0) : slice;
        }
        return align <= ALIGNMENT ? HugePages.allocate(owner, bytes) : owner.allocate(bytes, align);   // past the slab: this step only
    }

    private void endStep() {
        inUse = false;
        if (asked > slab.byteSize()) {          // grow to what the whole step asked for
            owner.close();
            owner = Arena.ofShared();
            slab = HugePages.allocate(owner, asked);
        }
    }

    /**
     * The arena a tape sees. Its segments belong to the workspace's arena, which outlives the step;
     * close() ends the step rather than freeing them.
     */
    final class StepArena implements Arena {
        private boolean open = true;

        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            if (!open) throw new IllegalStateException("this tape's step has ended");
            return take(byteSize, byteAlignment, true);
        }

        /** As {@link #allocate}, not zeroed: for a tensor its op writes whole before anything reads it. */
        MemorySegment allocateUnzeroed(long byteSize) {
            if (!open) throw new IllegalStateException("this tape's step has ended");
            return take(byteSize, ALIGNMENT, false);
        }

        @Override
        public MemorySegment.Scope scope() {
            return owner.scope();
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                endStep();
            }
        }
    }
}
