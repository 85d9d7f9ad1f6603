package org.gptneo.parallel.nccl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.cuda.ffi.CudaLibraries;
import org.gptneo.cuda.ffi.CudaLibrary;
import org.gptneo.cuda.ffi.CudaUnavailableException;
import org.gptneo.cuda.ffi.Downcalls;
import org.gptneo.cuda.ffi.LoadedLibrary;
import org.gptneo.parallel.CommunicatorException;

/**
 * NCCL 2 ({@code libnccl.so.2}, found by cuda-ffi's library search: the {@code nvidia-nccl-cu13} wheel's
 * {@code nvidia/nccl/lib}, {@code gptneo.cuda.path}, or the system loader). Each method calls the C
 * function of the same name with an {@code nccl} prefix and returns its {@code ncclResult_t};
 * communicators, buffers and streams are segments, counts {@code size_t}. A missing library or symbol
 * makes the call throw {@link CudaUnavailableException} naming it.
 */
final class Nccl {
    /** {@code ncclSuccess}. */
    static final int SUCCESS = 0;
    /** {@code ncclInProgress}: a non-blocking communicator is still working. */
    static final int IN_PROGRESS = 7;
    /** {@code NCCL_UNIQUE_ID_BYTES}. */
    static final int UNIQUE_ID_BYTES = 128;
    /** {@code NCCL_SPLIT_NOCOLOR}. */
    static final int SPLIT_NOCOLOR = -1;
    /** {@code ncclRedOp_t}. */
    static final int SUM = 0;
    static final int MAX = 2;
    static final int MIN = 3;
    static final int AVG = 4;
    /** {@code ncclDataType_t}: ncclUint8 (bytes) and ncclFloat32. */
    static final int UINT8 = 1;
    static final int FLOAT32 = 7;

