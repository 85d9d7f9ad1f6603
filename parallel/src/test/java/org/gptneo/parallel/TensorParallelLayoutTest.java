package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.lora.LoRA;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The shard table as implemented (spec §6), the vocabulary padding, and the layouts that cannot be split: one-line errors. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TensorParallelLayoutTest {

    @Test
    void everyTensorHasTheShapeOfTheShardTable() {
        GptNeoConfig config = TensorParallelTest.tiny().config();                  // d 32, F 128, V 101, P 16
        TensorParallelLayout layout = TensorParallelLayout.of(config, 4, 1, 1);
        Map<String, int[]> full = GptNeoModel.parameterShapes(config);
        Map<String, List<Integer>> want = Map.ofEntries(
                Map.entry("transformer.wte.weight", List.of(26, 32)),
                Map.entry("transformer.wpe.weight", List.of(16, 32)),
                Map.entry("transformer.h.0.ln_1.weight", List.of(32)),
                Map.entry("transformer.h.0.ln_1.bias", List.of(32)),
                Map.entry("transformer.h.0.attn.attention.q_proj.weight", List.of(8, 32)),
                Map.entry("transformer.h.0.attn.attention.k_proj.weight", List.of(8, 32)),
                Map.entry("transformer.h.0.attn.attention.v_proj.weight", List.of(8, 32)),
                Map.entry("transformer.h.0.attn.attention.out_proj.weight", List.of(32, 8)),
                Map.entry("transformer.h.0.attn.attention.out_proj.bias", List.of(32)),
                Map.entry("transformer.h.0.ln_2.weight", List.of(32)),
                Map.entry("transformer.h.0.ln_2.bias", List.of(32)),
                Map.entry("transformer.h.0.mlp.c_fc.weight", List.of(32, 32)),
                Map.entry("transformer.h.0.mlp.c_fc.bias", List.of(32)),
                Map.entry("transformer.h.0.mlp.c_proj.weight", List.of(32, 32)),
                Map.entry("transformer.h.0.mlp.c_proj.bias", List.of(32)),
                Map.entry("transformer.ln_f.weight", List.of(32)),
                Map.entry("transformer.ln_f.bias", List.of(32)));
        want.forEach((name, shape) -> assertThat(layout.localShape(name, full.get(name))).as(name)
                .containsExactly(shape.stream().mapToInt(Integer::intValue).toArray()));
        assertThat(layout.split("transformer.h.1.mlp.c_fc.bias")).isEqualTo(TensorParallelLayout.Split.ROWS);
        assertThat(layout.split("transformer.h.1.attn.attention.out_proj.bias")).isEqualTo(TensorParallelLayout.Split.REPLICATED);
    }

    @Test
    void theVocabularyIsPaddedToAMultipleOfTheMultipleTimesTheRanks() {
        GptNeoConfig config = TensorParallelTest.tiny().config();                  // V = 101
        assertThat(TensorParallelLayout.of(config, 1, 0, 1).paddedVocabSize()).isEqualTo(101);
        assertThat(TensorParallelLayout.of(config, 2, 0, 1).paddedVocabSize()).isEqualTo(102);
        assertThat(TensorParallelLayout.of(config, 2, 0, 128).paddedVocabSize()).isEqualTo(256);
        assertThat(TensorParallelLayout.of(config.toBuilder().vocabSize(50257).config(), 1, 0, 128).paddedVocabSize())
                .isEqualTo(50304);                                                  // Megatron's GPT-2 vocabulary at t = 1
        assertThat(TensorParallelLayout.of(config.toBuilder().vocabSize(50257).config(), 4, 0, 128).paddedVocabSize())
                .isEqualTo(50688);
        assertThat(IntStream.range(0, 4).map(r -> TensorParallelLayout.of(config, 4, r, 1).validVocabRows()))
                .containsExactly(26, 26, 26, 23);
        assertThat(IntStream.range(0, 4).map(r -> TensorParallelLayout.of(config, 4, r, 128).validVocabRows()))
                .containsExactly(101, 0, 0, 0);
        assertThat(TensorParallelLayout.of(config, 4, 3, 1).vocabStart()).isEqualTo(78);
    }

    @Test
    void layoutsThatCannotBeSplitAreOneLineErrors() {
        GptNeoConfig tiny = TensorParallelTest.tiny().config();                    // 4 heads, MLP width 128
        assertThatThrownBy(() -> shard(tiny, 3)).hasMessage(
                "tensor parallelism over 3 ranks needs the attention heads to split evenly, but 4 heads % 3 = 1");
        assertThatThrownBy(() -> shard(tiny.toBuilder().intermediateSize(30).config(), 4)).hasMessage(
                "tensor parallelism over 4 ranks needs the MLP width to split evenly, but 30 % 4 = 2");
        assertThatThrownBy(() -> shard(tiny.toBuilder().experts(2).expertLayers(1).config(), 2)).hasMessage(
                "tensor parallelism splits GPT-Neo's MLP, not mixtures of experts (layers [1])");
        assertThatThrownBy(() -> TensorParallelLayout.of(tiny, 2, 0, 0)).hasMessage(
                "the vocabulary padding multiple must be at least 1, got 0");
        try (Backend backend = new CpuBackend(1); GptNeoModel model = GptNeoModel.initialize(tiny, backend);
             var adapter = LoRA.rank(2).apply(model)) {
            assertThatThrownBy(() -> TensorParallelModel.shard(model, InProcessCommunicator.group(2).getFirst())).hasMessage(
                    "tensor parallelism splits a plain GPT-Neo model, but it has the parameter "
                            + "'transformer.h.0.attn.attention.q_proj.lora_A.weight' (merge or remove adapters first)");
        }
    }

    /** Rank 0 of a group of {@code ranks} shards a fresh model: the check comes before any collective. */
    private static void shard(GptNeoConfig config, int ranks) {
        try (Backend backend = new CpuBackend(1); GptNeoModel model = GptNeoModel.initialize(config, backend)) {
            TensorParallelModel.shard(model, InProcessCommunicator.group(ranks).getFirst()).close();
        }
    }
}
