import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.function.IntToDoubleFunction;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Shapes of `gptneo bench gemm` (M, N, K, op(A) transposed, op(B) transposed): GFLOP/s over about 2e10
 * flops, by wall clock, or on one thread by that thread's CPU time (steadier on a shared machine).
 */
public class GemmRunner implements IntToDoubleFunction {
    private static final int[][] SHAPES = {{2048, 2048, 2048, 0, 0}, {512, 768, 768, 0, 1}, {512, 3072, 768, 0, 1},
        {512, 768, 3072, 0, 1}, {512, 768, 3072, 0, 0}, {768, 768, 512, 1, 0}, {3072, 768, 512, 1, 0}, {768, 3072, 512, 1, 0},
        {512, 50257, 768, 0, 1}, {512, 768, 50257, 0, 0}, {50257, 768, 512, 1, 0}};
    public static final int WORKLOADS = SHAPES.length;
    private final CpuBackend backend;
    private final boolean cpuTime;
    private final Tensor[][] operands = new Tensor[SHAPES.length][];
    private final com.sun.management.ThreadMXBean clock = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    public GemmRunner(int threads) {
        backend = new CpuBackend(threads);
        cpuTime = threads == 1;
        Arena arena = Weights125M.arena();
        for (int i = 0; i < SHAPES.length; i++) {
            int[] s = SHAPES[i];
            int m = s[0], n = s[1], k = s[2];
            operands[i] = new Tensor[] {Weights125M.filled(arena, s[3] == 1 ? new int[] {k, m} : new int[] {m, k}),
                Weights125M.filled(arena, s[4] == 1 ? new int[] {n, k} : new int[] {k, n}), Tensor.allocate(arena, DType.F32, m, n)};
        }
    }

    public static String name(int i) {
        int[] s = SHAPES[i];
        return s[0] + "x" + s[1] + "x" + s[2] + " " + (s[3] == 1 ? "T" : "N") + (s[4] == 1 ? "T" : "N") + " (GFLOP/s)";
    }

    @Override
    public double applyAsDouble(int i) {
        int[] s = SHAPES[i];
        double flops = 2.0 * s[0] * s[1] * s[2];
        int calls = Math.max(2, (int) (2e10 / flops));
        long start = System.nanoTime(), cpuStart = clock.getCurrentThreadCpuTime();
        for (int c = 0; c < calls; c++) backend.matmul(operands[i][0], s[3] == 1, operands[i][1], s[4] == 1, operands[i][2], 1f, 0f);
        long ns = cpuTime ? clock.getCurrentThreadCpuTime() - cpuStart : System.nanoTime() - start;
        return flops * calls / ns;
    }
}
