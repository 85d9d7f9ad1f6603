package org.gptneo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Transpose16#panel} writes panel[d][j] = B[j][d] for 32 rows of B from any element, with any
 * row stride, for every multiple of 16 depths, leaving the rest of the panel as it was (CpuMatmulTest
 * checks the products it feeds, ragged depths and widths included). {@link Transpose16#laneSums}
 * gives each accumulator's lane sum in lane order, bit for bit (CpuMatvecTest checks the tiles that
 * use it against the one-row kernel).
 */
class Transpose16Test {

    @ParameterizedTest(name = "ld={0} depths={1} from row {2} depth {3}")
    @CsvSource({"16, 16, 0, 0", "768, 384, 32, 384", "1100, 352, 5, 13", "49, 32, 3, 17"})
    void packsThePanelAsAScalarTransposeWould(int ld, int depths, int firstRow, int firstDepth) {
        assumeTrue(Transpose16.applies(), "Transpose16 needs 16-lane float vectors; this machine has " + CpuVectors.VL);
        int rows = firstRow + 32;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate((long) rows * ld * Float.BYTES, 64);
            Random random = new Random(ld * 31L + depths);
            for (long i = 0; i < (long) rows * ld; i++) b.setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() - 0.5f);
            int at = 7;                                                     // the panel starts inside a larger buffer
            float[] panel = new float[at + depths * 32 + 5];
            java.util.Arrays.fill(panel, Float.NaN);
            Transpose16.panel(b, (long) firstRow * ld + firstDepth, ld, depths, panel, at);
            for (int d = 0; d < depths; d++) {
                for (int j = 0; j < 32; j++) {
                    float expected = b.getAtIndex(ValueLayout.JAVA_FLOAT, (long) (firstRow + j) * ld + firstDepth + d);
                    assertThat(panel[at + d * 32 + j]).as("depth %d, column %d", d, j).isEqualTo(expected);
                }
            }
            for (int i = 0; i < at; i++) assertThat(panel[i]).isNaN();
            for (int i = at + depths * 32; i < panel.length; i++) assertThat(panel[i]).isNaN();
        }
    }

    @Test
    void laneSumsAddEachAccumulatorsLanesInLaneOrderBitForBit() {
        assumeTrue(Transpose16.applies(), "Transpose16 needs 16-lane float vectors; this machine has " + CpuVectors.VL);
        Random random = new Random(11);
        float[] lanes = new float[16 * 16], dots = new float[16];
        for (int trial = 0; trial < 200; trial++) {
            for (int i = 0; i < lanes.length; i++) {   // wide exponents, so that the order of the additions shows
                lanes[i] = (random.nextFloat() - 0.5f) * (float) Math.pow(2, random.nextInt(40) - 20);
            }
            lanes[3 * 16] = -0f;                        // an accumulator of negative zeros sums to +0 from 0
            for (int l = 1; l < 16; l++) lanes[3 * 16 + l] = -0f;
            Transpose16.laneSums(lanes, dots);
            for (int a = 0; a < 16; a++) {
                float expected = 0f;
                for (int l = 0; l < 16; l++) expected += lanes[a * 16 + l];
                assertThat(Float.floatToRawIntBits(dots[a])).as("trial %d, accumulator %d", trial, a)
                        .isEqualTo(Float.floatToRawIntBits(expected));
            }
        }
    }
}
