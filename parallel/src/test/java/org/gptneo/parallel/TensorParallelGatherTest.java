package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.Parameter;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Sharding then gathering gives back the full model's every weight bit for bit, as an ordinary model
 * (what a checkpoint saves); a shard holds exactly its slice, padding rows of the vocabulary are zero,
 * and cutting a gathered tensor again gives back the shard (optimizer moments on resume).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TensorParallelGatherTest {

    @ParameterizedTest(name = "t = {0}, vocabulary padded to a multiple of {1}·t")
    @CsvSource({"2, 1", "4, 1", "4, 128"})
    void gatheringTheShardsGivesBackTheFullModelExactly(int ranks, int vocabMultiple) {
        GptNeoConfig config = TensorParallelTest.tiny().config();
        Map<String, float[]> want = new LinkedHashMap<>();
        try (Backend backend = new CpuBackend(1); GptNeoModel full = GptNeoModel.initialize(config, backend)) {
            full.parameters().forEach((name, p) -> want.put(name, p.value().toFloatArray()));
        }
        List<Map<String, float[]>> gathered = RankThreads.run(InProcessCommunicator.group(ranks), tp -> {
            try (Backend backend = new CpuBackend(1);
                 TensorParallelModel model = TensorParallelRun.shardOfFreshModel(config, backend, tp, vocabMultiple)) {
                checkShard(model, want);
                try (Arena arena = Arena.ofShared()) {
                    for (Parameter p : model.registry().all()) {                    // what resuming on another layout does
                        Tensor cut = model.shardOf(p.name(), model.gather(p.name(), p.value(), arena), arena);
                        assertThat(cut.toFloatArray()).as(p.name()).containsExactly(p.value().toFloatArray());
                    }
                }
                try (GptNeoModel back = model.gatherFullModel()) {
                    Map<String, float[]> out = new LinkedHashMap<>();
                    back.parameters().forEach((name, p) -> out.put(name, p.value().toFloatArray()));
                    return out;
                }
            }
        });
        for (Map<String, float[]> rank : gathered) {
            assertThat(rank.keySet()).containsExactlyElementsOf(want.keySet());
            want.forEach((name, w) -> assertThat(rank.get(name)).as(name).containsExactly(w));
        }
    }

    /** Spot checks of what this rank holds: its q_proj rows, out_proj columns, wte rows and zero padding. */
    private static void checkShard(TensorParallelModel model, Map<String, float[]> full) {
        TensorParallelLayout layout = model.layout();
        int r = layout.rank(), t = layout.ranks(), d = model.config().hiddenSize(), n = d / t;
        float[] q = value(model, "transformer.h.1.attn.attention.q_proj.weight");          // [d/t, d]
        float[] qFull = full.get("transformer.h.1.attn.attention.q_proj.weight");          // [d, d]
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) assertThat(q[i * d + j]).isEqualTo(qFull[(r * n + i) * d + j]);
        }
        float[] out = value(model, "transformer.h.0.attn.attention.out_proj.weight");      // [d, d/t]
        float[] outFull = full.get("transformer.h.0.attn.attention.out_proj.weight");
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < n; j++) assertThat(out[i * n + j]).isEqualTo(outFull[i * d + r * n + j]);
        }
        float[] wte = value(model, "transformer.wte.weight");                               // [V′/t, d]
        float[] wteFull = full.get("transformer.wte.weight");
        for (int row = 0; row < layout.vocabRows(); row++) {
            for (int j = 0; j < d; j++) {
                float expected = row < layout.validVocabRows() ? wteFull[(layout.vocabStart() + row) * d + j] : 0f;
                assertThat(wte[row * d + j]).isEqualTo(expected);
            }
        }
    }

    private static float[] value(TensorParallelModel model, String name) {
        Tensor t = model.registry().get(name).value();
        return t.toFloatArray();
    }
}
