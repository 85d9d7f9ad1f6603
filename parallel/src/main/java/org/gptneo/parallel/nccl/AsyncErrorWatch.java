package org.gptneo.parallel.nccl;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.gptneo.cuda.ffi.Downcalls;

/**
 * Polls {@code ncclCommGetAsyncError} of one communicator (NCCL allows it from any thread) every
 * {@value #POLL_MILLIS} ms. An error, such as a peer that died ({@code ncclRemoteError},
 * {@code ncclSystemError}), ends the process with status 1 and one line on standard error: the
 * collectives already queued would otherwise wait on the GPU for ever. Stopped (and joined) before the
 * communicator is finalised, aborted or destroyed, so it never touches a freed communicator.
 */
final class AsyncErrorWatch {
    static final int POLL_MILLIS = 500;

    private final MemorySegment comm;
    private final String who;
    private final PrintStream err;
    private final Thread thread;
    private volatile boolean stopped;

    /** Starts watching {@code comm} of the rank described by {@code who} ("rank 1 of 4"). */
    AsyncErrorWatch(MemorySegment comm, String who, PrintStream err) {
        this.comm = comm;
        this.who = who;
        this.err = err;
        this.thread = Thread.ofPlatform().name("gptneo-nccl-watch").daemon(true).start(this::watch);
    }

    /** Stops watching and waits for the watching thread to end. */
    void stop() {
        stopped = true;
        if (Thread.currentThread() != thread) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void watch() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment result = arena.allocate(JAVA_INT);
            while (!stopped) {
                int rc = Nccl.commGetAsyncError(comm, result);
                int async = result.get(JAVA_INT, 0);
                if (!stopped && rc == Nccl.SUCCESS && async != Nccl.SUCCESS && async != Nccl.IN_PROGRESS) {
                    err.println("gptneo nccl: " + who + " stops: the communicator failed: " + Nccl.describe(async)
                            + ": " + Downcalls.string(Nccl.getLastError(comm)).strip()
                            + " (a peer rank was lost or its link failed)");
                    err.flush();
                    Runtime.getRuntime().halt(1);
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
