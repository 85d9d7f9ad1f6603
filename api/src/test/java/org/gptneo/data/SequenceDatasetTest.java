package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Packing into fixed windows and the seeded train/validation split. */
class SequenceDatasetTest {

    @Test
    void packsExactWindowsAndDropsTheTail() {
        SequenceDataset packed = SequenceDataset.packed(ArrayTokens.range(23), 5);   // 4 windows, 3 tokens dropped
        assertThat(packed.seqLen()).isEqualTo(5);
        assertThat(packed.size()).isEqualTo(4);
        int[] dst = new int[7];
        packed.read(3, dst, 2);
        assertThat(dst).containsExactly(0, 0, 15, 16, 17, 18, 19);
        assertThatThrownBy(() -> packed.read(4, dst, 0)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("sequence 4 is outside [0, 4)");
        assertThatThrownBy(() -> packed.read(0, dst, 3)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("[3, 8)").hasMessageContaining("[0, 7)");
    }

    @Test
    void exactMultipleKeepsEveryToken() {
        SequenceDataset packed = SequenceDataset.packed(ArrayTokens.range(12), 4);
        assertThat(packed.size()).isEqualTo(3);
        int[] dst = new int[4];
        packed.read(2, dst, 0);
        assertThat(dst).containsExactly(8, 9, 10, 11);
    }

    @Test
    void tooShortSourceNamesBothNumbers() {
        assertThatThrownBy(() -> SequenceDataset.packed(ArrayTokens.range(7), 8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("7 tokens").hasMessageContaining("of 8");
        assertThatThrownBy(() -> SequenceDataset.packed(ArrayTokens.range(7), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 0");
    }

    @Test
    void splitIsDisjointCoveringAndDeterministic() {
        SequenceDataset all = SequenceDataset.packed(ArrayTokens.range(1000 * 3), 3);   // 1000 sequences
        Split split = all.split(0.1, 42);
        assertThat(split.validation().size()).isEqualTo(100);
        assertThat(split.train().size()).isEqualTo(900);
        Set<Integer> seen = new HashSet<>();
        int[] dst = new int[3];
        for (SequenceDataset part : new SequenceDataset[] {split.train(), split.validation()}) {
            assertThat(part.seqLen()).isEqualTo(3);
            for (long i = 0; i < part.size(); i++) {
                part.read(i, dst, 0);
                assertThat(dst[1]).isEqualTo(dst[0] + 1);      // whole windows of the parent
                assertThat(dst[0] % 3).isZero();
                assertThat(seen.add(dst[0] / 3)).as("sequence %d twice", dst[0] / 3).isTrue();
            }
        }
        assertThat(seen).hasSize(1000);

        Split again = all.split(0.1, 42);
        Split other = all.split(0.1, 43);
        int differ = 0;
        for (long i = 0; i < 100; i++) {
            assertThat(first(again.validation(), i)).isEqualTo(first(split.validation(), i));
            differ += first(other.validation(), i) != first(split.validation(), i) ? 1 : 0;
        }
        assertThat(differ).isGreaterThan(50);
    }

    @Test
    void tinyDatasetsKeepOneOnEachSide() {
        SequenceDataset two = SequenceDataset.packed(ArrayTokens.range(4), 2);
        Split split = two.split(0.001, 1);
        assertThat(split.validation().size()).isEqualTo(1);
        assertThat(split.train().size()).isEqualTo(1);
        assertThat(first(split.validation(), 0) + first(split.train(), 0)).isEqualTo(0 + 2);   // windows 0 and 1

        Split mostly = SequenceDataset.packed(ArrayTokens.range(10), 2).split(0.999, 1);
        assertThat(mostly.validation().size()).isEqualTo(4);
        assertThat(mostly.train().size()).isEqualTo(1);

        assertThatThrownBy(() -> SequenceDataset.packed(ArrayTokens.range(3), 2).split(0.5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 sequences");
        assertThatThrownBy(() -> two.split(1.0, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(0, 1)");
        assertThatThrownBy(() -> two.split(Double.NaN, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fractionIsRounded() {
        SequenceDataset all = SequenceDataset.packed(ArrayTokens.range(37), 1);
        assertThat(all.split(0.25, 7).validation().size()).isEqualTo(9);   // round(9.25)
        assertThat(all.split(0.5, 7).validation().size()).isEqualTo(19);   // round(18.5)
    }

    private static int first(SequenceDataset dataset, long index) {
        int[] dst = new int[dataset.seqLen()];
        dataset.read(index, dst, 0);
        return dst[0];
    }
}
