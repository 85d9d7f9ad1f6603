package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.parallel.CommunicatorException;
import org.gptneo.parallel.mpi.MpiAbi.MpiConstants;

/**
 * The MPI functions this library calls, bound for one loaded library and its ABI. Handles are
 * {@code long}s on the Java side and are passed as the ABI's layout (a pointer, or an {@code int});
 * buffers, out-parameters and statuses are segments. Each method calls the C function of the same name
 * and returns its error code; {@link #check} turns a failure into a {@link CommunicatorException} with
 * {@code MPI_Error_string}'s text.
 */
final class Mpi {
    /** {@code MPI_SUCCESS}. */
    static final int SUCCESS = 0;
    /** The error string buffer: {@code MPI_MAX_ERROR_STRING} is at most 1024 (MPICH); 8192 leaves room. */
    private static final int ERROR_BYTES = 8192;
    /** {@code MPI_MAX_PROCESSOR_NAME} is 256 in Open MPI and the standard ABI, 128 in MPICH. */
    static final int PROCESSOR_NAME_BYTES = 256;
    /** Marks a handle parameter in the descriptors below; replaced by the ABI's handle layout. */
    private static final MemoryLayout HANDLE = JAVA_LONG.withName("MPI handle");
    private static final Linker LINKER = Linker.nativeLinker();
    /** A handle's {@code long} as an {@code int} (MPICH) or as a pointer (Open MPI, the standard ABI). */
    private static final MethodHandle TO_INT;
    private static final MethodHandle TO_ADDRESS;

