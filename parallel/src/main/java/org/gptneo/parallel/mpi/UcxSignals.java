package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;

/**
 * Keeps UCX (the transport under MPICH and Open MPI here) off the fault signals the JVM raises on
 * purpose (safepoint polls, implicit null checks): unless UCX_ERROR_SIGNALS is set, UCX takes over
 * SIGSEGV, SIGBUS, SIGILL and SIGFPE and ends the process on any of them, and a rank died with "Caught
 * signal 11" whenever one came at the wrong moment (MpiJobTest's two MPICH ranks, twice in `bash .ci/run`
 * on 2026-12-07). UCX reads the variable when its library is loaded, which for MPICH is when libmpi is
 * opened (for Open MPI, at MPI_Init): so it is set before any MPI library is.
 */
final class UcxSignals {
    private UcxSignals() {}

    /**
     * Sets UCX_ERROR_SIGNALS to empty unless it is set. Best effort, like the probe that calls it: where
     * the C library has no setenv or the call fails, nothing (UCX then keeps its handlers).
     */
    static void leaveFaultSignalsToTheJvm() {
        Linker linker = Linker.nativeLinker();
        MemorySegment setenv = linker.defaultLookup().find("setenv").orElse(null);   // a POSIX C library's
        if (setenv == null) return;
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) linker.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT))
                    .invokeExact(arena.allocateFrom("UCX_ERROR_SIGNALS"), arena.allocateFrom(""), 0);
        } catch (Throwable e) {
            // best effort: see above
        }
    }
}
