import java.lang.foreign.Arena;
import java.util.function.IntToDoubleFunction;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The 72 products x·Wᵀ of a 125M prefill of 512 tokens, and its LM head over all rows: passes per second, best of 3. */
public class PrefillRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final int T = 512;
    private final CpuBackend backend;
    private final Tensor[] w = new Tensor[Weights125M.COUNT], x = new Tensor[Weights125M.COUNT], y = new Tensor[Weights125M.COUNT];

    public PrefillRunner(int threads) {
        backend = new CpuBackend(threads);
        Arena arena = Weights125M.arena();
        for (int i = 0; i < Weights125M.COUNT; i++) {
            int[] s = Weights125M.shape(i);
            w[i] = Weights125M.filled(arena, s);
            x[i] = Weights125M.filled(arena, T, s[1]);
            y[i] = Tensor.allocate(arena, DType.F32, T, s[0]);
        }
    }

    public static String name(int i) {
        return i == 0 ? "72 layer products, T = 512 (passes/s)" : "LM head 512 x 50257 x 768 (calls/s)";
    }

    @Override
    public double applyAsDouble(int workload) {
        int from = workload == 0 ? 0 : Weights125M.COUNT - 1, to = workload == 0 ? Weights125M.COUNT - 1 : Weights125M.COUNT;
        double best = 0;
        for (int run = 0; run < 3; run++) {
            long start = System.nanoTime();
            for (int i = from; i < to; i++) backend.matmul(x[i], false, w[i], true, y[i], 1f, 0f);
            best = Math.max(best, 1e9 / (System.nanoTime() - start));
        }
        return best;
    }
}
