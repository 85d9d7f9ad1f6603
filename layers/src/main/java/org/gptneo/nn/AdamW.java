package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.gptneo.autograd.Var;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HugePages;
import org.gptneo.tensor.Tensor;

/**
 * AdamW exactly as torch.optim.AdamW: decoupled weight decay and bias-corrected moments. Moments
 * live on the backend in the optimizer's own arena; {@link #close()} frees them. Parameters that are
 * frozen when the optimizer is made get no moments and are never updated.
 */
public final class AdamW implements AutoCloseable {
    /** Hyper-parameters; the defaults are torch's. */
    public record Settings(float lr, float beta1, float beta2, float eps, float weightDecay) {
        public static Settings defaults() {
            return new Settings(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f);
        }

        public Settings withLr(float newLr) {
            return new Settings(newLr, beta1, beta2, eps, weightDecay);
        }

        public Settings withWeightDecay(float wd) {
            return new Settings(lr, beta1, beta2, eps, wd);
        }
    }

    private record Slot(String name, Var param, Tensor m, Tensor v, boolean decays) {}

    /** One parameter's first and second moments, [same shape as the parameter], on the backend. */
    public record Moments(Tensor m, Tensor v) {}

    private final Backend backend;
    private final Arena arena = HugePages.over(Arena.ofShared());
    private final List<Slot> slots = new ArrayList<>();
    private Settings settings;
    private int step;

    /**
     * @param parameters by name (e.g. {@code model.parameters()}, or {@code model.registry().trainable().asVars()})
     * @param decays     which names get weight decay; GPT-Neo's trainer exempts names containing
     *                   "norm"/"ln_" and "bias", torch applies it to all (the default here)
     */
    public AdamW(Backend backend, Map<String, Var> parameters, Settings settings, Predicate<String> decays) {
        this.backend = backend;
        this.settings = settings;
        parameters.forEach((name, p) -> {
            if (p.requiresGrad() && p.value().isReadOnly()) {
                throw new IllegalArgumentException("parameter '" + name + "' is read-only (loaded for inference);"
                        + " load the model with LoadOptions.training() to train it");
            }
        });
        parameters.forEach((name, p) -> {
            if (p.requiresGrad()) {
                slots.add(new Slot(name, p, backend.allocate(arena, DType.F32, p.shape()),
                        backend.allocate(arena, DType.F32, p.shape()), decays.test(name)));
            }
        });
    }

    public AdamW(Backend backend, Map<String, Var> parameters, Settings settings) {
        this(backend, parameters, settings, name -> true);
    }

    /** Weight decay for every name except biases and LayerNorm parameters. */
    public static Predicate<String> decayExceptBiasAndNorm() {
        return name -> !name.endsWith(".bias") && !name.contains(".ln_") && !name.contains("norm");
    }

    public Settings settings() {
        return settings;
    }

    /** Changes the learning rate (for schedules); the other settings stay. */
    public void setLearningRate(float lr) {
        settings = settings.withLr(lr);
    }

    /** Number of steps taken so far. */
    public int stepCount() {
        return step;
    }

    /** The moments of every parameter this optimizer updates, by name, in the order it was given them (live tensors, not copies). */
    public Map<String, Moments> moments() {
        Map<String, Moments> all = new LinkedHashMap<>();
        slots.forEach(s -> all.put(s.name, new Moments(s.m, s.v)));
        return all;
    }

    /**
     * Puts back a saved state (for resuming): the step count and every parameter's moments (tensors on this optimizer's
     * backend: upload saved ones first), copied in. The names must be exactly this optimizer's parameters, with the same shapes.
     */
    public void restore(int stepCount, Map<String, Moments> saved) {
        if (stepCount < 0) throw new IllegalArgumentException("step count must be >= 0, got " + stepCount);
        for (Slot s : slots) {
            Moments m = saved.get(s.name);
            if (m == null) throw new IllegalArgumentException("the saved optimizer state has no moments for '" + s.name + "'");
            if (!m.m().sameShape(s.m) || !m.v().sameShape(s.v)) {
                throw new IllegalArgumentException("saved moments of '" + s.name + "' have shape " + m.m() + ", the parameter " + s.m);
            }
        }
        if (saved.size() != slots.size()) {
            List<String> extra = new ArrayList<>(saved.keySet());
            slots.forEach(s -> extra.remove(s.name));
            throw new IllegalArgumentException("the saved optimizer state has moments for parameters this optimizer does not train: " + extra);
        }
        for (Slot s : slots) {
            backend.copy(saved.get(s.name).m(), s.m);
            backend.copy(saved.get(s.name).v(), s.v);
        }
        step = stepCount;
    }

    /** Updates every parameter that has a gradient. */
    public void step() {
        step++;
        for (Slot s : slots) {
            Tensor grad = s.param.grad();
            if (grad == null || !s.param.requiresGrad()) {
                continue;
            }
            float wd = s.decays ? settings.weightDecay() : 0f;
            backend.adamW(s.param.value(), grad, s.m, s.v,
                    new AdamWStep(settings.lr(), settings.beta1(), settings.beta2(), settings.eps(), wd, step));
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