    /** {@code ncclUniqueId}, passed by value to ncclCommInitRank. */
    static final MemoryLayout UNIQUE_ID = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE));

    private static final LoadedLibrary LIBRARY = CudaLibraries.get().library(CudaLibrary.NCCL);
    private static final List<String> BOUND = new ArrayList<>();

    private static final MethodHandle GET_VERSION = bind("ncclGetVersion", JAVA_INT, ADDRESS);
    private static final MethodHandle GET_UNIQUE_ID = bind("ncclGetUniqueId", JAVA_INT, ADDRESS);
    private static final MethodHandle COMM_INIT_RANK = bind("ncclCommInitRank", JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT);
    private static final MethodHandle COMM_SPLIT = bind("ncclCommSplit", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle COMM_COUNT = bind("ncclCommCount", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle COMM_USER_RANK = bind("ncclCommUserRank", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle COMM_FINALIZE = bind("ncclCommFinalize", JAVA_INT, ADDRESS);
    private static final MethodHandle COMM_DESTROY = bind("ncclCommDestroy", JAVA_INT, ADDRESS);
    private static final MethodHandle COMM_ABORT = bind("ncclCommAbort", JAVA_INT, ADDRESS);
    private static final MethodHandle COMM_GET_ASYNC_ERROR = bind("ncclCommGetAsyncError", JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GET_ERROR_STRING = bind("ncclGetErrorString", ADDRESS, JAVA_INT);
    private static final MethodHandle GET_LAST_ERROR = bind("ncclGetLastError", ADDRESS, ADDRESS);
    private static final MethodHandle ALL_REDUCE = bind("ncclAllReduce", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle BROADCAST = bind("ncclBroadcast", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle REDUCE_SCATTER = bind("ncclReduceScatter", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle ALL_GATHER = bind("ncclAllGather", JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle SEND = bind("ncclSend", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle RECV = bind("ncclRecv", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GROUP_START = bind("ncclGroupStart", JAVA_INT);
    private static final MethodHandle GROUP_END = bind("ncclGroupEnd", JAVA_INT);

    /** The exported symbols bound here. */
    static final List<String> SYMBOLS = List.copyOf(BOUND);

    private Nccl() {}

    private static MethodHandle bind(String symbol, MemoryLayout result, MemoryLayout... arguments) {
        BOUND.add(symbol);
        String why = LIBRARY.loaded() ? "not exported by " + LIBRARY.describe() : LIBRARY.whyMissing();
        return Downcalls.bind(LIBRARY.lookupOrNull(), symbol, FunctionDescriptor.of(result, arguments), why);
    }

    /** Where NCCL comes from, or why it is missing. */
    static LoadedLibrary library() {
        return LIBRARY;
    }

    /** NCCL's words for a result: "unhandled system error (ncclSystemError, 2)"; the number alone when NCCL is missing. */
    static String describe(int rc) {
        try {
            return Downcalls.string(getErrorString(rc)) + " (ncclResult_t " + rc + ")";
        } catch (CudaUnavailableException e) {
            return "ncclResult_t " + rc;
        }
    }

    /** Throws {@link CommunicatorException} "{@code what} failed: ..." with NCCL's last error for {@code comm}. */
    static void check(int rc, String what, MemorySegment comm) {
        if (rc != SUCCESS) {
            String last = Downcalls.string(getLastError(comm));
            throw new CommunicatorException(what + " failed: " + describe(rc) + (last.isBlank() || last.equals("(null)")
                    ? "" : ": " + last.strip()));
        }
    }

    /** X.Y.Z of an {@code ncclGetVersion} code: X·10000 + Y·100 + Z (2.30.7 is 23007). */
    static String versionText(int code) {
        return code / 10000 + "." + code / 100 % 100 + "." + code % 100;
    }

    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from an NCCL call", t);
    }

    static int getVersion(MemorySegment version) {
        try { return (int) GET_VERSION.invokeExact(version); } catch (Throwable t) { throw unchecked(t); }
    }

    static int getUniqueId(MemorySegment id) {
        try { return (int) GET_UNIQUE_ID.invokeExact(id); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commInitRank(MemorySegment commOut, int nranks, MemorySegment id, int rank) {
        try { return (int) COMM_INIT_RANK.invokeExact(commOut, nranks, id, rank); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commSplit(MemorySegment comm, int color, int key, MemorySegment newCommOut) {
        try {
            return (int) COMM_SPLIT.invokeExact(comm, color, key, newCommOut, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int commCount(MemorySegment comm, MemorySegment count) {
        try { return (int) COMM_COUNT.invokeExact(comm, count); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commUserRank(MemorySegment comm, MemorySegment rank) {
        try { return (int) COMM_USER_RANK.invokeExact(comm, rank); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commFinalize(MemorySegment comm) {
        try { return (int) COMM_FINALIZE.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commDestroy(MemorySegment comm) {
        try { return (int) COMM_DESTROY.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commAbort(MemorySegment comm) {
        try { return (int) COMM_ABORT.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    static int commGetAsyncError(MemorySegment comm, MemorySegment result) {
        try { return (int) COMM_GET_ASYNC_ERROR.invokeExact(comm, result); } catch (Throwable t) { throw unchecked(t); }
    }

    static MemorySegment getErrorString(int rc) {
        try { return (MemorySegment) GET_ERROR_STRING.invokeExact(rc); } catch (Throwable t) { throw unchecked(t); }
    }

    static MemorySegment getLastError(MemorySegment comm) {
        try { return (MemorySegment) GET_LAST_ERROR.invokeExact(comm); } catch (Throwable t) { throw unchecked(t); }
    }

    static int allReduce(MemorySegment send, MemorySegment recv, long count, int type, int op, MemorySegment comm,
                         MemorySegment stream) {
        try { return (int) ALL_REDUCE.invokeExact(send, recv, count, type, op, comm, stream); } catch (Throwable t) { throw unchecked(t); }
    }

    static int broadcast(MemorySegment send, MemorySegment recv, long count, int type, int root, MemorySegment comm,
                         MemorySegment stream) {
        try { return (int) BROADCAST.invokeExact(send, recv, count, type, root, comm, stream); } catch (Throwable t) { throw unchecked(t); }
    }

    static int reduceScatter(MemorySegment send, MemorySegment recv, long recvCount, int type, int op, MemorySegment comm,
                             MemorySegment stream) {
        try {
            return (int) REDUCE_SCATTER.invokeExact(send, recv, recvCount, type, op, comm, stream);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    static int allGather(MemorySegment send, MemorySegment recv, long sendCount, int type, MemorySegment comm,
                         MemorySegment stream) {
        try { return (int) ALL_GATHER.invokeExact(send, recv, sendCount, type, comm, stream); } catch (Throwable t) { throw unchecked(t); }
    }

    static int send(MemorySegment buffer, long count, int type, int peer, MemorySegment comm, MemorySegment stream) {
        try { return (int) SEND.invokeExact(buffer, count, type, peer, comm, stream); } catch (Throwable t) { throw unchecked(t); }
    }

    static int recv(MemorySegment buffer, long count, int type, int peer, MemorySegment comm, MemorySegment stream) {
        try { return (int) RECV.invokeExact(buffer, count, type, peer, comm, stream); } catch (Throwable t) { throw unchecked(t); }
    }

    static int groupStart() {
        try { return (int) GROUP_START.invokeExact(); } catch (Throwable t) { throw unchecked(t); }
    }

    static int groupEnd() {
        try { return (int) GROUP_END.invokeExact(); } catch (Throwable t) { throw unchecked(t); }
    }
}
