import java.lang.foreign.Arena;
import java.util.function.IntToDoubleFunction;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The 73 products x·Wᵀ of one 125M decoding step, at batch 1 and 8: steps per second, best of 10. */
public class StepRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final int[] BATCH = {1, 8};
    private final CpuBackend backend;
    private final Tensor[] w = new Tensor[Weights125M.COUNT];
    private final Tensor[][] x = new Tensor[2][Weights125M.COUNT], y = new Tensor[2][Weights125M.COUNT];

    public StepRunner(int threads) {
        backend = new CpuBackend(threads);
        Arena arena = Weights125M.arena();
        for (int i = 0; i < Weights125M.COUNT; i++) {
            int[] s = Weights125M.shape(i);
            w[i] = Weights125M.filled(arena, s);
            for (int b = 0; b < 2; b++) {
                x[b][i] = Weights125M.filled(arena, BATCH[b], s[1]);
                y[b][i] = Tensor.allocate(arena, DType.F32, BATCH[b], s[0]);
            }
        }
    }

    public static String name(int i) {
        return "step products, batch " + BATCH[i] + " (steps/s)";
    }

    @Override
    public double applyAsDouble(int b) {
        double best = 0;
        for (int run = 0; run < 10; run++) {
            long start = System.nanoTime();
            for (int i = 0; i < Weights125M.COUNT; i++) backend.matmul(x[b][i], false, w[i], true, y[b][i], 1f, 0f);
            best = Math.max(best, 1e9 / (System.nanoTime() - start));
        }
        return best;
    }
}
