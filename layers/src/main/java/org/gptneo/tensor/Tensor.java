package org.gptneo.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A row-major, little-endian tensor over a {@link MemorySegment} (off the Java heap), on a
 * {@link Device}.
 *
 * <p>Memory: a tensor made here is a host tensor; a backend makes tensors on its device with
 * {@link #onDevice}. The host accessors ({@link #data()}, {@link #getFloat}, {@link #toFloatArray},
 * {@link #copyFrom(float[])}, ...) work only on host tensors and throw {@link IllegalStateException}
 * on any other device: move data explicitly with the backend's {@code upload} and {@code download}.
 * Backends reach their own memory through {@link #memory()}.
 *
 * <p>Lifetime: a tensor made by {@link #allocate(DType, int...)} owns its memory and frees it on
 * {@link #close()}; one made in an {@link Arena} lives as long as that arena (close() leaves it
 * alone); views ({@link #reshape}, {@link #rows}, {@link #slice}) share their parent's memory.
 *
 * <p>Layout: tensors are dense unless they are a {@link #slice} along some dimension, which keeps
 * the parent's strides; {@link #isContiguous()} tells which. Kernels say which of their operands may
 * be strided (a KV cache appends into a slice, attention reads one); the rest require dense ones.
 */
public final class Tensor implements AutoCloseable {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Elements converted per pass between dtypes (a multiple of Q8's block). */
    private static final int CONVERT_CHUNK = 128 * Q8Blocks.BLOCK;
    /** Allocations are aligned for the widest vector loads. */
    public static final long ALIGNMENT = 64;

    private final DType dtype;
    private final int[] shape;
    private final long[] strides;       // in elements; the dense row-major ones unless this is a slice
    private final MemorySegment data;   // from the first element to the end of the last one
    private final Device device;
    private final boolean contiguous;
    private final Arena ownArena;

    private Tensor(DType dtype, int[] shape, long[] strides, MemorySegment data, Device device, Arena ownArena) {
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.data = data;
        this.device = device;
        this.contiguous = Arrays.equals(strides, denseStrides(shape));
        this.ownArena = ownArena;
    }

    private Tensor(DType dtype, int[] shape, MemorySegment data, Arena ownArena) {
        this(dtype, shape, denseStrides(shape), data, Device.HOST, ownArena);
    }

    /**
     * A dense tensor over memory of {@code device} (for backends): {@code memory} is the device's
     * address range, which only the owning backend may dereference unless the device is host-accessible.
     */
    public static Tensor onDevice(Device device, MemorySegment memory, DType dtype, int... shape) {
        Tensor host = wrap(memory, dtype, shape);
        return new Tensor(dtype, host.shape, host.strides, memory, device, null);
    }

    /** A zero-filled tensor whose memory belongs to {@code arena}. */
    public static Tensor allocate(Arena arena, DType dtype, int... shape) {
        int[] dims = checkedShape(dtype, shape);
        MemorySegment data = arena.allocate(Math.max(1, dtype.bytes(elementCount(dims))), ALIGNMENT);
        return new Tensor(dtype, dims, data.asSlice(0, dtype.bytes(elementCount(dims))), null);
    }

    /** A zero-filled tensor that owns its memory: free it with {@link #close()}. */
    public static Tensor allocate(DType dtype, int... shape) {
        Arena arena = Arena.ofShared();
        int[] dims = checkedShape(dtype, shape);
        MemorySegment data = arena.allocate(Math.max(1, dtype.bytes(elementCount(dims))), ALIGNMENT);
        return new Tensor(dtype, dims, data.asSlice(0, dtype.bytes(elementCount(dims))), arena);
    }

    /** A tensor over existing memory (a memory-mapped file, say), which must outlive it. */
    public static Tensor wrap(MemorySegment data, DType dtype, int... shape) {
        int[] dims = checkedShape(dtype, shape);
        long bytes = dtype.bytes(elementCount(dims));
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

    public Device device() {
        return device;
    }

    /** Whether host code may read and write this tensor ({@link #data()}, {@link #getFloat}, ...). */
    public boolean isHostAccessible() {
        return device.hostAccessible();
    }

    /** Whether the memory is mapped read-only (weights used zero-copy from a file). */
    public boolean isReadOnly() {
        return data.isReadOnly();
    }

    /** The raw bytes of a host tensor, little-endian, from the first element to the end of the last. */
    public MemorySegment data() {
        requireHost();
        return data;
    }

    /**
     * The memory as the owning backend sees it: host memory, or the device's address range (never
     * to be dereferenced on the host unless {@link Device#hostAccessible()}).
     */
    public MemorySegment memory() {
        return data;
    }

    /** Strides in elements, per dimension. */
    public long[] strides() {
        return strides.clone();
    }

    /** Whether the elements are stored densely in row-major order (not a strided slice). */
    public boolean isContiguous() {
        return contiguous;
    }

    /**
     * The same memory relabelled as {@code target}'s, for backends whose device memory the host can
     * address (a test backend, unified memory) and that run host kernels on it.
     */
    public Tensor viewOn(Device target) {
        return new Tensor(dtype, shape, strides, data, target, null);
    }

    public float getFloat(long index) {
        requireHost();
        long at = offsetOf(index);
        return switch (dtype) {
            case F32 -> data.getAtIndex(FLOAT, at);
            case BF16 -> HalfFloats.bf16ToFloat(data.getAtIndex(SHORT, at));
            case F16 -> HalfFloats.f16ToFloat(data.getAtIndex(SHORT, at));
            case Q8 -> Q8Blocks.get(data, at);
            case I32 -> data.getAtIndex(INT, at);
        };
    }

    public void setFloat(long index, float value) {
        requireHost();
        long at = offsetOf(index);
        switch (dtype) {
            case F32 -> data.setAtIndex(FLOAT, at, value);
            case BF16 -> data.setAtIndex(SHORT, at, HalfFloats.floatToBf16(value));
            case F16 -> data.setAtIndex(SHORT, at, HalfFloats.floatToF16(value));
            case Q8 -> throw new IllegalStateException("Q8 elements are written a block at a time: convert a whole tensor with to(arena, DType.Q8)");
            case I32 -> throw new IllegalStateException("setFloat on an I32 tensor");
        }
    }

    public int getInt(long index) {
        requireHost();
        requireDType(DType.I32);
        return data.getAtIndex(INT, offsetOf(index));
    }

    public void setInt(long index, int value) {
        requireHost();
        requireDType(DType.I32);
        data.setAtIndex(INT, offsetOf(index), value);
    }

    /** All elements as floats (converted from F16/BF16/I32 where needed). */
    public float[] toFloatArray() {
        requireHost();
        int n = Math.toIntExact(size());
        float[] out = new float[n];
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, FLOAT, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    public int[] toIntArray() {
        requireHost();
        requireDType(DType.I32);
        int n = Math.toIntExact(size());
        int[] out = new int[n];
        if (isContiguous()) {
            MemorySegment.copy(data, INT, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) out[i] = getInt(i);
        }
        return out;
    }

    /** Overwrites every element from {@code values} (converted to this tensor's dtype). */
    public void copyFrom(float[] values) {
        if (values.length != size()) {
            throw new IllegalArgumentException(values.length + " values for " + this);
        }
        requireHost();
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(values, 0, data, FLOAT, 0, values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                setFloat(i, values[i]);
            }
        }
    }

    /**
     * Copies every element of {@code source}, which must have the same element count, converting
     * dtypes (into Q8: quantizing block by block, see {@link Q8Blocks}).
     */
    public void copyFrom(Tensor source) {
        if (source.size() != size()) {
            throw new IllegalArgumentException("cannot copy " + source + " into " + this);
        }
        requireHost();
        source.requireHost();
        if (source.dtype == dtype && isContiguous() && source.isContiguous()) {
            MemorySegment.copy(source.data, 0, data, 0, data.byteSize());
        } else if (isContiguous() && source.isContiguous() && dtype != DType.I32 && source.dtype != DType.I32) {
            convertFrom(source);
        } else if (dtype == DType.Q8) {
            quantizeFrom(source);
        } else {
            for (long i = 0, n = size(); i < n; i++) {
                setFloat(i, source.getFloat(i));
            }
        }
    }

    /** This dense tensor = the dense floating-point {@code source}, converted a chunk of floats at a time. */
    private void convertFrom(Tensor source) {
        float[] chunk = new float[CONVERT_CHUNK];
        for (long from = 0, n = size(); from < n; from += CONVERT_CHUNK) {
            int count = (int) Math.min(CONVERT_CHUNK, n - from);
            source.readDense(from, chunk, count);
            writeDense(from, chunk, count);
        }
    }

    /** floats[0 .. count) = elements [from, from + count) of this dense tensor. */
    private void readDense(long from, float[] floats, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, FLOAT, from * Float.BYTES, floats, 0, count);
            case BF16 -> HalfFloats.bf16sToFloats(data, from, floats, count);
            case F16 -> {
                for (int i = 0; i < count; i++) floats[i] = HalfFloats.f16ToFloat(data.getAtIndex(SHORT, from + i));
            }
            case Q8 -> {
                for (int i = 0; i < count; i++) floats[i] = Q8Blocks.get(data, from + i);
            }
            case I32 -> throw new IllegalStateException("not a floating-point tensor: " + this);
        }
    }

    /** Elements [from, from + count) of this dense tensor = floats[0 .. count), narrowed (Q8: from a block boundary). */
    private void writeDense(long from, float[] floats, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(floats, 0, data, FLOAT, from * Float.BYTES, count);
            case BF16 -> HalfFloats.floatsToBf16(floats, count, data, from);
            case F16 -> {
                for (int i = 0; i < count; i++) data.setAtIndex(SHORT, from + i, HalfFloats.floatToF16(floats[i]));
            }
            case Q8 -> Q8Blocks.quantizeFast(floats, count / Q8Blocks.BLOCK, data, from / Q8Blocks.BLOCK);
            case I32 -> throw new IllegalStateException("not a floating-point tensor: " + this);
        }
    }

    /** Fills this Q8 tensor from a strided {@code source}, one block of floats at a time. */
    private void quantizeFrom(Tensor source) {
        float[] block = new float[Q8Blocks.BLOCK];
        for (long b = 0, blocks = size() / Q8Blocks.BLOCK; b < blocks; b++) {
            for (int i = 0; i < Q8Blocks.BLOCK; i++) block[i] = source.getFloat(b * Q8Blocks.BLOCK + i);
            Q8Blocks.quantizeFast(block, 1, data, b);
        }
    }

    /** A copy in {@code arena} converted to {@code target} (F32, F16, BF16 or Q8). */
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
        if (elementCount(checkedShape(dtype, dims)) != size()) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape));
        }
        if (!isContiguous()) {
            throw new IllegalStateException("cannot reshape the strided view " + this + ": copy it into a dense tensor first");
        }
        return new Tensor(dtype, dims, denseStrides(dims), data, device, null);
    }

    /** A view of rows {@code [from, to)} along dimension 0. */
    public Tensor rows(int from, int to) {
        if (rank() == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + this);
        }
        if (!isContiguous()) {
            return slice(0, from, to);
        }
        if (dtype == DType.Q8 && rank() == 1) {
            throw new IllegalArgumentException("a Q8 vector is one run of blocks: its elements cannot be cut apart: " + this);
        }
        int[] dims = shape.clone();
        dims[0] = to - from;
        long rowBytes = (shape[0] == 0 ? 0 : data.byteSize() / shape[0]);
        return new Tensor(dtype, dims, strides, data.asSlice(from * rowBytes, (to - from) * rowBytes), device, null);
    }

    /**
     * A view of indices {@code [from, to)} along dimension {@code dim} (negative counts from the
     * end), sharing this tensor's memory and strides: strided unless it covers whole rows.
     */
    public Tensor slice(int dim, int from, int to) {
        int d = dim < 0 ? shape.length + dim : dim;
        if (d < 0 || d >= shape.length || from < 0 || to > shape[d] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of dimension " + dim + " of " + this);
        }
        int[] dims = shape.clone();
        dims[d] = to - from;
        if (dtype == DType.Q8) {
            throw new IllegalArgumentException("Q8 tensors are cut into whole rows only (rows(from, to)), not sliced: " + this);
        }
        long es = dtype.byteSize();
        if (elementCount(dims) == 0) {
            return new Tensor(dtype, dims, strides, data.asSlice(0, 0), device, null);
        }
        long first = from * strides[d], last = first;
        for (int i = 0; i < dims.length; i++) {
            last += (dims[i] - 1) * strides[i];
        }
        return new Tensor(dtype, dims, strides, data.asSlice(first * es, (last - first + 1) * es), device, null);
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
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + (device.equals(Device.HOST) ? "" : " on " + device)
                + (isContiguous() ? "" : " strided") + "]";
    }

    /** Element offset (from the first element) of the element with row-major index {@code index}. */
    public long offsetOf(long index) {
        if (contiguous) {
            return index;
        }
        long at = 0;
        for (int i = shape.length - 1; i >= 0; i--) {
            at += (index % shape[i]) * strides[i];
            index /= shape[i];
        }
        return at;
    }

    private static long[] denseStrides(int[] shape) {
        long[] out = new long[shape.length];
        long stride = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            out[i] = stride;
            stride *= shape[i];
        }
        return out;
    }

    private void requireHost() {
        if (!device.hostAccessible()) {
            throw new IllegalStateException(this + " lives on " + device
                    + ", not in host memory: download it with its backend first");
        }
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

    /** As {@link #checkedShape(int[])}, and for Q8 a last dimension of whole blocks. */
    private static int[] checkedShape(DType dtype, int[] shape) {
        int[] dims = checkedShape(shape);
        if (dtype == DType.Q8 && (dims.length == 0 || dims[dims.length - 1] % Q8Blocks.BLOCK != 0)) {
            throw new IllegalArgumentException("Q8 stores rows in blocks of " + Q8Blocks.BLOCK + " elements: shape "
                    + Arrays.toString(shape) + " needs a last dimension that is a multiple of " + Q8Blocks.BLOCK);
        }
        return dims;
    }

    private void requireDType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("expected an " + expected + " tensor, got " + this);
        }
    }
}
