package org.gptneo.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A layer holding a share of its experts (expert parallelism): which parameters it takes, and the one-line refusals. */
class MixtureOfExpertsShareTest {
    private static final MoeSettings SETTINGS = MoeFixture.settings(4, 2, "relu", 1.25f, 2f, 1024,
            SecondExpertPolicy.ALL, SecondExpertPolicy.ALL);
    private static final FeedForward.Spec SPEC = new FeedForward.Spec(1, "transformer.h.1.mlp.", 8, 32, 0f,
            (name, shape, init, half) -> Parameter.shapeOnly(name, shape));
    private static final MixtureOfExperts.Dispatch ELSEWHERE = (pass, layer, x, rows, slots, gates) -> x;

    @Test
    void aShareTakesTheGateAndItsExpertsOnly() {
        MixtureOfExperts share = new MixtureOfExperts(SPEC, SETTINGS, 2, 2, ELSEWHERE);
        assertThat(share.parameters()).extracting(Parameter::name).containsExactly("transformer.h.1.mlp.gate.weight",
                "transformer.h.1.mlp.experts.2.c_fc.weight", "transformer.h.1.mlp.experts.2.c_proj.weight",
                "transformer.h.1.mlp.experts.3.c_fc.weight", "transformer.h.1.mlp.experts.3.c_proj.weight");
        assertThat(share.firstExpert()).isEqualTo(2);
        assertThat(share.heldExperts()).isEqualTo(2);
        assertThat(share.fc(3).name()).isEqualTo("transformer.h.1.mlp.experts.3.c_fc.weight");
        assertThat(share.proj(2).shape()).containsExactly(8, 32);
        assertThatThrownBy(() -> share.fc(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expert 1 is not held here (experts [2, 4))");
    }

    @Test
    void aShareOutsideTheExpertsOrWithoutADispatchIsRefused() {
        assertThatThrownBy(() -> new MixtureOfExperts(SPEC, SETTINGS, 3, 2, ELSEWHERE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a mixture of experts holds experts [3, 5) of its 4: not a range of them");
        assertThatThrownBy(() -> new MixtureOfExperts(SPEC, SETTINGS, 0, 2, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a mixture of experts holding 2 of its 4 experts needs a dispatch for the others");
    }
}
