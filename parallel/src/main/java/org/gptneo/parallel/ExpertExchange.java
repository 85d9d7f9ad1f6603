package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One mixture-of-experts layer's token exchange in one pass, as the ranks of an expert-parallel group
 * agreed it. Every rank routed its own tokens; an all-gather of the kept assignments per expert gives
 * every rank {@code counts[s][e]} for all ranks s and experts e. Rank s sends rank j the rows of its
 * kept assignments of j's experts, expert by expert in slot order: Σ_{e of j} counts[s][e] rows.
 * The communicator's all-to-all moves equal blocks, so every (sender, receiver) block is padded to
 * the largest one, M rows (at least 1): a buffer [ep·M, C] holds block j at rows [j·M, j·M + sent).
 * The same layout carries the experts' outputs back, and both exchanges' gradients in the backward pass.
 */
final class ExpertExchange {
    private final ExpertParallelLayout layout;
    private final int[][] counts;       // [ep][E]: rank s's kept assignments of expert e
    private final int block;            // M
    private final int[][] sendRows;     // per destination rank: the rows of x sent there, in order
    private final int[][] sendSlots;    // per destination rank: the gate slot n·k + j of each row sent

    private ExpertExchange(ExpertParallelLayout layout, int[][] counts, int[][] rows, int[][] weightSlots) {
        this.layout = layout;
        this.counts = counts;
        int ranks = layout.ranks(), held = layout.held(), largest = 1;
        this.sendRows = new int[ranks][];
        this.sendSlots = new int[ranks][];
        for (int j = 0; j < ranks; j++) {
            int[] experts = new int[held];
            for (int i = 0; i < held; i++) experts[i] = j * held + i;
            sendRows[j] = concat(rows, experts);
            sendSlots[j] = concat(weightSlots, experts);
            for (int s = 0; s < ranks; s++) {
                int pair = 0;
                for (int e : experts) pair += counts[s][e];
                largest = Math.max(largest, pair);
            }
        }
        this.block = largest;
    }

    /**
     * The exchange of this rank's kept assignments (per expert, all E: its rows of x and gate slots,
     * as the routing lists them): one all-gather of E ints per rank over {@code ep}, every rank together.
     */
    static ExpertExchange agree(Collectives ep, ExpertParallelLayout layout, int[][] rows, int[][] weightSlots) {
        int experts = layout.experts(), ranks = layout.ranks();
        int[] mine = new int[experts];
        for (int e = 0; e < experts; e++) mine[e] = rows[e].length;
        int[][] counts = new int[ranks][];
        try (Arena arena = Arena.ofShared()) {
            Tensor all = Tensor.allocate(arena, DType.I32, ranks * experts);
            ep.allGather(Tensor.ofInts(arena, mine, experts), all);
            int[] flat = all.toIntArray();
            for (int s = 0; s < ranks; s++) counts[s] = Arrays.copyOfRange(flat, s * experts, (s + 1) * experts);
        }
        return new ExpertExchange(layout, counts, rows, weightSlots);
    }

    int ranks() {
        return layout.ranks();
    }

    /** M: rows per block of the padded buffers [ep·M, C]. */
    int block() {
        return block;
    }

    /** The rows of x this rank sends to rank j, in the order they go. */
    int[] sendRows(int j) {
        return sendRows[j];
    }

    /** The gate slot (n·k + choice) of each row this rank sends to rank j. */
    int[] sendSlots(int j) {
        return sendSlots[j];
    }

    /** How many rows rank s sends this rank for expert e (one this rank holds). */
    int received(int s, int e) {
        return counts[s][e];
    }

    /** The first row of a receive buffer [ep·M, C] that holds expert e's rows from rank s. */
    int receiveOffset(int s, int e) {
        int at = s * block;
        for (int other = layout.first(); other < e; other++) at += counts[s][other];
        return at;
    }

    /** The rows of a receive buffer [ep·M, C] holding expert e's rows, rank 0's first, each rank's in slot order. */
    int[] receiveIndex(int e) {
        int total = 0;
        for (int s = 0; s < ranks(); s++) total += counts[s][e];
        int[] index = new int[total];
        int at = 0;
        for (int s = 0; s < ranks(); s++) {
            int from = receiveOffset(s, e);
            for (int i = 0; i < counts[s][e]; i++) index[at++] = from + i;
        }
        return index;
    }

    private static int[] concat(int[][] perExpert, int[] experts) {
        return Arrays.stream(experts).flatMap(e -> Arrays.stream(perExpert[e])).toArray();
    }
}
