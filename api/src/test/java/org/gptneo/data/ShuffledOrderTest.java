package org.gptneo.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** The table-free seeded permutation: a permutation for every size, fixed by (seed, epoch, size), well mixed. */
class ShuffledOrderTest {

    @Test
    void isAPermutationForEverySmallSize() {
        for (int size = 1; size <= 300; size++) {
            ShuffledOrder order = new ShuffledOrder(size, 7);
            BitSet seen = new BitSet();
            for (int p = 0; p < size; p++) {
                long index = order.indexAt(3, p);
                assertThat(index).isBetween(0L, size - 1L);
                seen.set((int) index);
            }
            assertThat(seen.cardinality()).as("size %d", size).isEqualTo(size);
        }
    }

    @Test
    void isAPermutationOfAMillion() {
        int size = 1_000_003;
        ShuffledOrder order = new ShuffledOrder(size, 123);
        BitSet seen = new BitSet(size);
        for (int p = 0; p < size; p++) {
            seen.set((int) order.indexAt(0, p));
        }
        assertThat(seen.cardinality()).isEqualTo(size);
    }

    @Test
    void isDeterministicAndDiffersByEpochAndSeed() {
        ShuffledOrder a = new ShuffledOrder(10_000, 5);
        ShuffledOrder b = new ShuffledOrder(10_000, 5);
        ShuffledOrder c = new ShuffledOrder(10_000, 6);
        int sameEpoch = 0;
        int sameSeed = 0;
        for (int p = 0; p < 10_000; p++) {
            assertThat(b.indexAt(2, p)).isEqualTo(a.indexAt(2, p));
            sameEpoch += a.indexAt(2, p) == a.indexAt(3, p) ? 1 : 0;
            sameSeed += a.indexAt(2, p) == c.indexAt(2, p) ? 1 : 0;
        }
        // two independent permutations agree at about 1 position (the expected number of fixed points)
        assertThat(sameEpoch).isLessThan(10);
        assertThat(sameSeed).isLessThan(10);
    }

    @Test
    void everyIndexIsEquallyLikelyFirst() {
        int size = 10;
        int epochs = 20_000;
        int[] counts = new int[size];
        ShuffledOrder order = new ShuffledOrder(size, 99);
        for (int e = 0; e < epochs; e++) {
            counts[(int) order.indexAt(e, 0)]++;
        }
        // expected 2,000 each; the binomial's standard deviation is 42, so 5 sigma is +-212
        for (int count : counts) {
            assertThat(count).isBetween(1_788, 2_212);
        }
    }

    @Test
    void hugeSizesNeedNoTable() {
        ShuffledOrder order = new ShuffledOrder(100_000_000_000L, 1);
        long index = order.indexAt(0, 99_999_999_999L);
        assertThat(index).isBetween(0L, 99_999_999_999L);
        assertThat(new ShuffledOrder(1, 1).indexAt(5, 0)).isZero();
        assertThatThrownBy(() -> order.indexAt(0, 100_000_000_000L)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> new ShuffledOrder(0, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
