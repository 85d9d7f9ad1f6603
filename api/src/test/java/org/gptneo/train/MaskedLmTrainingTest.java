package org.gptneo.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.gptneo.GptNeo;
import org.gptneo.autograd.Tape;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.data.MaskedLmMasking;
import org.gptneo.data.SequenceDataset;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.model.TrainingPass;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The trainer on a masked-LM model: masked micro-batches, the unshifted loss at masked positions, masked evaluation. */
class MaskedLmTrainingTest {
    static final int V = 64, MASK = 63, EOS = 62, T = 16;

    static GptNeoModel model(long seed) {
        return GptNeo.builder().vocabSize(V).contextLength(32).hiddenSize(16).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).dropout(0.1f).seed(seed)
                .eosTokenId(EOS).bosTokenId(EOS).objective(Objective.MASKED_LM).maskTokenId(MASK)
                .build(new CpuBackend(2)).closingBackend();
    }

    /** Motifs over ids below 60: never the mask token or end-of-text. */
    static ArrayTokens data() {
        return ArrayTokens.patterned(2000, 60, 5);
    }

    @Test
    void theFirstStepsLossIsTheModelsLossOnTheMaskedBatchAndTheLossFalls() {
        int batch = 4;
        double expected;
        try (GptNeoModel model = model(3)) {
            int[] ids = new int[batch * T];                                   // sequences 0..3: no shuffle
            data().read(0, ids, 0, ids.length);
            MaskedLmMasking.Batch masked = MaskedLmMasking.forModel(model.config()).apply(ids, batch, Trainer.maskingSeed(11, 0, 0));
            Backend backend = model.backend();
            try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                Tensor input = backend.upload(Tensor.ofInts(host, masked.inputs(), batch, T), host);
                Tensor labels = backend.upload(Tensor.ofInts(host, masked.labels(), batch, T), host);
                var output = model.run(tape, input, new TrainingPass(Trainer.dropoutSeed(11, 0, 0), false));
                expected = backend.download(model.loss(tape, output, labels).value(), host).getFloat(0);
            }
        }
        List<StepMetrics> steps = new ArrayList<>();
        try (GptNeoModel model = model(3)) {
            Trainer.builder().model(model).data(data()).seqLen(T).batchSize(batch).steps(60).learningRate(1e-2)
                    .warmup(5).shuffle(false).seed(11).listener(new TrainerListener() {
                        @Override public void onStep(StepMetrics m) { steps.add(m); }
                    }).build().fit();
        }
        assertThat(steps.getFirst().loss()).isCloseTo(expected, within(1e-6));
        assertThat(steps.getFirst().routing()).isEmpty();
        double first = mean(steps.subList(0, 5)), last = mean(steps.subList(55, 60));
        assertThat(first).as("near ln V = 4.16 at the start").isBetween(3.6, 4.7);
        assertThat(last).as("loss of the last 5 steps against the first 5").isLessThan(first - 1.0);
    }

    private static double mean(List<StepMetrics> steps) {
        return steps.stream().mapToDouble(StepMetrics::loss).average().orElseThrow();
    }

    @Test
    void evaluationScoresTheMaskedPositionsOfFixedSeedsWhateverTheBatchSize() {
        SequenceDataset data = SequenceDataset.packed(data(), T);
        try (GptNeoModel model = model(4)) {
            EvalMetrics byOne = Evaluation.run(model, data, 1, 6, 0);
            EvalMetrics byThree = Evaluation.run(model, data, 3, 2, 0);
            MaskedLmMasking masking = MaskedLmMasking.forModel(model.config());
            Backend backend = model.backend();
            double nll = 0;
            long labelled = 0;
            for (int i = 0; i < 6; i++) {
                int[] ids = new int[T];
                data.read(i, ids, 0);
                MaskedLmMasking.Batch m = masking.apply(ids, 1, MaskedLmMasking.evaluationSeed(i));
                try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                    Tensor input = backend.upload(Tensor.ofInts(host, m.inputs(), 1, T), host);
                    Tensor labels = backend.upload(Tensor.ofInts(host, m.labels(), 1, T), host);
                    double loss = backend.download(model.loss(tape, model.forward(tape, input, false), labels).value(), host).getFloat(0);
                    nll += loss * m.labelled();
                    labelled += m.labelled();
                }
            }
            assertThat(byOne.tokens()).isEqualTo(labelled).isEqualTo(byThree.tokens());
            assertThat(byOne.loss()).isCloseTo(nll / labelled, within(1e-6));
            assertThat(byThree.loss()).isCloseTo(byOne.loss(), within(1e-5));
            assertThat(byOne.perplexity()).isCloseTo(Math.exp(byOne.loss()), within(1e-9));
        }
    }

    @Test
    void perplexityOfAMaskedLmModelScoresMaskedTargetsOfEachWindow() {
        int[] ids = new int[40];
        data().read(0, ids, 0, ids.length);
        try (GptNeoModel model = model(6)) {
            MaskedLmMasking masking = MaskedLmMasking.forModel(model.config());
            Perplexity.Result whole = Perplexity.slidingWindow(model, new ArrayTokens(ids), 32, 24);
            // two windows: [0, 32) all targets, then [24, 40) with targets [32, 40)
            MaskedLmMasking.Batch first = masking.apply(java.util.Arrays.copyOf(ids, 32), 1, MaskedLmMasking.evaluationSeed(0));
            MaskedLmMasking.Batch second = masking.apply(java.util.Arrays.copyOfRange(ids, 32, 40), 1, MaskedLmMasking.evaluationSeed(1));
            assertThat(whole.windows()).isEqualTo(2);
            assertThat(whole.tokens()).isEqualTo(first.labelled() + second.labelled());
            Backend backend = model.backend();
            double nll;
            try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                Tensor input = backend.upload(Tensor.ofInts(host, first.inputs(), 1, 32), host);
                Tensor labels = backend.upload(Tensor.ofInts(host, first.labels(), 1, 32), host);
                nll = backend.download(model.loss(tape, model.forward(tape, input, false), labels).value(), host).getFloat(0)
                        * first.labelled();
            }
            int[] window = java.util.Arrays.copyOfRange(ids, 24, 40), labels = new int[16];
            java.util.Arrays.fill(labels, GptNeoModel.IGNORE_INDEX);
            System.arraycopy(second.inputs(), 0, window, 8, 8);                  // the context [24, 32) keeps its tokens
            System.arraycopy(second.labels(), 0, labels, 8, 8);
            try (Tape tape = new Tape(backend, false); Arena host = Arena.ofConfined()) {
                Tensor input = backend.upload(Tensor.ofInts(host, window, 1, 16), host);
                Tensor target = backend.upload(Tensor.ofInts(host, labels, 1, 16), host);
                nll += backend.download(model.loss(tape, model.forward(tape, input, false), target).value(), host).getFloat(0)
                        * second.labelled();
            }
            assertThat(whole.meanNll()).isCloseTo(nll / whole.tokens(), within(1e-6));
            assertThat(whole.perplexity()).isCloseTo(Math.exp(whole.meanNll()), within(1e-9));
        }
    }

    @Test
    void aResumedMaskedLmRunContinuesTheUninterruptedCurve(@org.junit.jupiter.api.io.TempDir java.nio.file.Path whole,
                                                          @org.junit.jupiter.api.io.TempDir java.nio.file.Path cut) {
        try (GptNeoModel model = model(8)) {
            trainer(model, whole).build().fit();
        }
        try (GptNeoModel model = model(8)) {
            Trainer[] trainer = new Trainer[1];
            trainer[0] = trainer(model, cut).listener(new TrainerListener() {
                @Override public void onStep(StepMetrics m) { if (m.step() == 3) trainer[0].cancel(); }
            }).build();
            assertThat(trainer[0].fit().status()).isEqualTo(TrainingResult.Status.CANCELLED);
        }
        try (GptNeoModel model = model(8)) {
            trainer(model, cut).resume(true).build().fit();
        }
        assertThat(TinyRun.curve(cut)).hasSize(6 + 2).isEqualTo(TinyRun.curve(whole));
    }

    private static TrainerBuilder trainer(GptNeoModel model, java.nio.file.Path out) {
        return Trainer.builder().model(model).data(data()).seqLen(T).batchSize(2).accumulate(2).steps(6).learningRate(1e-2)
                .validationSplit(0.1).evalEvery(3).evalBatches(2).checkpointEvery(2).seed(5).outputDir(out);
    }
}
