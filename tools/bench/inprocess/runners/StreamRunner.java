import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.function.IntToDoubleFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.tensor.Tensor;

/**
 * GB/s of weights read: the 73 products of a batch-1 125M step, and two threads that only sum the same
 * weights (each half of every weight): how close the products come to a plain read of the same bytes.
 * Best of 10. The read side does not depend on the build, so A and B should agree on it.
 */
public class StreamRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private final CpuBackend backend;
    private final Weights125M.Products step;
    private final long bytes;
    private volatile float sink;

    public StreamRunner(int threads) {
        backend = new CpuBackend(threads);
        Arena arena = Weights125M.arena();
        step = Weights125M.Products.of(arena, Weights125M.create(arena), 1);
        long total = 0;
        for (Tensor t : step.w()) total += t.data().byteSize();
        bytes = total;
    }

    public static String name(int i) {
        return i == 0 ? "batch-1 step products (GB/s)" : "two threads summing the weights (GB/s)";
    }

    @Override
    public double applyAsDouble(int workload) {
        double best = 0;
        for (int run = 0; run < 10; run++) {
            long start = System.nanoTime();
            if (workload == 0) {
                step.run(backend, 0, Weights125M.COUNT);
            } else {
                Thread other = Thread.ofPlatform().start(() -> sink = sumHalves(false));
                float mine = sumHalves(true);
                try {
                    other.join();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                sink += mine;
            }
            best = Math.max(best, bytes / (double) (System.nanoTime() - start));
        }
        return best;
    }

    private float sumHalves(boolean first) {
        float total = 0;
        for (Tensor t : step.w()) {
            long half = t.data().byteSize() / 2;
            total += sum(t.data(), first ? 0 : half, first ? half : 2 * half);
        }
        return total;
    }

    private static float sum(MemorySegment s, long from, long to) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        long step = F.vectorByteSize();
        for (long at = from; at + 4 * step <= to; at += 4 * step) {
            a = a.add(FloatVector.fromMemorySegment(F, s, at, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, s, at + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(F, s, at + 2 * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(F, s, at + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }
}
