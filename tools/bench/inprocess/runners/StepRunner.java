import java.lang.foreign.Arena;
import java.util.function.IntToDoubleFunction;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;

/** The 73 products x·Wᵀ of one 125M decoding step, at batch 1 and 8: steps per second, best of 10. */
public class StepRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final int[] BATCH = {1, 8};
    private final CpuBackend backend;
    private final Weights125M.Products[] steps = new Weights125M.Products[BATCH.length];

    public StepRunner(int threads) {
        backend = new CpuBackend(threads);
        Arena arena = Weights125M.arena();
        Tensor[] w = Weights125M.create(arena);
        for (int b = 0; b < BATCH.length; b++) steps[b] = Weights125M.Products.of(arena, w, BATCH[b]);
    }

    public static String name(int i) {
        return "step products, batch " + BATCH[i] + " (steps/s)";
    }

    @Override
    public double applyAsDouble(int b) {
        double best = 0;
        for (int run = 0; run < 10; run++) {
            long start = System.nanoTime();
            steps[b].run(backend, 0, Weights125M.COUNT);
            best = Math.max(best, 1e9 / (System.nanoTime() - start));
        }
        return best;
    }
}
