package org.gptneo.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * GPT-Neo's mixture of experts (mesh-tf {@code transformer_moe_layer_v1}) in place of a block's MLP:
 * a gate [E, C] routes each of x's N rows to its top-1 or top-2 experts (see {@link ExpertRouting}),
 * expert e computes act(x·W_fcᵀ)·W_projᵀ (c_fc [H, C], c_proj [C, H], no biases) on the rows it
 * kept, and the outputs are added back to their tokens weighted by the (renormalised) gate
 * probabilities, then residual dropout. Over-capacity assignments contribute zero.
 *
 * <p>Dispatch gathers each expert's rows and scatter-adds its outputs back (backend ops), so the
 * experts process exactly the kept assignments, about N·topK rows whatever E is. The layer reports
 * its load-balancing loss (times the coefficient, differentiable through the gate probabilities)
 * with {@link Auxiliary#addLoss} and its {@link RoutingStats} with {@link Auxiliary#addRouting}.
 *
 * <p>Expert parallelism makes a layer that holds only a share of the experts ([first, first + held))
 * and hands the kept assignments to a {@link Dispatch}, which moves the rows to the ranks that hold
 * their experts and back; the gate, the routing, the gate weights and the auxiliary loss stay here.
 */
public final class MixtureOfExperts implements FeedForward {
    private static final Set<String> ACTIVATIONS = Set.of("relu", "gelu_new");

    private final MoeSettings settings;
    private final int layer;
    private final float residDropout;
    private final Parameter gate;
    private final int first;                    // the experts held: [first, first + fc.size())
    private final List<Parameter> fc = new ArrayList<>(), proj = new ArrayList<>();
    private final Dispatch dispatch;            // null: every expert is here

    /**
     * Where the kept assignments' expert outputs are computed and combined when this layer holds only
     * some experts (expert parallelism): it returns what {@code combine} does here.
     */
    @FunctionalInterface
    public interface Dispatch {
        /**
         * y [N, C] = Σ over kept assignments of gate weight × expert output, at the tokens' rows.
         *
         * @param x           [N, C], this pass's tokens
         * @param rows        per expert (all E), the rows of x it processes, in slot order
         * @param weightSlots per expert, for each of its rows, n·topK + j: which gate weight scales it
         * @param flatGates   [N·topK, 1], the gate weights
         */
        Var combine(Pass pass, MixtureOfExperts layer, Var x, int[][] rows, int[][] weightSlots, Var flatGates);
    }

    /** Makes the mixture of experts of a layer that has one (see {@code GptNeoModel.fromTensors} with a factory). */
    @FunctionalInterface
    public interface Factory {
        FeedForward create(FeedForward.Spec spec, MoeSettings settings);

        /** Every expert in the layer, computed on this device. */
        Factory ALL_EXPERTS = MixtureOfExperts::new;
    }

    /** Parameters {@code <prefix>gate.weight} [E, C], then per expert {@code experts.<e>.c_fc.weight} [H, C] and {@code c_proj.weight} [C, H]. */
    public MixtureOfExperts(FeedForward.Spec spec, MoeSettings settings) {
        this(spec, settings, 0, settings.experts(), null);
    }

    /**
     * A layer holding experts [first, first + held) only (their parameters are the only expert ones
     * taken from the source); {@code dispatch} computes and combines the kept assignments instead of
     * this layer. With every expert held and no dispatch, the ordinary layer.
     */
    public MixtureOfExperts(FeedForward.Spec spec, MoeSettings settings, int first, int held, Dispatch dispatch) {
        validate(settings);
        if (first < 0 || held < 1 || first + held > settings.experts()) {
            throw new IllegalArgumentException("a mixture of experts holds experts [" + first + ", " + (first + held)
                    + ") of its " + settings.experts() + ": not a range of them");
        }
        if (dispatch == null && held != settings.experts()) {
            throw new IllegalArgumentException("a mixture of experts holding " + held + " of its " + settings.experts()
                    + " experts needs a dispatch for the others");
        }
        this.settings = settings;
        this.layer = spec.layer();
        this.residDropout = spec.residDropout();
        this.first = first;
        this.dispatch = dispatch;
        int c = spec.hiddenSize(), h = settings.width(c);
        ParameterSource source = spec.source();
        this.gate = source.take(spec.prefix() + "gate.weight", new int[] {settings.experts(), c}, ParameterSource.Init.NORMAL, true);
        for (int e = first; e < first + held; e++) {
            String p = spec.prefix() + "experts." + e + ".";
            fc.add(source.take(p + "c_fc.weight", new int[] {h, c}, ParameterSource.Init.NORMAL, true));
            proj.add(source.take(p + "c_proj.weight", new int[] {c, h}, ParameterSource.Init.NORMAL, true));
        }
    }

    @Override
    public Var forward(Pass pass, Var x) {
        Tape tape = pass.tape();
        int n = x.value().dim(0), e = settings.experts(), k = settings.topK();
        if (n == 0) {
            throw new IllegalArgumentException("a mixture of experts needs at least one token, got " + x.value());
        }
        Var logits = tape.linear(x, gate.var(), null);                                      // [N, E], F32
        Var probs = tape.softmax(logits);                                                   // [N, E], F32
        ExpertRouting routing = ExpertRouting.route(hostValues(tape.backend(), probs.value()), n, settings,
                pass.training(), pass.seed(), layer);

        Var flatProbs = tape.reshape(probs, n * e, 1);                                      // [N·E, 1]
        int[] picked = new int[n * k];
        for (int i = 0; i < picked.length; i++) picked[i] = (i / k) * e + routing.choices()[i];
        Var top = tape.reshape(tape.gatherRows(flatProbs, tape.uploadInts(picked, n * k)), n, k); // [N, k]
        Var gates = k == 2 ? tape.normalizeRows(top, ExpertRouting.EPSILON) : top;          // [N, k]

        Var flatGates = tape.reshape(gates, n * k, 1);                                      // [N·k, 1]
        Var y = dispatch != null ? dispatch.combine(pass, this, x, routing.rows(), routing.weightSlots(), flatGates)
                : withUnusedExperts(tape, combine(pass, x, routing, flatGates), routing);  // [N, C]
        Var aux = tape.reshape(tape.matmul(tape.reshape(probs, 1, n * e), false,
                Var.constant(tape.uploadFloats(routing.auxWeights(), n * e, 1)), false), 1);   // [1]
        pass.auxiliary().addLoss(aux);
        pass.auxiliary().addRouting(new RoutingStats(layer, routing.keptPerExpert(), routing.assignments(),
                routing.dropped(), routing.auxLoss()));
        return pass.dropout(y, residDropout, 4 * layer + 3);                                // [N, C]
    }

    /** Σ over kept assignments of gate weight × expert output, scattered back to the tokens' rows. */
    private Var combine(Pass pass, Var x, ExpertRouting routing, Var flatGates) {
        Tape tape = pass.tape();
        int n = x.value().dim(0), kept = routing.keptAssignments();
        if (kept == 0) {
            return Var.constant(tape.allocate(n, x.value().dim(1)));                        // everything dropped
        }
        List<Var> outputs = new ArrayList<>();
        int[] rows = new int[kept], slots = new int[kept];
        int at = 0;
        for (int e = 0; e < settings.experts(); e++) {
            int[] expertRows = routing.rows()[e];
            if (expertRows.length == 0) continue;
            Var xe = tape.gatherRows(x, tape.uploadInts(expertRows, expertRows.length));   // [M_e, C]
            outputs.add(expert(pass, e, xe));                                               // [M_e, C]
            System.arraycopy(expertRows, 0, rows, at, expertRows.length);
            System.arraycopy(routing.weightSlots()[e], 0, slots, at, expertRows.length);
            at += expertRows.length;
        }
        Var weights = tape.reshape(tape.gatherRows(flatGates, tape.uploadInts(slots, kept)), kept); // [A]
        return tape.scatterAddRows(tape.concatRows(outputs), weights, tape.uploadInts(rows, kept), n);
    }

    /** y itself, with a zero gradient for the weights of every expert that got no row this pass. */
    private Var withUnusedExperts(Tape tape, Var y, ExpertRouting routing) {
        List<Var> inputs = new ArrayList<>(List.of(y));
        for (int e = 0; e < settings.experts(); e++) {
            if (routing.rows()[e].length == 0) {
                inputs.add(fc(e).var());
                inputs.add(proj(e).var());
            }
        }
        return inputs.size() == 1 ? y : tape.apply(new UnusedParameters(), inputs.toArray(Var[]::new));
    }

    /** Expert e (one this layer holds) on its rows xe [M_e, C]: act(xe·W_fcᵀ)·W_projᵀ → [M_e, C]. */
    public Var expert(Pass pass, int e, Var xe) {
        Tape tape = pass.tape();
        Var hidden = tape.linear(xe, fc(e).var(), null);                                    // [M_e, H]
        hidden = settings.activation().equals("relu") ? tape.relu(hidden) : tape.geluNew(hidden);
        return tape.linear(hidden, proj(e).var(), null);                                    // [M_e, C]
    }

    /** Expert e's c_fc.weight [H, C]; e must be held. */
    public Parameter fc(int e) {
        return fc.get(held(e));
    }

    /** Expert e's c_proj.weight [C, H]; e must be held. */
    public Parameter proj(int e) {
        return proj.get(held(e));
    }

    private int held(int e) {
        if (e < first || e >= first + fc.size()) {
            throw new IllegalArgumentException("expert " + e + " is not held here (experts [" + first + ", "
                    + (first + fc.size()) + "))");
        }
        return e - first;
    }

    /** The first expert this layer holds. */
    public int firstExpert() {
        return first;
    }

    /** How many experts this layer holds (all of them unless expert-parallel). */
    public int heldExperts() {
        return fc.size();
    }

    /** The gate probabilities on the host, for the routing decisions. */
    private static float[] hostValues(Backend backend, Tensor t) {
        try (Arena scratch = Arena.ofConfined()) {
            return backend.download(t, scratch).toFloatArray();
        }
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>(List.of(gate));
        for (int i = 0; i < fc.size(); i++) {
            all.add(fc.get(i));
            all.add(proj.get(i));
        }
        return all;
    }

    private static void validate(MoeSettings s) {
        if (s.experts() < 1) {
            throw new IllegalArgumentException("a mixture of experts needs at least one expert, got " + s.experts());
        }
        if (s.topK() != 1 && s.topK() != 2) {
            throw new IllegalArgumentException("moe_top_k must be 1 or 2, got " + s.topK());
        }
        if (s.topK() > s.experts()) {
            throw new IllegalArgumentException("moe_top_k " + s.topK() + " exceeds moe_num_experts " + s.experts());
        }
        if (!ACTIVATIONS.contains(s.activation())) {
            throw new IllegalArgumentException("moe_activation '" + s.activation() + "' is not one of relu, gelu_new");
        }
        if (s.secondPolicyEval() == SecondExpertPolicy.RANDOM) {
            throw new IllegalArgumentException("moe_second_policy_eval cannot be random: a training-only policy");
        }
        if (s.groupSize() < 1) {
            throw new IllegalArgumentException("moe_group_size must be ≥ 1, got " + s.groupSize());
        }
        if (!(s.capacityFactor() > 0) || !(s.evalCapacityFactor() > 0)) {
            throw new IllegalArgumentException("moe capacity factors must be > 0, got " + s.capacityFactor() + " and "
                    + s.evalCapacityFactor());
        }
        if (s.minCapacity() < 0) {
            throw new IllegalArgumentException("moe_min_capacity must be ≥ 0, got " + s.minCapacity());
        }
    }
}
