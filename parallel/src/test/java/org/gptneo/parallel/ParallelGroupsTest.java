package org.gptneo.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which global ranks share a group under GPT-NeoX's layout rank = tp + T·(ep + E·(dp + D·pp)): each rank
 * reports, for its four groups, the global ranks of the members in group order (an all-gather of the
 * global rank over each group).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ParallelGroupsTest {
    /** For one rank: the global ranks of its data-, tensor-, pipeline- and expert-parallel groups, in each group's rank order. */
    private record Members(List<Integer> data, List<Integer> tensor, List<Integer> pipeline, List<Integer> expert) {}

    private static List<Members> members(ParallelLayout layout) {
        return RankThreads.run(InProcessCommunicator.group(layout.worldSize()), world -> {
            try (ParallelGroups groups = ParallelGroups.split(world, layout)) {
                assertThat(groups.globalRank()).isEqualTo(world.rank());
                return new Members(globalRanks(groups.data(), world.rank()), globalRanks(groups.tensor(), world.rank()),
                        globalRanks(groups.pipeline(), world.rank()), globalRanks(groups.expert(), world.rank()));
            }
        });
    }

    private static List<Integer> globalRanks(Communicator group, int globalRank) {
        float[] all = new float[group.size()];
        all[group.rank()] = globalRank;
        float[] summed = new Collectives(group, null).allReduce(all, ReduceOp.SUM);
        return IntStream.range(0, summed.length).mapToObj(i -> (int) summed[i]).toList();
    }

    @Test
    void dp2Tp2Pp2PutsTensorRanksNextToEachOtherThenDataThenPipeline() {
        List<Members> ranks = members(new ParallelLayout(2, 2, 2, 1));
        // rank = tp + 2·(dp + 2·pp)
        assertThat(ranks.get(0)).isEqualTo(new Members(List.of(0, 2), List.of(0, 1), List.of(0, 4), List.of(0)));
        assertThat(ranks.get(1)).isEqualTo(new Members(List.of(1, 3), List.of(0, 1), List.of(1, 5), List.of(1)));
        assertThat(ranks.get(2)).isEqualTo(new Members(List.of(0, 2), List.of(2, 3), List.of(2, 6), List.of(2)));
        assertThat(ranks.get(3)).isEqualTo(new Members(List.of(1, 3), List.of(2, 3), List.of(3, 7), List.of(3)));
        assertThat(ranks.get(4)).isEqualTo(new Members(List.of(4, 6), List.of(4, 5), List.of(0, 4), List.of(4)));
        assertThat(ranks.get(7)).isEqualTo(new Members(List.of(5, 7), List.of(6, 7), List.of(3, 7), List.of(7)));
    }

    @Test
    void oneDimensionAloneIsTheWholeWorldInOrder() {
        List<Members> dp = members(new ParallelLayout(3, 1, 1, 1));
        assertThat(dp).allSatisfy(m -> assertThat(m.data()).containsExactly(0, 1, 2));
        assertThat(dp.get(1).tensor()).containsExactly(1);
        List<Members> pp = members(new ParallelLayout(2, 1, 2, 1));   // rank = dp + 2·pp
        assertThat(pp.get(1)).isEqualTo(new Members(List.of(0, 1), List.of(1), List.of(1, 3), List.of(1)));
        List<Members> tp = members(new ParallelLayout(2, 3, 1, 1));   // rank = tp + 3·dp
        assertThat(tp.get(4)).isEqualTo(new Members(List.of(1, 4), List.of(3, 4, 5), List.of(4), List.of(4)));
    }

    @Test
    void expertParallelRanksSitBetweenTensorAndDataParallelRanks() {
        // dp=2, ep=2: rank = e + 2·d; expert-parallel groups {0, 1} and {2, 3}, the ranks holding the same experts {0, 2} and {1, 3}
        List<Members> dpEp = members(new ParallelLayout(2, 1, 1, 2));
        assertThat(dpEp.stream().map(Members::expert).toList())
                .containsExactly(List.of(0, 1), List.of(0, 1), List.of(2, 3), List.of(2, 3));
        assertThat(dpEp.stream().map(Members::data).toList())
                .containsExactly(List.of(0, 2), List.of(1, 3), List.of(0, 2), List.of(1, 3));
        assertThat(dpEp).allSatisfy(m -> assertThat(m.tensor()).hasSize(1));
        assertThat(dpEp.get(3).pipeline()).containsExactly(3);
        List<Members> ep = members(new ParallelLayout(1, 1, 1, 3));   // ep alone: the whole world
        assertThat(ep).allSatisfy(m -> assertThat(m.expert()).containsExactly(0, 1, 2));
        assertThat(ep.get(2).data()).containsExactly(2);
        List<Members> tpEpDp = members(new ParallelLayout(2, 2, 1, 2));   // rank = tp + 2·(ep + 2·dp)
        assertThat(tpEpDp.get(5)).isEqualTo(new Members(List.of(1, 5), List.of(4, 5), List.of(5), List.of(5, 7)));
        List<Members> plain = members(new ParallelLayout(2, 1, 1, 1));   // no expert parallelism: groups of one
        assertThat(plain).allSatisfy(m -> assertThat(m.expert()).hasSize(1));
    }

    @Test
    void theLayoutMustMatchTheWorld() {
        List<RankThreads.Outcome<Object>> outcomes = RankThreads.outcomes(InProcessCommunicator.group(2), world -> {
            ParallelGroups.split(world, new ParallelLayout(2, 2, 1, 1)).close();
            return null;
        });
        assertThat(outcomes.getFirst().failure()).hasMessage("--parallel dp=2,tp=2,pp=1,ep=1 needs 4 ranks, but the launcher started 2");
    }
}
