import java.lang.foreign.Arena;
import java.util.function.IntToDoubleFunction;
import org.gptneo.backend.cpu.CpuBackend;

/** The 72 products x·Wᵀ of a 125M prefill of 512 tokens, and its LM head over all rows: passes per second, best of 3. */
public class PrefillRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final int T = 512;
    private final CpuBackend backend;
    private final Weights125M.Products pass;

    public PrefillRunner(int threads) {
        backend = new CpuBackend(threads);
        Arena arena = Weights125M.arena();
        pass = Weights125M.Products.of(arena, Weights125M.create(arena), T);
    }

    public static String name(int i) {
        return i == 0 ? "72 layer products, T = 512 (passes/s)" : "LM head 512 x 50257 x 768 (calls/s)";
    }

    @Override
    public double applyAsDouble(int workload) {
        int last = Weights125M.COUNT - 1, from = workload == 0 ? 0 : last, to = workload == 0 ? last : Weights125M.COUNT;
        double best = 0;
        for (int run = 0; run < 3; run++) {
            long start = System.nanoTime();
            pass.run(backend, from, to);
            best = Math.max(best, 1e9 / (System.nanoTime() - start));
        }
        return best;
    }
}
