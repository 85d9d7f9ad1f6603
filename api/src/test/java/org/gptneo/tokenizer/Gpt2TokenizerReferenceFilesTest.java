package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The vocabulary and merges derived from r50k_base equal GPT-2's real vocab.json and merges.txt, when
 * shared/data/gpt2-tokenizer is next to the repository (a development machine); skipped otherwise. The
 * tokenizer itself never reads these files.
 */
class Gpt2TokenizerReferenceFilesTest {
    private static Path folder;

    @BeforeAll
    static void find() {
        // the tests run in layers/, so the repository root is ..; shared/ sits beside or inside it
        for (String candidate : new String[] {"../../shared/data/gpt2-tokenizer", "../shared/data/gpt2-tokenizer",
            "shared/data/gpt2-tokenizer"}) {
            Path p = Path.of(candidate).toAbsolutePath().normalize();
            if (Files.isRegularFile(p.resolve("vocab.json")) && Files.isRegularFile(p.resolve("merges.txt"))) {
                folder = p;
                return;
            }
        }
    }

    private static void assumeFiles() {
        Assumptions.assumeTrue(folder != null,
                "GPT-2's vocab.json/merges.txt not found at ../shared/data/gpt2-tokenizer or "
                        + "../../shared/data/gpt2-tokenizer (relative to " + Path.of("").toAbsolutePath()
                        + "): skipping the comparison with the real files");
    }

    @Test
    void derivedVocabularyEqualsVocabJson() throws IOException {
        assumeFiles();
        Gpt2Tokenizer t = Gpt2Tokenizer.builtIn();
        JsonNode vocab = new ObjectMapper().readTree(folder.resolve("vocab.json").toFile());
        assertThat(vocab.size()).isEqualTo(t.vocabSize()).isEqualTo(50257);
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : vocab.properties()) {
            int id = e.getValue().intValue();
            if (!e.getKey().equals(t.token(id)) || t.idOf(e.getKey()).orElse(-1) != id) {
                mismatches.add(e.getKey() + " = " + id);
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void derivedMergesEqualMergesTxtInOrder() throws IOException {
        assumeFiles();
        List<String> lines = Files.readAllLines(folder.resolve("merges.txt"), StandardCharsets.UTF_8);
        assertThat(lines.get(0)).startsWith("#version");
        List<String> merges = lines.subList(1, lines.size()).stream().filter(l -> !l.isEmpty()).toList();
        assertThat(merges).hasSize(50_000);
        assertThat(Gpt2Tokenizer.builtIn().merges()).isEqualTo(merges);
    }

    @Test
    void theRealFilesEncodeTheCorpusAsTheBuiltIn() {
        assumeFiles();
        Gpt2Tokenizer files = Gpt2Tokenizer.fromFolder(folder);
        Gpt2Tokenizer builtIn = Gpt2Tokenizer.builtIn();
        assertThat(files).isNotSameAs(builtIn);
        assertThat(files.vocabSize()).isEqualTo(50257);
        List<String> corpus = TestCorpus.lines();
        for (String line : corpus) {
            assertThat(files.encode(line)).isEqualTo(builtIn.encode(line));
        }
        String all = String.join("\n", corpus);
        assertThat(files.encodeOrdinary(all)).isEqualTo(builtIn.encodeOrdinary(all));
    }
}
