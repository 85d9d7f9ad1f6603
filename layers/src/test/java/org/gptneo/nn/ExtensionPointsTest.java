package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.autograd.Differentiable;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.backend.cpu.CpuBackend;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;
import org.gptneo.model.GptNeoModel;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The extension points the next capabilities need, used as a user would: a feed-forward layer of
 * one's own (with a differentiable op the tape does not know), a wrapped Linear (the shape of LoRA
 * and of tensor-parallel splits), and frozen parameters that get no gradient and no update.
 */
class ExtensionPointsTest {
    private final Backend backend = new CpuBackend();
    private final Arena arena = Arena.ofShared();

    @AfterEach
    void close() {
        arena.close();
        backend.close();
    }

    private static GptNeoBuilder tiny() {
        return GptNeoBuilder.create().vocabSize(40).contextLength(16).hiddenSize(8).layers(2).heads(2)
                .attention(AttentionType.GLOBAL, AttentionType.LOCAL).windowSize(4).seed(3);
    }

    private Tensor ids() {
        int[] ids = {1, 5, 9, 13, 17, 21, 25, 29, 2, 6, 10, 14, 18, 22, 26, 30};
        return backend.upload(Tensor.ofInts(arena, ids, 2, 8), arena);
    }

    private static float lossAfterTraining(GptNeoModel model, Tensor ids, int steps, List<Float> losses) {
        try (AdamW adamW = new AdamW(model.backend(), model.parameters(), AdamW.Settings.defaults().withLr(0.02f))) {
            for (int step = 0; step < steps; step++) {
                try (Tape tape = new Tape(model.backend(), true)) {
                    model.zeroGrad();
                    Var loss = model.loss(tape, model.forward(tape, ids, false), ids);
                    tape.backward(loss);
                    adamW.step();
                    losses.add(loss.value().getFloat(0));
                }
            }
        }
        return losses.getLast();
    }

    /** y = x ⊙ x, written against the backend: the tape has no such op. */
    static final Differentiable SQUARE = new Differentiable() {
        @Override
        public Tensor forward(Tape tape, Tensor[] in) {
            Tensor out = tape.allocate(in[0].shape());
            tape.backend().mul(in[0], in[0], out);
            return out;
        }

        @Override
        public void backward(Tape tape, Tensor[] in, Tensor out, Tensor outGrad, Tensor[] inGrads) {
            Tensor scratch = tape.allocate(in[0].shape());
            tape.backend().mul(in[0], outGrad, scratch);
            tape.backend().axpy(2f, scratch, inGrads[0]);    // d(x²) = 2x
        }
    };

    /** A user's feed-forward layer: down((up(x))²), with its own parameter names. */
    static final class SquareMlp implements FeedForward {
        final Linear up, down;

        SquareMlp(Spec spec) {
            up = Linear.create(spec.source(), spec.prefix() + "up.", spec.hiddenSize(), 16, true);
            down = Linear.create(spec.source(), spec.prefix() + "down.", 16, spec.hiddenSize(), false);
        }

        @Override
        public Var forward(Pass pass, Var x) {
            return down.forward(pass, pass.tape().apply(SQUARE, up.forward(pass, x)));
        }

        @Override
        public List<Parameter> parameters() {
            List<Parameter> all = new ArrayList<>(up.parameters());
            all.addAll(down.parameters());
            return all;
        }
    }

    /** loss = Σ w ⊙ y for fixed weights w (on the host: this test runs on the CPU backend). */
    static Differentiable weightedSum(Tensor w) {
        return new Differentiable() {
            @Override
            public Tensor forward(Tape tape, Tensor[] in) {
                Tensor products = tape.allocate(in[0].shape()), out = tape.allocate(1);
                tape.backend().mul(in[0], w, products);
                out.setFloat(0, (float) tape.backend().sum(products));
                return out;
            }

            @Override
            public void backward(Tape tape, Tensor[] in, Tensor out, Tensor outGrad, Tensor[] inGrads) {
                tape.backend().axpy(outGrad.getFloat(0), w, inGrads[0]);   // d(Σ w·y)/dy = w
            }
        };
    }