    static {
        try {
            TO_INT = MethodHandles.lookup().findStatic(Math.class, "toIntExact", MethodType.methodType(int.class, long.class));
            TO_ADDRESS = MethodHandles.lookup().findStatic(MemorySegment.class, "ofAddress",
                    MethodType.methodType(MemorySegment.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MpiConstants constants;
    private final SymbolLookup lookup;
    private final String libraryName;
    private final List<String> symbols = new ArrayList<>();
    /** Set once MPI_Init_thread succeeded: Open MPI aborts the process on MPI_Error_string before that. */
    private volatile boolean initialised;

    private final MethodHandle initThread;
    private final MethodHandle finalized;
    private final MethodHandle finalizeMpi;
    private final MethodHandle commRank;
    private final MethodHandle commSize;
    private final MethodHandle commSetErrhandler;
    private final MethodHandle commSplit;
    private final MethodHandle commFree;
    private final MethodHandle barrier;
    private final MethodHandle allreduce;
    private final MethodHandle reduce;
    private final MethodHandle reduceScatterBlock;
    private final MethodHandle allgather;
    private final MethodHandle alltoall;
    private final MethodHandle bcast;
    private final MethodHandle send;
    private final MethodHandle recv;
    private final MethodHandle sendrecv;
    private final MethodHandle errorString;
    private final MethodHandle getProcessorName;

    /** Binds every function; a missing one is an {@link IllegalStateException} naming it. */
    Mpi(SymbolLookup lookup, MpiConstants constants, String libraryName) {
        this.lookup = lookup;
        this.constants = constants;
        this.libraryName = libraryName;
        initThread = bind("MPI_Init_thread", ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        finalized = bind("MPI_Finalized", ADDRESS);
        finalizeMpi = bind("MPI_Finalize");
        commRank = bind("MPI_Comm_rank", HANDLE, ADDRESS);
        commSize = bind("MPI_Comm_size", HANDLE, ADDRESS);
        commSetErrhandler = bind("MPI_Comm_set_errhandler", HANDLE, HANDLE);
        commSplit = bind("MPI_Comm_split", HANDLE, JAVA_INT, JAVA_INT, ADDRESS);
        commFree = bind("MPI_Comm_free", ADDRESS);
        barrier = bind("MPI_Barrier", HANDLE);
        allreduce = bind("MPI_Allreduce", ADDRESS, ADDRESS, JAVA_INT, HANDLE, HANDLE, HANDLE);
        reduce = bind("MPI_Reduce", ADDRESS, ADDRESS, JAVA_INT, HANDLE, HANDLE, JAVA_INT, HANDLE);
        reduceScatterBlock = bind("MPI_Reduce_scatter_block", ADDRESS, ADDRESS, JAVA_INT, HANDLE, HANDLE, HANDLE);
        allgather = bind("MPI_Allgather", ADDRESS, JAVA_INT, HANDLE, ADDRESS, JAVA_INT, HANDLE, HANDLE);
        alltoall = bind("MPI_Alltoall", ADDRESS, JAVA_INT, HANDLE, ADDRESS, JAVA_INT, HANDLE, HANDLE);
        bcast = bind("MPI_Bcast", ADDRESS, JAVA_INT, HANDLE, JAVA_INT, HANDLE);
        send = bind("MPI_Send", ADDRESS, JAVA_INT, HANDLE, JAVA_INT, JAVA_INT, HANDLE);
        recv = bind("MPI_Recv", ADDRESS, JAVA_INT, HANDLE, JAVA_INT, JAVA_INT, HANDLE, ADDRESS);
        sendrecv = bind("MPI_Sendrecv", ADDRESS, JAVA_INT, HANDLE, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, HANDLE, JAVA_INT, JAVA_INT, HANDLE, ADDRESS);
        errorString = bind("MPI_Error_string", JAVA_INT, ADDRESS, ADDRESS);
        getProcessorName = bind("MPI_Get_processor_name", ADDRESS, ADDRESS);
    }

    /** The ABI's constants. */
    MpiConstants constants() {
        return constants;
    }

    /** The exported symbols bound here, in binding order. */
    List<String> symbols() {
        return List.copyOf(symbols);
    }

    @SuppressWarnings("restricted")
    private MethodHandle bind(String symbol, MemoryLayout... parameters) {
        MemorySegment address = lookup.find(symbol).orElseThrow(() ->
                new IllegalStateException(symbol + " is not exported by " + libraryName));
        MemoryLayout[] layouts = parameters.clone();
        for (int i = 0; i < layouts.length; i++) {
            if (layouts[i] == HANDLE) {
                layouts[i] = constants.handleLayout();
            }
        }
        MethodHandle handle = LINKER.downcallHandle(address, FunctionDescriptor.of(JAVA_INT, layouts));
        MethodHandle fromLong = constants.handleLayout() == JAVA_INT ? TO_INT : TO_ADDRESS;
        for (int i = 0; i < parameters.length; i++) {
            if (parameters[i] == HANDLE) {
                handle = MethodHandles.filterArguments(handle, i, fromLong);
            }
        }
        symbols.add(symbol);
        return handle;
    }

    /** A slot for one handle out-parameter ({@code MPI_Comm*}). */
    MemorySegment handleSlot(Arena arena) {
        return arena.allocate(constants.handleLayout());
    }

    /** A slot holding {@code handle} (the in-out {@code MPI_Comm*} of MPI_Comm_free). */
    MemorySegment handleSlot(Arena arena, long handle) {
        MemorySegment slot = handleSlot(arena);
        if (constants.handleLayout() == JAVA_INT) {
            slot.set(JAVA_INT, 0, Math.toIntExact(handle));
        } else {
            slot.set(ADDRESS, 0, MemorySegment.ofAddress(handle));
        }
        return slot;
    }

    /** The handle in a slot. */
    long readHandle(MemorySegment slot) {
        return constants.handleLayout() == JAVA_INT ? slot.get(JAVA_INT, 0) : slot.get(ADDRESS, 0).address();
    }

    /** {@code MPI_IN_PLACE}. */
    MemorySegment inPlace() {
        return MemorySegment.ofAddress(constants.inPlace());
    }

    /** {@code MPI_STATUS_IGNORE}. */
    MemorySegment statusIgnore() {
        return MemorySegment.ofAddress(constants.statusIgnore());
    }

    /** Throws {@link CommunicatorException} "{@code what} failed: MPI's text (error code rc)" unless rc is success. */
    void check(int rc, String what) {
        if (rc != SUCCESS) {
            throw new CommunicatorException(what + " failed: " + describe(rc));
        }
    }

    /** An error code in MPI's words, from {@code MPI_Error_string} once MPI is initialised ("error code rc" before). */
    String describe(int rc) {
        if (!initialised) {
            return "error code " + rc + " (MPI is not initialised, so it cannot describe it)";
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(ERROR_BYTES);
            MemorySegment length = arena.allocate(JAVA_INT);
            int status = errorString(rc, text, length);
            // MPICH's text is an error stack of several lines: one line here
            String said = text.getString(0).strip().replaceAll("\\s*\\R\\s*", "; ");
            return (status == SUCCESS ? said : "no error string (MPI_Error_string returned " + status + ")")
                    + " (error code " + rc + ")";
        }
    }

    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from an MPI call", t);
    }

    int initThread(int required, MemorySegment provided) {
        int rc;
        try { rc = (int) initThread.invokeExact(MemorySegment.NULL, MemorySegment.NULL, required, provided); } catch (Throwable t) { throw unchecked(t); }
        initialised = rc == SUCCESS;
        return rc;
    }

    int finalized(MemorySegment flag) {
        try { return (int) finalized.invokeExact(flag); } catch (Throwable t) { throw unchecked(t); }
    }

    int finalizeMpi() {
        try { return (int) finalizeMpi.invokeExact(); } catch (Throwable t) { throw unchecked(t); }
    }

    int commRank(long comm, MemorySegment rank) {
        try { return (int) commRank.invokeExact(comm, rank); } catch (Throwable t) { throw unchecked(t); }
    }

    int commSize(long comm, MemorySegment size) {
        try { return (int) commSize.invokeExact(comm, size); } catch (Throwable t) { throw unchecked(t); }
    }

    int commSetErrhandler(long comm, long errhandler) {
        try { return (int) commSetErrhandler.invokeExact(comm, errhandler); } catch (Throwable t) { throw unchecked(t); }
    }

    int commSplit(long comm, int color, int key, MemorySegment newComm) {
        try { return (int) commSplit.invokeExact(comm, color, key, newComm); } catch (Throwable t) { throw unchecked(t); }
    }

    int commFree(MemorySegment comm) {
        try { return (int) commFree.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int barrier(long comm) {
        try { return (int) barrier.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int allreduce(MemorySegment sendBuf, MemorySegment recvBuf, int count, long type, long op, long comm) {
        try { return (int) allreduce.invokeExact(sendBuf, recvBuf, count, type, op, comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int reduce(MemorySegment sendBuf, MemorySegment recvBuf, int count, long type, long op, int root, long comm) {
        try { return (int) reduce.invokeExact(sendBuf, recvBuf, count, type, op, root, comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int reduceScatterBlock(MemorySegment sendBuf, MemorySegment recvBuf, int recvCount, long type, long op, long comm) {
        try {
            return (int) reduceScatterBlock.invokeExact(sendBuf, recvBuf, recvCount, type, op, comm);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    int allgather(MemorySegment sendBuf, int sendCount, long sendType, MemorySegment recvBuf, int recvCount,
                  long recvType, long comm) {
        try {
            return (int) allgather.invokeExact(sendBuf, sendCount, sendType, recvBuf, recvCount, recvType, comm);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    int alltoall(MemorySegment sendBuf, int sendCount, long sendType, MemorySegment recvBuf, int recvCount,
                 long recvType, long comm) {
        try {
            return (int) alltoall.invokeExact(sendBuf, sendCount, sendType, recvBuf, recvCount, recvType, comm);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    int bcast(MemorySegment buffer, int count, long type, int root, long comm) {
        try { return (int) bcast.invokeExact(buffer, count, type, root, comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int send(MemorySegment buffer, int count, long type, int dest, int tag, long comm) {
        try { return (int) send.invokeExact(buffer, count, type, dest, tag, comm); } catch (Throwable t) { throw unchecked(t); }
    }

    int recv(MemorySegment buffer, int count, long type, int source, int tag, long comm, MemorySegment status) {
        try { return (int) recv.invokeExact(buffer, count, type, source, tag, comm, status); } catch (Throwable t) { throw unchecked(t); }
    }

    int sendrecv(MemorySegment sendBuf, int sendCount, long sendType, int dest, int sendTag, MemorySegment recvBuf,
                 int recvCount, long recvType, int source, int recvTag, long comm, MemorySegment status) {
        try {
            return (int) sendrecv.invokeExact(sendBuf, sendCount, sendType, dest, sendTag, recvBuf, recvCount, recvType,
                    source, recvTag, comm, status);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    int errorString(int code, MemorySegment text, MemorySegment length) {
        try { return (int) errorString.invokeExact(code, text, length); } catch (Throwable t) { throw unchecked(t); }
    }

    int getProcessorName(MemorySegment name, MemorySegment length) {
        try { return (int) getProcessorName.invokeExact(name, length); } catch (Throwable t) { throw unchecked(t); }
    }
}
