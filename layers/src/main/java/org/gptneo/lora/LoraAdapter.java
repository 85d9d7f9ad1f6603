package org.gptneo.lora;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.Linear;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.nn.Projection;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * A LoRA adapter attached to a {@link GptNeoModel} (made by {@link LoRA#apply}): the targeted
 * projections of every block carry a low-rank path, every base parameter is frozen, and only the
 * adapter's A and B train. While attached, the model's {@code registry()} and {@code parameters()}
 * list them as {@code transformer.h.<i>.attn.attention.q_proj.lora_A.weight} and so on, and
 * {@code registry().trainable()} holds exactly them, so
 * {@code new AdamW(model.backend(), model.registry().trainable().asVars(), settings)} trains the
 * adapter alone; training, inference and cached generation all go through the wrapped projections.
 *
 * <p>Dropout: the k-th wrapped projection (in model order, from 0) draws its mask at dropout site
 * {@link #DROPOUT_SITE_BASE} + k of the pass; the model's own sites are 0 and 4·L + 1 … 4·L + 3 for
 * block L, far below it for any buildable model, so the masks never coincide.
 *
 * <p>Memory: A and B and their gradients live in an arena that the adapter owns, apart from the
 * model's. {@link #close()} detaches the adapter if it is still attached (as {@link #remove()}) and
 * frees that arena: close the adapter before or after the model, but do not use the adapter's
 * tensors after closing it. {@link #merge()} writes into the model's own weights, which therefore
 * outlive the adapter. Not thread-safe: attach, merge and remove while no pass runs.
 */
public final class LoraAdapter implements AutoCloseable {
    /** What PEFT puts before a model parameter's name in an adapter file. */
    public static final String PEFT_PREFIX = "base_model.model.";
    /** The dropout site of the first wrapped projection (2³⁰; see the class comment). */
    public static final int DROPOUT_SITE_BASE = 1 << 30;

    private final LoRA config;
    private final GptNeoModel model;
    private final Arena arena;
    private final Map<Parameter, Boolean> baseTrainable;      // each base parameter's flag before attaching
    private final List<LoraProjection> projections = new ArrayList<>();   // model order
    private final Map<String, Var> parameters = new LinkedHashMap<>();    // PEFT name → A or B
    private boolean attached;
    private boolean closed;

    private LoraAdapter(LoRA config, GptNeoModel model, Map<Parameter, Boolean> baseTrainable) {
        this.config = config;
        this.model = model;
        this.arena = Arena.ofShared();
        this.baseTrainable = baseTrainable;
    }

    static LoraAdapter attach(LoRA config, GptNeoModel model) {
        ParameterRegistry registry = model.registry();
        for (String name : registry.names()) {
            if (name.endsWith(".lora_A.weight")) {
                throw new IllegalStateException("the model already carries a LoRA adapter (" + name + "): merge or remove it first");
            }
        }
        Map<Parameter, Boolean> flags = new LinkedHashMap<>();
        registry.all().forEach(p -> flags.put(p, p.isTrainable()));
        LoraAdapter adapter = new LoraAdapter(config, model, flags);
        try {
            adapter.wrap();
        } catch (RuntimeException | Error e) {
            adapter.close();
            throw e;
        }
        return adapter;
    }

    /** Wraps each targeted projection (A drawn in model order from one seeded generator), then freezes the base. */
    private void wrap() {
        SplittableRandom random = new SplittableRandom(config.seed());
        attached = true;
        model.rewriteProjections((prefix, current) -> {
            String module = prefix.substring(prefix.lastIndexOf('.', prefix.length() - 2) + 1, prefix.length() - 1);
            if (!config.targets().contains(module)) {
                return current;
            }
            int in = current.inFeatures(), out = current.outFeatures(), r = config.rank();
            float bound = (float) (1 / Math.sqrt(in));      // kaiming_uniform(a=√5) over fan_in = in
            float[] a = new float[Math.multiplyExact(r, in)];
            for (int i = 0; i < a.length; i++) a[i] = (float) ((2 * random.nextDouble() - 1) * bound);
            Parameter pa = Parameter.of(prefix + "lora_A.weight", Var.parameter(tensor(a, r, in), arena));
            Parameter pb = Parameter.of(prefix + "lora_B.weight", Var.parameter(tensor(new float[Math.multiplyExact(out, r)], out, r), arena));
            LoraProjection wrapped = new LoraProjection(current, pa, pb, config.scaling(), config.dropout(),
                    DROPOUT_SITE_BASE + projections.size());
            projections.add(wrapped);
            parameters.put(PEFT_PREFIX + pa.name(), pa.var());
            parameters.put(PEFT_PREFIX + pb.name(), pb.var());
            return wrapped;
        });
        baseTrainable.keySet().forEach(p -> p.setTrainable(false));
    }

    /** An F32 tensor of the backend in the adapter's arena holding {@code values}. */
    private Tensor tensor(float[] values, int... shape) {
        Backend backend = model.backend();
        if (backend.device().hostAccessible()) {
            Tensor t = backend.allocate(arena, DType.F32, shape);
            t.copyFrom(values);
            return t;
        }
        try (Arena staging = Arena.ofConfined()) {
            return backend.upload(Tensor.of(staging, values, shape), arena);
        }
    }

    public LoRA config() {
        return config;
    }

    /** The model the adapter was made for. */
    public GptNeoModel model() {
        return model;
    }

    /** Whether the adapter still sits in the model (false after {@link #merge}, {@link #remove} or {@link #close}). */
    public boolean isAttached() {
        return attached;
    }

    /**
     * Every A and B by PEFT tensor name ({@code base_model.model.transformer.h.0.attn.attention.q_proj.lora_A.weight},
     * {@code ...lora_B.weight}, {@code base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight}), in model
     * order, A before B: a stable order for optimizer state. A is [rank, in], B [out, rank].
     */
    public Map<String, Var> parameters() {
        requireOpen();
        return Collections.unmodifiableMap(parameters);
    }

    /**
     * Folds scaling·B·A into each wrapped projection's weight (W [out, in] += scaling·B·A) and puts
     * the plain projections back, with every base parameter as trainable as before {@link LoRA#apply}.
     * The adapter's own tensors stay readable until {@link #close()}.
     *
     * @throws IllegalStateException if the adapter is not attached, or a wrapped weight is not a
     *     writable F32 {@link Linear} weight (load the model with writable F32 weights to merge);
     *     nothing changes then
     */
    public void merge() {
        requireAttached();
        for (LoraProjection p : projections) {
            if (!(p.base() instanceof Linear linear)) {
                throw new IllegalStateException("cannot merge LoRA into " + p.a().name().replace("lora_A.weight", "")
                        + ": it is a " + p.base().getClass().getSimpleName() + ", not a Linear");
            }
            Tensor w = linear.weight().value();
            if (w.dtype() != DType.F32 || w.isReadOnly()) {
                throw new IllegalStateException("cannot merge LoRA into " + linear.weight().name() + ": it is "
                        + (w.isReadOnly() ? "read-only (mapped from a file)" : w.dtype().toString())
                        + "; load the model with writable F32 weights to merge");
            }
        }
        Backend backend = model.backend();
        for (LoraProjection p : projections) {
            Tensor w = ((Linear) p.base()).weight().value();                                  // [out, in]
            backend.matmul(p.b().value(), false, p.a().value(), false, w, config.scaling(), 1f);   // += s·B[out, r]·A[r, in]
        }
        detach();
    }

    /** Takes the adapter out of the model without merging: the model computes what it did before {@link LoRA#apply}. */
    public void remove() {
        requireAttached();
        detach();
    }

    private void detach() {
        model.rewriteProjections((prefix, current) ->
                current instanceof LoraProjection p && projections.contains(p) ? p.base() : current);
        baseTrainable.forEach(Parameter::setTrainable);
        attached = false;
    }

    /** Detaches the adapter if it is still attached (without merging) and frees its tensors. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            if (attached) {
                detach();
            }
        } finally {
            closed = true;
            arena.close();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the LoRA adapter is closed");
        }
    }

    private void requireAttached() {
        requireOpen();
        if (!attached) {
            throw new IllegalStateException("the LoRA adapter is no longer attached to the model (merged or removed)");
        }
    }

    @Override
    public String toString() {
        return "LoraAdapter[" + config + ", " + projections.size() + " projections" + (attached ? "" : ", detached")
                + (closed ? ", closed" : "") + "]";
    }
}