    @Test
    void userDefinedOpsBackpropagateAsFiniteDifferencesSay() {
        float[] values = {0.5f, -1.25f, 2f}, weights = {0.3f, -0.7f, 1.1f};
        Tensor w = Tensor.of(arena, weights, 3);
        try (Tape tape = new Tape(backend, true)) {
            Var x = Var.parameter(Tensor.of(arena, values, 3), arena);
            Var y = tape.apply(SQUARE, x);
            assertThat(y.value().toFloatArray()).containsExactly(0.25f, 1.5625f, 4f);
            tape.backward(tape.apply(weightedSum(w), y));
            float[] grad = x.grad().toFloatArray();
            for (int i = 0; i < 3; i++) {
                double h = 1e-3;
                double numeric = weights[i] * (Math.pow(values[i] + h, 2) - Math.pow(values[i] - h, 2)) / (2 * h);
                assertThat((double) grad[i]).as("dL/dx[%d]", i).isCloseTo(numeric, within(1e-4));
            }
        }
    }

    @Test
    void aBlockTrainsWithAFeedForwardLayerOfTheUsersOwn() {
        try (GptNeoModel model = tiny().feedForward(spec -> spec.layer() == 1 ? new SquareMlp(spec) : spec.standard())
                .build(backend)) {
            assertThat(model.registry().names()).contains("transformer.h.0.mlp.c_fc.weight",
                    "transformer.h.1.mlp.up.weight", "transformer.h.1.mlp.up.bias", "transformer.h.1.mlp.down.weight")
                    .doesNotContain("transformer.h.1.mlp.c_fc.weight");
            assertThat(model.blocks().get(1).feedForward()).isInstanceOf(SquareMlp.class);
            float[] before = model.parameters().get("transformer.h.1.mlp.up.weight").value().toFloatArray();
            List<Float> losses = new ArrayList<>();
            float last = lossAfterTraining(model, ids(), 30, losses);
            assertThat(last).isLessThan(losses.getFirst() * 0.7f);
            assertThat(model.parameters().get("transformer.h.1.mlp.up.weight").value().toFloatArray()).isNotEqualTo(before);
        }
    }

    /** out = base(x) + B·A·x with A [r, in] random and B [out, r] zero: the shape of a LoRA adapter. */
    static final class LowRank implements Projection {
        final Projection base;
        final Parameter a, b;

        LowRank(String prefix, Projection base, Backend backend, Arena arena, long seed) {
            this.base = base;
            int r = 2;
            Tensor aValues = backend.allocate(arena, DType.F32, r, base.inFeatures());
            SplittableRandom random = new SplittableRandom(seed);
            float[] init = new float[r * base.inFeatures()];
            for (int i = 0; i < init.length; i++) init[i] = (float) random.nextGaussian() * 0.3f;
            aValues.copyFrom(init);
            this.a = Parameter.of(prefix + "lora_A.weight", Var.parameter(aValues, arena));
            this.b = Parameter.of(prefix + "lora_B.weight",
                    Var.parameter(backend.allocate(arena, DType.F32, base.outFeatures(), r), arena));
        }

        @Override
        public Var forward(Pass pass, Var x) {
            Var low = pass.tape().linear(pass.tape().linear(x, a.var(), null), b.var(), null);
            return pass.tape().add(base.forward(pass, x), low);
        }

        @Override
        public int inFeatures() {
            return base.inFeatures();
        }

        @Override
        public int outFeatures() {
            return base.outFeatures();
        }

        @Override
        public List<Parameter> parameters() {
            List<Parameter> all = new ArrayList<>(base.parameters());
            all.add(a);
            all.add(b);
            return all;
        }
    }

