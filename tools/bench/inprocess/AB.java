import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntToDoubleFunction;

/**
 * Two builds of the layers module in one process, measured alternately: each jar gets a class loader of
 * its own with a copy of the runner, and every round runs the runner's workload i once on each side (the
 * order swapped every other round), so a slow spell of a shared machine falls on both alike. The ratio
 * reported is the median of the rounds' own B/A (each from two runs next to each other in time), which a
 * change of the machine's speed between rounds does not move.
 *
 * <p>{@code java AB RUNNER_DIR RUNNER THREADS ROUNDS A.jar B.jar}. A runner is a class with a public
 * constructor (int threads), a public static int {@code WORKLOADS}, a public static String name(int)
 * and applyAsDouble(i), the speed of workload i (higher is better) from one short measurement.
 */
public class AB {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            throw new IllegalArgumentException("usage: AB RUNNER_DIR RUNNER THREADS ROUNDS A.jar B.jar");
        }
        Path runners = Path.of(args[0]);
        String runner = args[1];
        int threads = Integer.parseInt(args[2]), rounds = Integer.parseInt(args[3]);
        IntToDoubleFunction[] sides = new IntToDoubleFunction[2];
        Class<?> type = null;
        for (int s = 0; s < 2; s++) {
            URL[] path = {Path.of(args[4 + s]).toUri().toURL(), runners.toUri().toURL()};
            type = new URLClassLoader(path, ClassLoader.getPlatformClassLoader()).loadClass(runner);
            sides[s] = (IntToDoubleFunction) type.getConstructor(int.class).newInstance(threads);
        }
        int workloads = type.getField("WORKLOADS").getInt(null);
        System.out.printf("%s, %d threads, %d rounds; A = %s, B = %s%n", runner, threads, rounds, args[4], args[5]);
        for (int i = 0; i < workloads; i++) {
            List<Double> a = new ArrayList<>(), b = new ArrayList<>(), ratios = new ArrayList<>();
            sides[0].applyAsDouble(i);                       // warm-up on both sides
            sides[1].applyAsDouble(i);
            int bFaster = 0;
            for (int r = 0; r < rounds; r++) {
                double x, y;
                if (r % 2 == 0) {
                    x = sides[0].applyAsDouble(i);
                    y = sides[1].applyAsDouble(i);
                } else {
                    y = sides[1].applyAsDouble(i);
                    x = sides[0].applyAsDouble(i);
                }
                a.add(x);
                b.add(y);
                ratios.add(y / x);                               // the two runs of a round are next to each other in time
                if (y > x) bFaster++;
            }
            Collections.sort(a);
            Collections.sort(b);
            Collections.sort(ratios);
            double medianA = median(a), medianB = median(b);
            System.out.printf("%-38s A median %8.2f (%.2f-%.2f)  B median %8.2f (%.2f-%.2f)  B/A per round: median %.3f"
                    + " (%.3f-%.3f), B faster in %d of %d%n", type.getMethod("name", int.class).invoke(null, i), medianA,
                    a.getFirst(), a.getLast(), medianB, b.getFirst(), b.getLast(), median(ratios), ratios.getFirst(),
                    ratios.getLast(), bFaster, rounds);
        }
    }

    /** The middle of sorted values (the mean of the two middle ones for an even count). */
    private static double median(List<Double> sorted) {
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
