package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every collective of the in-process group on 2, 3 and 4 ranks, split, and the failure paths (none may hang). */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class InProcessCommunicatorTest {
    private static final int N = 7;  // elements per buffer: not a multiple of any group size, so blocks are uneven

    /** Rank r's element i: values whose sums depend on the order they are added in. */
    private static float value(int r, int i) {
        return (float) ((r + 1) * 0.1 + i * 1e-3 + Math.pow(10, (r + i) % 5 - 2));
    }

    private static float[] values(int r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = value(r, i);
        return v;
    }

    private static float expected(int size, int i, ReduceOp op) {
        float acc = value(0, i);
        for (int r = 1; r < size; r++) {
            float x = value(r, i);
            acc = switch (op) {
                case SUM, AVG -> acc + x;
                case MAX -> Math.max(acc, x);
                case MIN -> Math.min(acc, x);
            };
        }
        return op == ReduceOp.AVG ? acc / size : acc;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceCombinesInRankOrderWithTheSameBitsOnEveryRank(int size) {
        for (ReduceOp op : ReduceOp.values()) {
            List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
                try (Tensor t = Tensor.allocate(DType.F32, N)) {
                    t.copyFrom(values(c.rank(), N));
                    c.allReduce(t, op);
                    return t.toFloatArray();
                }
            });
            float[] want = new float[N];
            for (int i = 0; i < N; i++) want[i] = expected(size, i, op);
            for (float[] got : results) assertThat(got).as(op + " on " + size).containsExactly(want);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void reduceScatterKeepsOneReducedBlockPerRank(int size) {
        List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            try (Tensor in = Tensor.allocate(DType.F32, size * 3); Tensor out = Tensor.allocate(DType.F32, 3)) {
                in.copyFrom(values(c.rank(), size * 3));
                c.reduceScatter(in, out, ReduceOp.SUM);
                return out.toFloatArray();
            }
        });
        for (int r = 0; r < size; r++) {
            for (int j = 0; j < 3; j++) assertThat(results.get(r)[j]).isEqualTo(expected(size, r * 3 + j, ReduceOp.SUM));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void allGatherPlacesRankRAtOffsetRInAnyDtype(int size) {
        List<int[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            try (Tensor in = Tensor.allocate(DType.I32, 2); Tensor out = Tensor.allocate(DType.I32, size * 2)) {
                in.setInt(0, 100 * c.rank());
                in.setInt(1, 100 * c.rank() + 1);
                c.allGather(in, out);
                return out.toIntArray();
            }
        });
        int[] want = new int[size * 2];
        for (int r = 0; r < size; r++) {
            want[2 * r] = 100 * r;
            want[2 * r + 1] = 100 * r + 1;
        }
        for (int[] got : results) assertThat(got).containsExactly(want);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void allGatherInPlaceFromTheOutputsOwnBlock(int size) {
        List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            try (Tensor out = Tensor.allocate(DType.F32, size * 2)) {
                Tensor mine = out.rows(2 * c.rank(), 2 * c.rank() + 2);
                mine.copyFrom(new float[] {c.rank(), -c.rank()});
                c.allGather(mine, out);
                return out.toFloatArray();
            }
        });
        float[] want = new float[size * 2];
        for (int r = 0; r < size; r++) {
            want[2 * r] = r;
            want[2 * r + 1] = -r;
        }
        for (float[] got : results) assertThat(got).containsExactly(want);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void broadcastCopiesTheRootsBuffer(int size) {
        int root = size - 1;
        List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            try (Tensor t = Tensor.allocate(DType.BF16, N)) {
                t.copyFrom(values(c.rank(), N));
                c.broadcast(t, root);
                return t.toFloatArray();
            }
        });
        float[] want;
        try (Tensor t = Tensor.allocate(DType.BF16, N)) {
            t.copyFrom(values(root, N));
            want = t.toFloatArray();
        }
        for (float[] got : results) assertThat(got).containsExactly(want);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void allToAllSendsBlockJToRankJ(int size) {
        List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            try (Tensor t = Tensor.allocate(DType.F32, size * 2)) {
                float[] v = new float[size * 2];
                for (int j = 0; j < size; j++) {
                    v[2 * j] = 10 * c.rank() + j;       // sent to rank j
                    v[2 * j + 1] = -(10 * c.rank() + j);
                }
                t.copyFrom(v);
                c.allToAll(t, t);                      // in place
                return t.toFloatArray();
            }
        });
        for (int r = 0; r < size; r++) {
            float[] want = new float[size * 2];
            for (int s = 0; s < size; s++) {
                want[2 * s] = 10 * s + r;
                want[2 * s + 1] = -(10 * s + r);
            }
            assertThat(results.get(r)).containsExactly(want);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void sendReceiveAroundARingInBothDirections(int size) {
        List<float[]> results = RankThreads.run(InProcessCommunicator.group(size), c -> {
            int next = (c.rank() + 1) % size, previous = (c.rank() + size - 1) % size;
            try (Tensor out = Tensor.allocate(DType.F32, 2); Tensor fromLeft = Tensor.allocate(DType.F32, 2);
                 Tensor fromRight = Tensor.allocate(DType.F32, 2)) {
                out.copyFrom(new float[] {c.rank(), c.rank() + 0.5f});
                c.sendReceive(out, next, fromLeft, previous);
                c.sendReceive(out, previous, fromRight, next);
                c.send(out, next);
                c.receive(out, previous);
                float[] l = fromLeft.toFloatArray(), r = fromRight.toFloatArray(), o = out.toFloatArray();
                return new float[] {l[0], l[1], r[0], r[1], o[0]};
            }
        });
        for (int r = 0; r < size; r++) {
            int previous = (r + size - 1) % size, next = (r + 1) % size;
            assertThat(results.get(r)).containsExactly(previous, previous + 0.5f, next, next + 0.5f, previous);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void barrierReturnsOnlyOnceEveryRankHasArrived(int size) {
        AtomicIntegerArray before = new AtomicIntegerArray(size);
        List<Integer> seen = RankThreads.run(InProcessCommunicator.group(size), c -> {
            for (int round = 1; round <= 3; round++) {
                before.set(c.rank(), round);
                c.barrier();
                for (int r = 0; r < size; r++) {
                    if (before.get(r) < round) return r;
                }
                c.barrier();
            }
            return -1;
        });
        assertThat(seen).containsOnly(-1);
    }

    @Test
    void splitGroupsByColourOrdersByKeyAndGivesNoColourNull() {
        // 4 ranks: 0 and 2 colour 0, 1 colour 1 alone, 3 none; keys reverse the order of 0 and 2
        List<String> results = RankThreads.run(InProcessCommunicator.group(4), c -> {
            int color = c.rank() == 3 ? Communicator.NO_COLOR : c.rank() % 2;
            try (Communicator sub = c.split(color, -c.rank())) {
                if (sub == null) return "none";
                try (Tensor t = Tensor.allocate(DType.F32, 1)) {
                    t.setFloat(0, c.rank());
                    try (Tensor all = Tensor.allocate(DType.F32, sub.size())) {
                        sub.allGather(t, all);
                        return sub.rank() + "/" + sub.size() + " " + java.util.Arrays.toString(all.toFloatArray());
                    }
                }
            }
        });
        assertThat(results).containsExactly("1/2 [2.0, 0.0]", "0/1 [1.0]", "0/2 [2.0, 0.0]", "none");
    }

    @Test
    void reductionsAreTheSameBitsRunAfterRun() {
        int n = 10_001;
        List<List<float[]>> runs = List.of(1, 2).stream().map(run -> RankThreads.run(InProcessCommunicator.group(4), c -> {
            try (Tensor t = Tensor.allocate(DType.F32, n)) {
                t.copyFrom(values(c.rank(), n));
                c.allReduce(t, ReduceOp.AVG);
                return t.toFloatArray();
            }
        })).toList();
        for (int r = 0; r < 4; r++) {
            assertThat(runs.get(0).get(r)).containsExactly(runs.get(1).get(r)).containsExactly(runs.get(0).get(0));
        }
    }

    @Test
    void anAbortedRankFailsTheOthersPendingAndLaterCallsNamingIt() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(3), c -> {
            try (Tensor t = Tensor.allocate(DType.F32, 4)) {
                c.allReduce(t, ReduceOp.SUM);
                if (c.rank() == 1) {
                    c.abort(new IllegalStateException("out of memory in step 3"));
                    return null;
                }
                try {
                    c.allReduce(t, ReduceOp.SUM);  // pending when rank 1 aborts
                    throw new AssertionError("the allReduce returned");
                } catch (CommunicatorException pending) {
                    assertThatThrownBy(c::barrier).isInstanceOf(CommunicatorException.class)
                            .hasMessage(pending.getMessage());
                    throw pending;
                }
            }
        });
        for (int r : new int[] {0, 2}) {
            assertThat(outcomes.get(r).failure()).isInstanceOf(CommunicatorException.class)
                    .hasMessage("rank 1 failed: IllegalStateException: out of memory in step 3");
        }
    }

    @Test
    void theFailureReachesGroupsSplitFromTheWorld() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(4), c -> {
            try (Communicator pair = c.split(c.rank() / 2, c.rank())) {
                if (c.rank() == 3) {
                    c.abort(new ArithmeticException("nan loss"));
                    return null;
                }
                pair.barrier();
                return null;
            }
        });
        assertThat(outcomes.get(2).failure()).isInstanceOf(CommunicatorException.class).hasMessage("rank 3 failed: ArithmeticException: nan loss");
        // ranks 0 and 1 met in their own pair unless the failure was recorded first: either way nothing hangs
        for (int r : new int[] {0, 1}) {
            Throwable f = outcomes.get(r).failure();
            if (f != null) assertThat(f).hasMessage("rank 3 failed: ArithmeticException: nan loss");
        }
    }

    @Test
    void aRankClosingWhileOthersWaitFailsThemNamingIt() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(2), c -> {
            if (c.rank() == 0) {
                c.close();
                return null;
            }
            try (Tensor t = Tensor.allocate(DType.F32, 2)) {
                c.receive(t, 0);
                return null;
            }
        });
        assertThat(outcomes.get(1).failure()).isInstanceOf(CommunicatorException.class)
                .hasMessage("rank 0 closed its communicator while rank 1 waits to receive from it");

        List<RankThreads.Outcome<Object>> collective = RankThreads.outcomes(InProcessCommunicator.group(2), c -> {
            if (c.rank() == 0) {
                c.close();
            } else {
                c.barrier();
            }
            return null;
        });
        assertThat(collective.get(1).failure()).isInstanceOf(CommunicatorException.class).hasMessageContaining("rank 0 closed its communicator");
    }

    @Test
    void aWaitLongerThanTheTimeoutFailsNamingTheMissingRank() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(3, Duration.ofMillis(200)), c -> {
            if (c.rank() != 2) c.barrier();
            return null;
        });
        Throwable failure = outcomes.get(0).failure() != null ? outcomes.get(0).failure() : outcomes.get(1).failure();
        assertThat(failure).isInstanceOf(CommunicatorException.class).hasMessageEndingWith("s in barrier waiting for rank 2");
    }

    @Test
    void ranksCallingDifferentCollectivesAllFail() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(2), c -> {
            try (Tensor t = Tensor.allocate(DType.F32, 2)) {
                if (c.rank() == 0) c.barrier();
                else c.broadcast(t, 0);
                return null;
            }
        });
        for (RankThreads.Outcome<Object> o : outcomes) {
            assertThat(o.failure()).isInstanceOf(CommunicatorException.class)
                    .hasMessage("collectives out of step: rank 0 called barrier, rank 1 called broadcast");
        }
    }

    @Test
    void refusesStridedTensorsAndNonFloatReductions() {
        InProcessCommunicator c = InProcessCommunicator.group(1).getFirst();
        try (Tensor ints = Tensor.allocate(DType.I32, 4); Tensor matrix = Tensor.allocate(DType.F32, 2, 4)) {
            assertThat(c.accepts(matrix.slice(1, 0, 2))).isFalse();
            assertThatThrownBy(() -> c.allReduce(ints, ReduceOp.SUM)).hasMessageContaining("reduces F32 tensors");
            assertThatThrownBy(() -> c.broadcast(matrix.slice(1, 0, 2), 0)).hasMessageContaining("dense host tensors");
        }
    }
}
