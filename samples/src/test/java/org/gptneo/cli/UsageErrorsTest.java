package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Usage errors: at most three lines (the error naming the option, a suggestion, where to read more), exit 2. */
class UsageErrorsTest {
    @Test
    void anUnknownFlagIsNamedWithPicocliSuggestionInsteadOfTheWholeUsage() {
        Cli r = Cli.run("generate", "--preset", "125M", "--ids", "1", "--max-tokens", "5");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly(
                "gptneo: Unknown option: '--max-tokens'",
                "did you mean --max-new-tokens?",
                "see gptneo generate --help");
    }

    @Test
    void anUnknownFlagWithAnAttachedValueIsNamedWithoutIt() {
        Cli r = Cli.run("logits", "--preset", "125M", "--ids", "1", "--out", "x.safetensors", "--gradz=1");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(
                "gptneo: Unknown option: '--gradz'",
                "did you mean --grads?",
                "see gptneo logits --help");
    }

    @Test
    void withoutASuggestionItIsTwoLines() {
        Cli r = Cli.run("info", "--preset", "125M", "--zz");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("gptneo: Unknown option: '--zz'", "see gptneo info --help");
    }

    @Test
    void anUnknownCommandIsNamed() {
        Cli r = Cli.run("frobnicate");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).hasSizeLessThanOrEqualTo(3)
                .startsWith("gptneo: Unknown command: 'frobnicate'").endsWith("see gptneo --help");
    }

    @Test
    void otherUsageErrorsAreShortToo() {
        for (String[] args : new String[][] {
            {"info", "--preset", "125M", "--config", "x.yaml"},
            {"generate", "--preset", "125M", "--ids", "1"},
            {"demo", "--steps", "0"},
            {"bench", "--preset", "125M", "--runs", "0"},
        }) {
            Cli r = Cli.run(args);
            assertThat(r.exitCode()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.errLines()).as(r.err()).hasSize(2).last().isEqualTo("see gptneo " + args[0] + " --help");
            assertThat(r.err()).doesNotContain("Usage:");
        }
    }
}
