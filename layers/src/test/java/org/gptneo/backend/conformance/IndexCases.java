package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;
import org.gptneo.tensor.Tensor;

/** The I32 kernels: iota positions, labels shifted to targets, and the id range check. */
final class IndexCases {
    private IndexCases() {}

    private static final int IGNORE = -100;

    /** A vocabulary [lo, hi) with one {@code allowed} id outside it, and ids planted to break it. */
    private record Scenario(String what, int lo, int hi, int allowed, ToLongFunction<int[]> plant) {}

    /** Each plants ids into uniform in-range ids and answers the index firstOutOfRange must find. */
    private static final List<Scenario> SCENARIOS = List.of(
            new Scenario("none outside → −1", 0, 50, IGNORE, ids -> -1),
            new Scenario("hi at the first position", 0, 50, IGNORE, ids -> {
                ids[0] = 50;
                return 0;
            }),
            new Scenario("hi at the last position", 0, 50, IGNORE, ids -> {
                ids[ids.length - 1] = 50;
                return ids.length - 1;
            }),
            new Scenario("−1 in the middle", 0, 50, IGNORE, ids -> {
                ids[ids.length / 2] = -1;
                return ids.length / 2;
            }),
            new Scenario("lo − 1 with lo = 5", 5, 50, IGNORE, ids -> {
                ids[ids.length / 2] = 4;
                return ids.length / 2;
            }),
            new Scenario("Integer.MAX_VALUE, then MIN_VALUE", 0, 50, IGNORE, ids -> {
                ids[ids.length / 2] = Integer.MAX_VALUE;
                ids[ids.length - 1] = Integer.MIN_VALUE;
                return ids.length / 2;
            }),
            new Scenario("allowed ids are not outside → −1", 0, 50, IGNORE, ids -> {
                ids[0] = IGNORE;
                ids[ids.length - 1] = IGNORE;
                return -1;
            }),
            new Scenario("an allowed id, then one outside", 0, 50, IGNORE, ids -> {
                ids[1] = IGNORE;
                ids[ids.length - 2] = 77;
                return ids.length - 2;
            }),
            new Scenario("several outside: the first", 0, 50, IGNORE, ids -> {
                ids[ids.length / 3] = 1000;
                ids[ids.length - 1] = 50;
                return ids.length / 3;
            }),
            new Scenario("allowed may lie inside the range", 0, 50, 3, ids -> {
                ids[ids.length / 2] = 51;
                return ids.length / 2;
            }));

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        for (int[] shape : new int[][] {{1}, {17}, {3, 33}, {2, 3, 65}, {1, (1 << 18) + 5}}) {
            cases.add(kernel("iota " + Arrays.toString(shape), h -> h.checkIdentical("iota", garbage(h, shape),
                    (s, out) -> s.backend().iota(out))));
        }
        for (int[] shape : new int[][] {{1, 1}, {1, 7}, {3, 17}, {4, 130}, {2, 100_003}}) {
            cases.add(kernel("shiftLeft labels " + Arrays.toString(shape), h -> shiftLeft(h, shape)));
        }
        cases.add(kernel("firstOutOfRange of no ids → −1", h -> firstOutOfRange(h, 0, SCENARIOS.getFirst())));
        cases.add(kernel("firstOutOfRange n=1: hi", h -> firstOutOfRange(h, 1, SCENARIOS.get(1)))); // position 0
        for (int n : new int[] {7, 100_003}) {
            for (Scenario scenario : SCENARIOS) {
                cases.add(kernel("firstOutOfRange n=" + n + ": " + scenario.what(), h -> firstOutOfRange(h, n, scenario)));
            }
        }
        return cases;
    }

    /** targets [B·T] = labels [B, T] shifted left in each row, IGNORE in each last column. */
    private static void shiftLeft(Harness h, int[] shape) {
        int n = shape[0] * shape[1];
        Tensor labels = h.ids(n, 50_257).reshape(shape);
        h.checkIdentical("shiftLeft", garbage(h, n), (s, targets) -> s.backend().shiftLeft(s.on(labels), IGNORE, targets));
    }

    private static void firstOutOfRange(Harness h, int n, Scenario scenario) {
        int[] values = new int[n];
        for (int i = 0; i < n; i++) values[i] = scenario.lo() + h.random().nextInt(scenario.hi() - scenario.lo());
        long expected = scenario.plant().applyAsLong(values);
        Tensor ids = h.ints(values, n);
        Side c = h.candidate(), r = h.reference();
        Expect.equal(r.backend().firstOutOfRange(ids, scenario.lo(), scenario.hi(), scenario.allowed()), expected,
                "the reference's firstOutOfRange");
        Expect.equal(c.backend().firstOutOfRange(c.on(ids), scenario.lo(), scenario.hi(), scenario.allowed()), expected,
                "firstOutOfRange [" + scenario.lo() + ", " + scenario.hi() + ") allowed " + scenario.allowed());
    }

    /** Arbitrary I32 contents that a kernel must overwrite. */
    private static Tensor garbage(Harness h, int... shape) {
        int[] values = new int[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < values.length; i++) values[i] = h.random().nextInt(2001) - 1000;
        return h.ints(values, shape);
    }
}
