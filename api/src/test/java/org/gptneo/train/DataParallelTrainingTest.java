package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data-parallel training over in-process ranks against one process with the same global batch. */
class DataParallelTrainingTest {

    @Test
    void probe(@TempDir Path a, @TempDir Path b, @TempDir Path c) {
        DataParallelRun.Outcome one = DataParallelRun.single(4, 1, a);
        List<DataParallelRun.Outcome> two = DataParallelRun.parallel(2, 0, 4, 1, b);
        List<DataParallelRun.Outcome> zero = DataParallelRun.parallel(2, 1, 4, 1, c);
        System.out.println("single " + one.losses());
        System.out.println("dp2    " + two.get(0).losses() + " " + two.get(1).losses());
        System.out.println("zero2  " + zero.get(0).losses() + " " + zero.get(1).losses());
        System.out.println("max param diff dp " + maxDiff(one.parameters(), two.get(0).parameters()) + " zero " + maxDiff(one.parameters(), zero.get(0).parameters())
                + " dp-vs-zero " + maxDiff(two.get(0).parameters(), zero.get(0).parameters()) + " ranks " + maxDiff(two.get(1).parameters(), two.get(0).parameters()));
    }

    static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
        double max = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
        }
        return max;
    }
}
