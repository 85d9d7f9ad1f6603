package org.gptneo.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense, row-major, little-endian tensor over a {@link MemorySegment} (off the Java heap).
 *
 * <p>Lifetime: a tensor made by {@link #allocate(DType, int...)} owns its memory and frees it on
 * {@link #close()}; one made in an {@link Arena} lives as long as that arena (close() leaves it
 * alone); views ({@link #reshape}, {@link #rows}) share their parent's memory.
 */
public final class Tensor implements AutoCloseable {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Allocations are aligned for the widest vector loads. */
    public static final long ALIGNMENT = 64;

    private final DType dtype;
    private final int[] shape;
    private final MemorySegment data;
    private final Arena ownArena;

    private Tensor(DType dtype, int[] shape, MemorySegment data, Arena ownArena) {
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
        this.ownArena = ownArena;
    }

    /** A zero-filled tensor whose memory belongs to {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, int... shape) {
        int[] dims = checkedShape(shape);
        MemorySegment data = arena.allocate(Math.max(1, elementCount(dims) * dtype.byteSize()), ALIGNMENT);
        return new Tensor(dtype, dims, data.asSlice(0, elementCount(dims) * dtype.byteSize()), null);
    }

    /** A zero-filled tensor that owns its memory: free it with {@link #close()}. */
    public static Tensor allocate(DType dtype, int... shape) {
        Arena arena = Arena.ofShared();
        int[] dims = checkedShape(shape);
        MemorySegment data = arena.allocate(Math.max(1, elementCount(dims) * dtype.byteSize()), ALIGNMENT);
        return new Tensor(dtype, dims, data.asSlice(0, elementCount(dims) * dtype.byteSize()), arena);
    }

    /** A tensor over existing memory (a memory-mapped file, say), which must outlive it. */
    public static Tensor wrap(MemorySegment data, DType dtype, int... shape) {
        int[] dims = checkedShape(shape);
        long bytes = elementCount(dims) * dtype.byteSize();
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes cannot hold "
                    + dtype + Arrays.toString(dims) + " (" + bytes + " bytes)");
        }
        return new Tensor(dtype, dims, data, null);
    }

    /** An F32 tensor in {@code arena} holding a copy of {@code values}. */
    public static Tensor of(Arena arena, float[] values, int... shape) {
        Tensor t = allocate(arena, DType.F32, shape);
        t.copyFrom(values);
        return t;
    }

    /** An I32 tensor in {@code arena} holding a copy of {@code values}. */
    public static Tensor ofInts(Arena arena, int[] values, int... shape) {
        Tensor t = allocate(arena, DType.I32, shape);
        if (values.length != t.size()) {
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        MemorySegment.copy(values, 0, t.data, INT, 0, values.length);
        return t;
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code i}; negative indices count from the end. */
    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** Number of elements. */
    public long size() {
        return elementCount(shape);
    }

    /** The raw bytes, little-endian, row-major. */
    public MemorySegment data() {
        return data;
    }

    public float getFloat(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(FLOAT, index);
            case BF16 -> HalfFloats.bf16ToFloat(data.getAtIndex(SHORT, index));
            case F16 -> HalfFloats.f16ToFloat(data.getAtIndex(SHORT, index));
            case I32 -> data.getAtIndex(INT, index);
        };
    }

    public void setFloat(long index, float value) {
        switch (dtype) {
            case F32 -> data.setAtIndex(FLOAT, index, value);
            case BF16 -> data.setAtIndex(SHORT, index, HalfFloats.floatToBf16(value));
            case F16 -> data.setAtIndex(SHORT, index, HalfFloats.floatToF16(value));
            case I32 -> throw new IllegalStateException("setFloat on an I32 tensor");
        }
    }

    public int getInt(long index) {
        requireDType(DType.I32);
        return data.getAtIndex(INT, index);
    }

    public void setInt(long index, int value) {
        requireDType(DType.I32);
        data.setAtIndex(INT, index, value);
    }

    /** All elements as floats (converted from F16/BF16/I32 where needed). */
    public float[] toFloatArray() {
        int n = Math.toIntExact(size());
        float[] out = new float[n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, FLOAT, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    public int[] toIntArray() {
        requireDType(DType.I32);
        int n = Math.toIntExact(size());
        int[] out = new int[n];
        MemorySegment.copy(data, INT, 0, out, 0, n);
        return out;
    }

    /** Overwrites every element from {@code values} (converted to this tensor's dtype). */
    public void copyFrom(float[] values) {
        if (values.length != size()) {
            throw new IllegalArgumentException(values.length + " values for " + this);
        }
        if (dtype == DType.F32) {
            MemorySegment.copy(values, 0, data, FLOAT, 0, values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                setFloat(i, values[i]);
            }
        }
    }

    /** Copies every element of {@code source}, which must have the same element count, converting dtypes. */
    public void copyFrom(Tensor source) {
        if (source.size() != size()) {
            throw new IllegalArgumentException("cannot copy " + source + " into " + this);
        }
        if (source.dtype == dtype) {
            MemorySegment.copy(source.data, 0, data, 0, data.byteSize());
        } else {
            for (long i = 0, n = size(); i < n; i++) {
                setFloat(i, source.getFloat(i));
            }
        }
    }

    /** A copy in {@code arena} converted to {@code target} (F32, F16 or BF16). */
    public Tensor to(Arena arena, DType target) {
        Tensor out = allocate(arena, target, shape);
        out.copyFrom(this);
        return out;
    }

    /** A view with a new shape and the same elements; one dimension may be -1 (inferred). */
    public Tensor reshape(int... newShape) {
        int[] dims = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("two -1 in " + Arrays.toString(newShape));
                infer = i;
            } else {
                known *= dims[i];
            }
        }
        if (infer >= 0 && known > 0) {
            dims[infer] = Math.toIntExact(size() / known);
        }
        if (elementCount(checkedShape(dims)) != size()) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape));
        }
        return new Tensor(dtype, dims, data, null);
    }

    /** A view of rows {@code [from, to)} along dimension 0. */
    public Tensor rows(int from, int to) {
        if (rank() == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + this);
        }
        int[] dims = shape.clone();
        dims[0] = to - from;
        long rowBytes = (shape[0] == 0 ? 0 : data.byteSize() / shape[0]);
        return new Tensor(dtype, dims, data.asSlice(from * rowBytes, (to - from) * rowBytes), null);
    }

    /** True when both tensors have the same shape. */
    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /** Frees the memory when this tensor owns it; a no-op for arena tensors and views. */
    @Override
    public void close() {
        if (ownArena != null) {
            ownArena.close();
        }
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }

    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private static int[] checkedShape(int[] shape) {
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    private void requireDType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("expected an " + expected + " tensor, got " + this);
        }
    }
}