    @Test
    void wrappedProjectionsTrainAloneWhileTheFrozenBaseKeepsItsWeightsAndGetsNoGradient() {
        try (GptNeoModel model = tiny().build(backend); Tape probe = new Tape(backend, false)) {
            Tensor ids = ids();
            float[] plain = model.forward(probe, ids, false).value().toFloatArray();
            model.registry().freeze(name -> true);
            model.rewriteProjections((prefix, p) -> prefix.endsWith("q_proj.") || prefix.endsWith("v_proj.")
                    ? new LowRank(prefix, p, backend, arena, prefix.hashCode()) : p);

            ParameterRegistry registry = model.registry();
            assertThat(registry.trainable().names()).containsExactly(
                    "transformer.h.0.attn.attention.q_proj.lora_A.weight", "transformer.h.0.attn.attention.q_proj.lora_B.weight",
                    "transformer.h.0.attn.attention.v_proj.lora_A.weight", "transformer.h.0.attn.attention.v_proj.lora_B.weight",
                    "transformer.h.1.attn.attention.q_proj.lora_A.weight", "transformer.h.1.attn.attention.q_proj.lora_B.weight",
                    "transformer.h.1.attn.attention.v_proj.lora_A.weight", "transformer.h.1.attn.attention.v_proj.lora_B.weight");
            try (Tape tape = new Tape(backend, false)) {   // B = 0: the wrapped model computes what the plain one did
                assertThat(model.forward(tape, ids, false).value().toFloatArray()).containsExactly(plain);
            }
            Map<String, float[]> frozenBefore = new java.util.HashMap<>();
            registry.all().stream().filter(p -> !p.isTrainable()).forEach(p -> frozenBefore.put(p.name(), p.value().toFloatArray()));

            List<Float> losses = new ArrayList<>();
            float last = lossAfterTraining(model, ids, 25, losses);
            assertThat(last).isLessThan(losses.getFirst());
            for (Parameter p : registry.all()) {
                if (p.isTrainable()) {
                    assertThat(p.grad()).as("gradient of %s", p.name()).isNotNull();
                } else {
                    assertThat(p.grad()).as("no gradient memory for frozen %s", p.name()).isNull();
                    assertThat(p.value().toFloatArray()).as("frozen %s unchanged", p.name()).containsExactly(frozenBefore.get(p.name()));
                }
            }
        }
    }

    /** An attention layer computes as many heads as its q projection yields, so q, k, v and out_proj must agree on them. */
    @Test
    void rewrittenAttentionProjectionsMustAgreeOnWholeHeads() {
        try (GptNeoModel model = tiny().build(backend)) {
            Attention attention = model.blocks().getFirst().attention();
            Linear narrow = new Linear(Parameter.of("narrow", Var.parameter(Tensor.allocate(arena, DType.F32, 4, 8), arena)), null);
            assertThatThrownBy(() -> attention.rewriteProjections((prefix, p) -> prefix.endsWith("q_proj.") ? narrow : p))
                    .hasMessage("the rewritten projections of transformer.h.0.attn.attention. give q, k, v 4, 8, 8 features and "
                            + "out_proj takes 8; they must agree on whole heads of 4");
        }
    }

    @Test
    void freezingASubsetSkipsItInTheOptimizerAndInBackward() {
        try (GptNeoModel model = tiny().build(backend)) {
            ParameterRegistry registry = model.registry().freeze(name -> name.startsWith("transformer.h.0."));
            assertThat(registry.trainable().names()).noneMatch(n -> n.startsWith("transformer.h.0."))
                    .contains("transformer.wte.weight", "transformer.h.1.mlp.c_fc.weight");
            float[] frozen = model.parameters().get("transformer.h.0.mlp.c_fc.weight").value().toFloatArray();
            float[] trained = model.parameters().get("transformer.h.1.mlp.c_fc.weight").value().toFloatArray();
            lossAfterTraining(model, ids(), 3, new ArrayList<>());
            assertThat(model.parameters().get("transformer.h.0.mlp.c_fc.weight").grad()).isNull();
            assertThat(model.parameters().get("transformer.h.0.mlp.c_fc.weight").value().toFloatArray()).containsExactly(frozen);
            assertThat(model.parameters().get("transformer.h.1.mlp.c_fc.weight").value().toFloatArray()).isNotEqualTo(trained);

            registry.unfreeze(name -> true);
            assertThat(model.registry().trainable().size()).isEqualTo(model.registry().size());
        }
    }
}
