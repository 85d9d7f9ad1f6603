package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Layers split by count into contiguous stages, the first L mod p stages one layer longer. */
class LayerPartitionTest {

    private static List<String> ranges(int layers, int stages) {
        LayerPartition p = new LayerPartition(layers, stages);
        List<String> out = new ArrayList<>();
        for (int s = 0; s < stages; s++) out.add(p.from(s) + ".." + p.to(s));
        return out;
    }

    @Test
    void stagesGetContiguousBalancedRangesWithTheRemainderFirst() {
        assertThat(ranges(4, 1)).containsExactly("0..4");
        assertThat(ranges(4, 2)).containsExactly("0..2", "2..4");
        assertThat(ranges(4, 4)).containsExactly("0..1", "1..2", "2..3", "3..4");
        assertThat(ranges(5, 3)).containsExactly("0..2", "2..4", "4..5");
        assertThat(ranges(24, 5)).containsExactly("0..5", "5..10", "10..15", "15..20", "20..24");
    }

    @Test
    void everyLayerHasExactlyTheStageWhoseRangeHoldsIt() {
        LayerPartition p = new LayerPartition(7, 3);
        int[] want = {0, 0, 0, 1, 1, 2, 2};
        for (int layer = 0; layer < 7; layer++) assertThat(p.stageOf(layer)).as("layer %d", layer).isEqualTo(want[layer]);
        assertThatThrownBy(() -> p.stageOf(7)).hasMessage("layer 7 is outside [0, 7)");
    }

    @Test
    void moreStagesThanLayersOrNoStageIsRefused() {
        assertThatThrownBy(() -> new LayerPartition(2, 3))
                .hasMessage("a pipeline of 3 stages needs at least 3 layers (one per stage), the model has 2");
        assertThatThrownBy(() -> new LayerPartition(2, 0)).hasMessage("a pipeline needs at least one stage, got 0");
    }
}
