import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.AdamW;
import org.gptneo.tensor.Tensor;

/**
 * The whole 125M model (random weights, global and local layers alternating) as `bench prefill` and
 * `bench train` run it: a prefill of 512 tokens with all logits, and a training step at B = 4, T = 256
 * with AdamW, each on a workspace reused from pass to pass. Tokens per second, best of 2.
 */
public class ModelRunner implements IntToDoubleFunction {
    public static final int WORKLOADS = 2;
    private static final int PREFILL = 512, BATCH = 4, SEQ = 256;
    private final CpuBackend backend;
    private final GptNeoModel model;
    private final AdamW adam;
    private final Workspace passes = new Workspace();
    private final Tensor prompt, batch;

    public ModelRunner(int threads) {
        backend = new CpuBackend(threads);
        model = GptNeoBuilder.create().vocabSize(50257).contextLength(2048).hiddenSize(768).layers(12).heads(12)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(256).seed(1).build(backend);
        adam = new AdamW(backend, model.parameters(), AdamW.Settings.defaults().withLr(1e-4f), AdamW.decayExceptBiasAndNorm());
        Arena arena = Arena.ofShared();
        SplittableRandom random = new SplittableRandom(1);
        prompt = Tensor.ofInts(arena, random.ints(PREFILL, 0, 50257).toArray(), 1, PREFILL);
        batch = Tensor.ofInts(arena, random.ints(BATCH * SEQ, 0, 50257).toArray(), BATCH, SEQ);
    }

    public static String name(int i) {
        return i == 0 ? "prefill 1 x 512, all logits (tokens/s)" : "train step 4 x 256, AdamW (tokens/s)";
    }

    @Override
    public double applyAsDouble(int workload) {
        double best = 0;
        for (int run = 0; run < 2; run++) {
            long start = System.nanoTime();
            if (workload == 0) {
                try (Tape tape = new Tape(backend, false, passes)) {
                    model.forward(tape, prompt, false);
                }
            } else {
                try (Tape tape = new Tape(backend, true, passes)) {
                    model.zeroGrad();
                    tape.backward(model.loss(tape, model.forward(tape, batch, false), batch));
                    adam.step();
                }
            }
            int tokens = workload == 0 ? PREFILL : BATCH * SEQ;
            best = Math.max(best, tokens * 1e9 / (System.nanoTime() - start));
        }
        return best;
    }
}
