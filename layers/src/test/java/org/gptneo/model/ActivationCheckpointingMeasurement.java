package org.gptneo.model;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;

/**
 * Measures what activation checkpointing saves on the GPT-Neo 125M shape (vocabulary 50257, context
 * 2048, width 768, 12 layers of 12 heads, global and local (window 256) alternating, randomly
 * initialised): per mode (plain, checkpointed blocks), the tape's peak bytes, the bytes left on the
 * outer tape, the parameter gradient bytes, and the wall and process CPU time of a forward + loss +
 * backward step on the CPU backend. A program, not a test: it needs a few GB of memory and minutes of CPU.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp layers/target/classes:layers/target/test-classes
 * org.gptneo.model.ActivationCheckpointingMeasurement [batch 4] [time 256] [timed steps 2] [dropout 0]}
 */
public final class ActivationCheckpointingMeasurement {
    private static final long MIB = 1L << 20;
    private static final com.sun.management.OperatingSystemMXBean PROCESS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private ActivationCheckpointingMeasurement() {}

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        int time = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        float dropout = args.length > 3 ? Float.parseFloat(args[3]) : 0f;
        GptNeoBuilder shape = GptNeoBuilder.create().vocabSize(50257).contextLength(2048).hiddenSize(768).layers(12)
                .heads(12).attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(256).dropout(dropout).seed(1);
        try (CpuBackend backend = new CpuBackend(); Arena arena = Arena.ofConfined();
             GptNeoModel plainModel = shape.build(backend); GptNeoModel checkpointedModel = shape.build(backend)) {
            Tensor ids = Tensor.ofInts(arena, randomIds(batch * time, 50257), batch, time);   // [B, T]
            System.out.printf("GPT-Neo 125M shape, %,d parameters, B=%d T=%d dropout %s, %d CPU threads, "
                            + "%d timed steps after 1 warm-up, the two modes taking turns%n",
                    plainModel.parameterCount(), batch, time, dropout, backend.threads(), steps);
            Mode[] modes = {new Mode("plain", plainModel, false, steps), new Mode("checkpointed", checkpointedModel, true, steps)};
            for (int step = 0; step <= steps; step++) {
                for (Mode mode : modes) mode.step(ids, step);
            }
            for (Mode mode : modes) mode.print();
            System.out.println("step-0 loss bits equal both ways: " + (modes[0].lossBits == modes[1].lossBits));
        }
    }

    /** One way of running the step, on its own model (so each allocates its parameter gradients once). */
    private static final class Mode {
        final String name;
        final GptNeoModel model;
        final boolean checkpoint;
        final long[] millis, cpuMillis;
        long peak, kept, gradients;
        int lossBits;

        Mode(String name, GptNeoModel model, boolean checkpoint, int steps) {
            this.name = name;
            this.model = model;
            this.checkpoint = checkpoint;
            this.millis = new long[steps];
            this.cpuMillis = new long[steps];
        }

        /** Forward, loss and backward of step {@code step} (0 is the warm-up, not timed). */
        void step(Tensor ids, int step) {
            model.zeroGrad();
            long start = System.nanoTime(), cpuStart = PROCESS.getProcessCpuTime();
            try (Tape tape = new Tape(model.backend(), true)) {
                Var loss = model.loss(tape, model.forward(tape, ids, TrainingPass.forStep(7, step, checkpoint)), ids);
                tape.backward(loss);
                if (step == 0) {
                    lossBits = Float.floatToRawIntBits(loss.value().toFloatArray()[0]);
                    gradients = tape.parameterGradientBytes();
                }
                peak = Math.max(peak, tape.peakBytes());
                kept = tape.allocatedBytes();
            }
            if (step > 0) {
                millis[step - 1] = (System.nanoTime() - start) / 1_000_000;
                cpuMillis[step - 1] = (PROCESS.getProcessCpuTime() - cpuStart) / 1_000_000;
            }
        }

        void print() {
            System.out.printf("%-13s peak tape %,6d MiB  outer tape %,6d MiB  parameter gradients %,5d MiB  step wall ms %s (min %d, median %d), process CPU ms median %d%n",
                    name, peak / MIB, kept / MIB, gradients / MIB, Arrays.toString(millis),
                    Arrays.stream(millis).min().orElseThrow(), median(millis), median(cpuMillis));
        }
    }

    private static int[] randomIds(int n, int vocab) {
        Random random = new Random(3);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = random.nextInt(vocab);
        return ids;
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
