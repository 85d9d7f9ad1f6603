package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.nn.GradientClipping;
import org.gptneo.nn.MixtureOfExperts;
import org.gptneo.nn.Parameter;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One rank's part of a GPT-Neo model with mixture-of-experts layers under expert parallelism over the
 * group {@code ep} (placement: {@link ExpertParallelLayout}): an ordinary {@link GptNeoModel} whose
 * mixture layers hold E/ep experts each and exchange tokens with the other ranks
 * ({@link ExpertParallelDispatch}); every other parameter, the gates included, is a replica.
 *
 * <p>Each rank computes its own rows of the batch (expert parallelism is carved out of data
 * parallelism, as in GShard, DeepSpeed-MoE and GPT-NeoX): {@link #model()}'s forward, loss and
 * backward are the usual calls, and route this rank's tokens with the replicated gate, capacity
 * counted in groups of this rank's tokens, so the routing, the auxiliary loss and the routing
 * statistics are those of a data-parallel replica holding every expert. Every rank of the group calls
 * forward (and backward) together: the mixture layers communicate. After the backward pass a held
 * expert's gradient is the sum over the group's ranks of their losses' gradients, a replicated
 * parameter's this rank's own; {@link ExpertParallelGradients} turns both into the data-parallel mean.
 *
 * <p>Made by {@link #shard} from a full model (the same on every rank), which the caller may close
 * afterwards; {@link #gatherFullModel} puts an ordinary model back together for a checkpoint. The
 * model owns its parameter memory: {@link #close()} frees it.
 */
public final class ExpertParallelModel implements AutoCloseable {
    private final GptNeoModel model;
    private final ExpertParallelLayout layout;
    private final Collectives ep;

    private ExpertParallelModel(GptNeoModel model, ExpertParallelLayout layout, Collectives ep) {
        this.model = model;
        this.layout = layout;
        this.ep = ep;
    }

    /**
     * Rank {@code ep.rank()}'s part of {@code full} (a plain GPT-Neo model with F32 parameters and
     * mixture-of-experts layers, the same on every rank): the replicated parameters and its experts,
     * copied into memory of its own, trainable flags kept. A one-line error when the model cannot be
     * split over {@code ep.size()} ranks.
     */
    public static ExpertParallelModel shard(GptNeoModel full, Communicator ep) {
        GptNeoConfig config = full.config();
        ExpertParallelLayout layout = ExpertParallelLayout.of(config, ep.size(), ep.rank());
        requirePlain(full);
        Backend backend = full.backend();
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> held = new LinkedHashMap<>();
            for (Parameter p : full.registry().all()) {
                if (ExpertParallelLayout.isExpert(p.name()) && layout.owner(ExpertParallelLayout.expertOf(p.name())) != layout.rank()) {
                    continue;
                }
                Tensor copy = backend.allocate(arena, DType.F32, p.shape());
                backend.copy(p.value(), copy);
                held.put(p.name(), copy);
            }
            Collectives group = new Collectives(ep, backend);
            ExpertParallelDispatch dispatch = new ExpertParallelDispatch(layout, group);
            GptNeoModel model = GptNeoModel.fromTensors(config, backend, held, arena::close,
                    (spec, settings) -> new MixtureOfExperts(spec, settings, layout.first(), layout.held(), dispatch));
            model.registry().all().forEach(p -> p.setTrainable(full.registry().get(p.name()).isTrainable()));
            return new ExpertParallelModel(model, layout, group);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The checks {@link #shard} makes before copying anything, one line each. */
    private static void requirePlain(GptNeoModel full) {
        Set<String> expected = GptNeoModel.parameterShapes(full.config()).keySet();
        Map<Integer, Boolean> expertsTrainable = new LinkedHashMap<>();
        for (Parameter p : full.registry().all()) {
            if (!expected.contains(p.name())) {
                throw new IllegalArgumentException("expert parallelism splits a plain GPT-Neo model, but it has the parameter '"
                        + p.name() + "' (merge or remove adapters first)");
            }
            if (p.value().dtype() != DType.F32) {
                throw new IllegalArgumentException("expert parallelism needs F32 parameters, but '" + p.name() + "' is " + p.value());
            }
            if (ExpertParallelLayout.isExpert(p.name())) {
                int layer = Integer.parseInt(p.name().split("\\.")[2]);
                if (expertsTrainable.computeIfAbsent(layer, l -> p.isTrainable()) != p.isTrainable()) {
                    throw new IllegalArgumentException("expert parallelism needs every expert of a layer trainable or every one frozen,"
                            + " but layer " + layer + " has both");
                }
            }
        }
    }

    /** This rank's model: forward, run and loss as usual, on this rank's rows, every rank of the group together. */
    public GptNeoModel model() {
        return model;
    }

    public ExpertParallelLayout layout() {
        return layout;
    }

    public Communicator communicator() {
        return ep.group();
    }

    /** The trainable replicated parameters (everything but the experts) by name: averaged over all data-parallel ranks. */
    public Map<String, Var> denseParameters() {
        return model.registry().trainable().matching(name -> !ExpertParallelLayout.isExpert(name)).asVars();
    }

    /** The trainable weights of this rank's experts by name: averaged over the ranks that hold the same experts. */
    public Map<String, Var> expertParameters() {
        return model.registry().trainable().matching(ExpertParallelLayout::isExpert).asVars();
    }

    /**
     * The whole model's gradient norm, as {@link GradientClipping#inspect} measures it on one replica
     * holding every expert, once the gradients are averaged: the replicated parameters counted once,
     * the experts' squares summed over the group (one all-reduce); the same on every rank. Names the
     * first parameter of this rank with a non-finite gradient, or says that another rank's is.
     */
    public GradientClipping.Report inspectGradients() {
        Map<String, Double> squares = new LinkedHashMap<>();
        for (Parameter p : model.registry().all()) {
            if (p.grad() != null) squares.put(p.name(), model.backend().sumOfSquares(p.grad()));
        }
        return inspectGradients(squares);
    }

    /**
     * {@link #inspectGradients()} from this rank's parameters' squared gradient norms, by name (those
     * with a gradient), measured elsewhere: a ZeRO-1 optimizer's, over the ranks holding the same experts.
     */
    public GradientClipping.Report inspectGradients(Map<String, Double> squares) {
        double replicated = 0, experts = 0;
        String bad = null;
        for (Map.Entry<String, Double> e : squares.entrySet()) {
            double s = e.getValue();
            if (!Double.isFinite(s) && bad == null) bad = e.getKey();
            if (ExpertParallelLayout.isExpert(e.getKey())) experts += s;
            else replicated += s;
        }
        double norm = Math.sqrt(replicated + ep.allReduce(new float[] {(float) experts}, ReduceOp.SUM)[0]);
        if (bad == null && !Double.isFinite(norm)) bad = "an expert's gradient on another expert-parallel rank";
        return new GradientClipping.Report(norm, Optional.ofNullable(bad));
    }

    /**
     * The whole model's tensors by name, in checkpoint order, on every rank (a collective), from this
     * rank's {@code local} ones (one per parameter of {@link #model()}, shaped like it: values,
     * gradients, AdamW moments): replicated ones copied, experts all-gathered from their holders.
     */
    public Map<String, Tensor> gather(Map<String, Tensor> local, Arena arena) {
        Backend backend = model.backend();
        Map<String, Tensor> gathered = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : GptNeoModel.parameterShapes(model.config()).entrySet()) {
            String name = e.getKey();
            if (!ExpertParallelLayout.isExpert(name)) {
                Tensor copy = backend.allocate(arena, DType.F32, e.getValue());
                backend.copy(required(local, name), copy);
                gathered.put(name, copy);
            } else if (ExpertParallelLayout.expertOf(name) < layout.held()) {   // slot i of every rank's share, together
                gathered.putAll(allGatherExperts(local, name, e.getValue(), arena));
            }
        }
        Map<String, Tensor> ordered = new LinkedHashMap<>();
        GptNeoModel.parameterShapes(model.config()).keySet().forEach(name -> ordered.put(name, gathered.get(name)));
        return ordered;
    }

    /** Tensor {@code name} (of expert i &lt; E/ep) for experts i, E/ep + i, 2·E/ep + i, ...: one all-gather, rank s's at block s. */
    private Map<String, Tensor> allGatherExperts(Map<String, Tensor> local, String name, int[] shape, Arena arena) {
        Backend backend = model.backend();
        int slot = ExpertParallelLayout.expertOf(name);
        Tensor mine = required(local, ExpertParallelLayout.renamed(name, layout.first() + slot));
        Tensor all = backend.allocate(arena, DType.F32, Math.toIntExact(mine.size() * layout.ranks()));
        try (Arena scratch = Arena.ofShared()) {
            Tensor flat = backend.allocate(scratch, DType.F32, Math.toIntExact(mine.size()));
            backend.copy(mine.reshape(Math.toIntExact(mine.size())), flat);
            ep.allGather(flat, all);
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        int size = Math.toIntExact(mine.size());
        for (int s = 0; s < layout.ranks(); s++) {
            out.put(ExpertParallelLayout.renamed(name, s * layout.held() + slot), all.rows(s * size, (s + 1) * size).reshape(shape));
        }
        return out;
    }

    /**
     * This rank's share of {@code full} (the whole model's tensors by name, such as a checkpoint's
     * AdamW moments on resume): the replicated ones and its experts', in {@link #model()}'s parameter
     * order; the same tensors, not copies. A one-line error names a parameter {@code full} lacks.
     */
    public Map<String, Tensor> shardOf(Map<String, Tensor> full) {
        Map<String, Tensor> held = new LinkedHashMap<>();
        for (String name : model.registry().names()) held.put(name, required(full, name));
        return held;
    }

    private static Tensor required(Map<String, Tensor> tensors, String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor for parameter '" + name + "' among the " + tensors.size() + " given");
        return t;
    }

    /** Every parameter's value by name, the whole model's, on every rank (a collective). */
    public Map<String, Tensor> gatherParameters(Arena arena) {
        return gather(byName(Parameter::value), arena);
    }

    /** Every parameter's gradient by name (zeros where one has none), the whole model's, on every rank (a collective). */
    public Map<String, Tensor> gatherGradients(Arena arena) {
        try (Arena zeros = Arena.ofShared()) {
            return gather(byName(p -> p.grad() != null ? p.grad() : model.backend().allocate(zeros, DType.F32, p.shape())), arena);
        }
    }

    private Map<String, Tensor> byName(Function<Parameter, Tensor> tensor) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.registry().all().forEach(p -> out.put(p.name(), tensor.apply(p)));
        return out;
    }

    /**
     * An ordinary model with every expert, on every rank (a collective): what {@code HfCheckpoint.save}
     * writes as one checkpoint, loadable with or without expert parallelism. The caller closes it.
     */
    public GptNeoModel gatherFullModel() {
        Backend backend = model.backend();
        try (Arena scratch = Arena.ofShared()) {
            Map<String, Tensor> full = gatherParameters(scratch);
            return GptNeoModel.create(model.config(), backend, (name, host) -> host.copyFrom(backend.download(full.get(name), scratch)));
        }
    }

    /**
     * Writes every parameter of the whole model into {@code full}'s parameters of the same names, on every
     * rank (a collective): the trained weights, for evaluating or saving the ordinary model.
     */
    public void copyInto(GptNeoModel full) {
        requireConfiguration(full, "copyInto");
        Backend backend = model.backend();
        try (Arena scratch = Arena.ofShared()) {
            gatherParameters(scratch).forEach((name, t) -> backend.copy(t, full.registry().get(name).value()));
        }
    }

    /**
     * Copies this rank's share of {@code full} into its parameters (no communication): after the full
     * model was changed on every rank alike, e.g. restored from a checkpoint.
     */
    public void loadFrom(GptNeoModel full) {
        requireConfiguration(full, "loadFrom");
        model.registry().all().forEach(p -> model.backend().copy(full.registry().get(p.name()).value(), p.value()));
    }

    private void requireConfiguration(GptNeoModel full, String method) {
        if (!full.config().equals(model.config())) {
            throw new IllegalArgumentException(method + " needs a model of the expert-parallel model's configuration");
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
