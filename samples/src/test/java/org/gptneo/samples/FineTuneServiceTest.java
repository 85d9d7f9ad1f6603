package org.gptneo.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gptneo.GptNeo;
import org.gptneo.generate.GenerationConfig;
import org.gptneo.generate.Generator;
import org.gptneo.generate.TokenListener;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs FineTuneService on its small random model, saved as a folder (so both instances map one read-only
 * file): the loss falls, the adapter folder is PEFT's, requests served during training see the base model
 * unchanged, and after the swap the prompt gets the greedy continuation of the base plus the saved adapter.
 */
class FineTuneServiceTest {
    private static final Pattern STEP = Pattern.compile("\\[train] {2}step (\\d+) {2}loss (\\S+)");
    private static final Pattern ANSWER = Pattern.compile("\\[(before|serve|after)] +(.*?) ->(.*)");

    @TempDir
    Path temp;

    @Test
    void trainsWhileServingThenSwapsTheAdapterIn() throws Exception {
        Path folder = temp.resolve("tiny"), adapterDir = temp.resolve("adapter");
        try (GptNeoModel tiny = FineTuneService.open(null)) {
            HfCheckpoint.save(tiny, folder);
        }
        String out = SamplesRunTest.stdoutOf(() -> FineTuneService.main(new String[] {folder.toString(), adapterDir.toString()}));
        List<String> lines = out.lines().toList();

        List<Integer> steps = new ArrayList<>();
        List<Float> losses = new ArrayList<>();
        for (String line : lines) {
            Matcher m = STEP.matcher(line);
            if (m.matches()) {
                steps.add(Integer.parseInt(m.group(1)));
                losses.add(Float.parseFloat(m.group(2)));
            }
        }
        assertThat(steps).containsExactly(5, 10, 15, 20, 25, 30, 35, 40);
        assertThat(losses.getLast()).as("last loss, after " + losses).isLessThan(losses.getFirst() - 0.2f);
        assertThat(lines).contains("[train]  adapter saved in " + adapterDir);
        assertThat(adapterDir.resolve("adapter_config.json")).isRegularFile();
        assertThat(adapterDir.resolve("adapter_model.safetensors")).isRegularFile();

        assertThat(lines.getFirst()).startsWith("[before] " + FineTuneService.PROMPT + " ->");
        assertThat(lines.getLast()).startsWith("[after]  " + FineTuneService.PROMPT + " ->");
        List<Matcher> served = lines.stream().map(ANSWER::matcher).filter(Matcher::matches).toList();
        assertThat(served).as("answers in " + lines).hasSizeGreaterThanOrEqualTo(3);   // before, at least one meanwhile, after
        try (GptNeoModel model = GptNeo.load(folder)) {
            Generator generator = new Generator(model, GptNeo.tokenizer(folder));
            for (Matcher m : served.subList(0, served.size() - 1)) {            // the base model's answers, training or not
                assertThat(m.group(3)).as(m.group()).isEqualTo(greedy(generator, m.group(2)));
            }
            String before = greedy(generator, FineTuneService.PROMPT);
            try (LoraAdapter adapter = AdapterCheckpoint.load(model, adapterDir)) {
                String after = greedy(generator, FineTuneService.PROMPT);
                assertThat(served.getLast().group(3)).isEqualTo(after).isNotEqualTo(before);
            }
        }
    }

    /** The sample's answer text: 16 greedy tokens with newlines shown as \n. */
    private static String greedy(Generator generator, String prompt) {
        return generator.generate(prompt, GenerationConfig.greedy(16), TokenListener.NONE).text().replace("\n", "\\n");
    }
}
