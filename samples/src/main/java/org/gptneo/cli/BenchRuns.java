package org.gptneo.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.backend.cpu.CpuBackend;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What every {@code gptneo bench} measurement shares: the thread count, the number of timed runs,
 * best-of timing, the Java heap the timed runs allocate, and one JSON line per measurement. The best
 * (shortest) run is reported because on a shared machine every disturbance only ever adds time.
 */
final class BenchRuns {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long WARM_UP_NANOS = 500_000_000L;

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--threads", paramLabel = "N",
            description = "Threads of the CPU backend (default: the available processors).")
    Integer threads;

    @Option(names = "--runs", paramLabel = "R", defaultValue = "3",
            description = "Timed runs after warming up (one untimed run, repeated for at least half a second);"
                    + " the best is reported (default ${DEFAULT-VALUE}).")
    int runs;

    /** Checks --threads and --runs: a usage error naming the option otherwise. */
    void validate() {
        require(runs >= 1, "--runs must be ≥ 1, got " + runs);
        require(threads == null || threads >= 1, "--threads must be ≥ 1, got " + threads);
    }

    int threads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** The backend made by {@link #backend()}, synchronised at the end of every timed run. */
    private Backend made;

    /**
     * The backend to time, which the caller closes: the one {@code --backend} names (auto: a usable
     * GPU first), a CPU backend on {@link #threads()} threads when that is the CPU.
     */
    Backend backend() {
        Backend chosen = Backends.defaultBackend();
        if (chosen.name().equals("cpu")) {
            chosen.close();
            chosen = new CpuBackend(threads());
        }
        made = chosen;
        return chosen;
    }

    /** The fastest of the timed runs, and the Java heap they allocated, per run, on average over all of them. */
    record Best(double ms, double heapBytesPerRun) {}

    /**
     * The fastest of {@link #runs} runs of {@code work}, after warming up: untimed runs until
     * {@link #WARM_UP_NANOS} have passed (at least one). One run of a small product takes a few
     * milliseconds, too few for the JIT to have compiled all of its paths.
     */
    Best best(Runnable work) {
        long warmUntil = System.nanoTime() + WARM_UP_NANOS;
        do {
            work.run();
        } while (System.nanoTime() < warmUntil);
        double best = Double.POSITIVE_INFINITY;
        long heapBefore = heapAllocatedBytes();
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            work.run();
            if (made != null) {
                made.synchronize(); // a GPU has only queued the work
            }
            best = Math.min(best, (System.nanoTime() - start) / 1e6);
        }
        return new Best(best, (double) (heapAllocatedBytes() - heapBefore) / runs);
    }

    /**
     * Bytes of Java heap allocated so far by all threads (the backend's too). Tensors live off the heap,
     * so once the JIT has compiled the kernels a pass should allocate only a few small objects per
     * operation; a vector the JIT could not keep in registers (a call it did not inline) is allocated
     * instead, and shows up here as megabytes per token.
     */
    static long heapAllocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    /** Puts {@code heap_bytes_per_token}: heap bytes allocated per token of work, whole bytes. */
    static void putHeapPerToken(ObjectNode json, double heapBytes, long tokens) {
        json.put("heap_bytes_per_token", Math.round(heapBytes / tokens));
    }

    /** A new JSON line for measurement {@code what}, with the thread count. */
    ObjectNode line(String what) {
        ObjectNode json = JSON.createObjectNode();
        json.put("what", what);
        json.put("threads", threads());
        if (made != null) {
            json.put("backend", made.name());
        }
        return json;
    }

    void print(ObjectNode json) {
        PrintWriter out = spec.commandLine().getOut();
        try {
            out.println(JSON.writeValueAsString(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        out.flush();
    }

    void require(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    static double round(double x, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(x * scale) / scale;
    }

    /**
     * A tape for one timed pass whose memory comes from {@code passes} on a host backend (as the
     * Trainer's and generation's passes reuse theirs), or a plain tape on a device backend.
     */
    static Tape tape(Backend backend, boolean recording, Workspace passes) {
        return backend.device().hostAccessible() ? new Tape(backend, recording, passes) : new Tape(backend, recording);
    }
}
