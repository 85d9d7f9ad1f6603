package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.nn.MixtureOfExperts;
import org.gptneo.nn.Pass;

/**
 * A mixture-of-experts layer's combine under expert parallelism: this rank's kept assignments go to
 * the ranks that hold their experts ({@link DispatchToExperts}), each rank runs its experts on the
 * rows it received, the outputs come back to their gate slots ({@link ReturnFromExperts}), and
 * y [N, C] = Σ_slots gate weight × output at the slot's token, by the same scatter-add as one device
 * (a slot whose assignment was not kept holds zeros and adds nothing). Per layer and pass: one
 * all-gather of E ints, two all-to-alls of [ep·M, C] forward and two backward; every rank of the
 * group takes part in all of them, also one that kept no assignment.
 */
record ExpertParallelDispatch(ExpertParallelLayout layout, Collectives ep) implements MixtureOfExperts.Dispatch {

    @Override
    public Var combine(Pass pass, MixtureOfExperts layer, Var x, int[][] rows, int[][] weightSlots, Var flatGates) {
        Tape tape = pass.tape();
        int n = x.value().dim(0), slots = flatGates.value().dim(0), k = slots / n;
        ExpertExchange exchange = ExpertExchange.agree(ep, layout, rows, weightSlots);
        Var received = tape.apply(new DispatchToExperts(exchange, ep), x);                  // [ep·M, C]
        List<Var> inputs = new ArrayList<>(List.of(received));
        for (int e = layout.first(); e < layout.first() + layout.held(); e++) {
            inputs.add(layer.fc(e).var());
            inputs.add(layer.proj(e).var());
        }
        int carriers = inputs.size();
        List<Integer> computed = new ArrayList<>();
        for (int e = layout.first(); e < layout.first() + layout.held(); e++) {
            int[] index = exchange.receiveIndex(e);
            if (index.length == 0) continue;
            Var xe = tape.gatherRows(received, tape.uploadInts(index, index.length));       // [R_e, C]
            inputs.add(layer.expert(pass, e, xe));                                         // [R_e, C]
            computed.add(e);
        }
        Var outputs = tape.apply(new ReturnFromExperts(exchange, ep, carriers, List.copyOf(computed), slots),
                inputs.toArray(Var[]::new));                                                // [N·k, C]
        int[] tokenOfSlot = new int[slots];
        for (int s = 0; s < slots; s++) tokenOfSlot[s] = s / k;
        return tape.scatterAddRows(outputs, tape.reshape(flatGates, slots), tape.uploadInts(tokenOfSlot, slots), n);
    }
}
