package org.gptneo.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.xml.sax.InputSource;

/**
 * Keeps README.md's code true. The convention: every {@code ```java} block is preceded (blank lines
 * aside) by {@code <!-- samples/src/main/java/.../X.java -->} and equals that file without its
 * {@code package} line and the blank line after it, so each block is a complete program that compiles
 * here. The consumer pom.xml block must name this project's version, plugin versions and release, and add
 * the Vector API module to the JVMs it starts.
 */
class ReadmeExamplesTest {
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();   // tests run in samples/
    private static final Pattern SOURCE_MARKER = Pattern.compile("<!--\\s*(samples/src/main/java/\\S+\\.java)\\s*-->");
    private static final Path SAMPLES = Path.of("samples/src/main/java/org/gptneo/samples");

    /** A fenced block of README.md: its language, first content line (1-based) and lines. */
    record Block(String language, int firstLine, String marker, List<String> lines) {}

    static List<Block> blocks() throws IOException {
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        List<Block> blocks = new ArrayList<>();
        String marker = null;
        for (int i = 0; i < readme.size(); i++) {
            String line = readme.get(i);
            if (line.startsWith("```")) {                       // a fence opens a block, with or without a language
                int start = i + 1;
                int end = start;
                while (end < readme.size() && !readme.get(end).startsWith("```")) end++;
                if (end == readme.size()) fail("README.md line " + (i + 1) + ": the " + line + " block is never closed");
                blocks.add(new Block(line.substring(3).trim(), start + 1, marker, readme.subList(start, end)));
                i = end;
                marker = null;
            } else if (!line.isBlank()) {
                Matcher m = SOURCE_MARKER.matcher(line.trim());
                marker = m.matches() ? m.group(1) : null;
            }
        }
        return blocks;
    }

    /** How many leading lines of a sample source the README leaves out: up to its package line and a blank line after it. */
    static int hiddenLines(List<String> source) {
        int pkg = 0;
        while (pkg < source.size() && !source.get(pkg).startsWith("package ")) pkg++;
        if (pkg == source.size()) return 0;
        return pkg + 1 < source.size() && source.get(pkg + 1).isBlank() ? pkg + 2 : pkg + 1;
    }

    @Test
    void everyJavaBlockIsItsSampleSource() throws IOException {
        List<Block> java = blocks().stream().filter(b -> b.language().equals("java")).toList();
        assertThat(java).as("```java blocks in README.md").isNotEmpty();
        for (Block block : java) {
            if (block.marker() == null) {
                fail("README.md line " + (block.firstLine() - 1) + ": a ```java block needs a comment naming its source"
                        + " on the line before, e.g. <!-- " + SAMPLES.resolve("TrainTinyModel.java") + " -->");
            }
            Path source = ROOT.resolve(block.marker());
            assertThat(source).as("the source README.md names before line " + (block.firstLine() - 1)).isRegularFile();
            List<String> lines = Files.readAllLines(source);
            int hidden = hiddenLines(lines);
            assertSameLines(lines.subList(hidden, lines.size()), hidden, block);
        }
    }

    @Test
    void everySampleIsShownInTheReadme() throws IOException {
        List<String> shown = blocks().stream().map(Block::marker).toList();
        try (var files = Files.list(ROOT.resolve(SAMPLES))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                assertThat(shown).as("README.md blocks marked with their source").contains(ROOT.relativize(file).toString());
            }
        }
    }

    private static void assertSameLines(List<String> expected, int hidden, Block block) {
        int n = Math.min(expected.size(), block.lines().size());
        for (int i = 0; i < n; i++) {
            if (!expected.get(i).equals(block.lines().get(i))) {
                fail(String.format("README.md line %d differs from %s line %d (the file minus its package line):%n"
                                + "  README: %s%n  source: %s%nCopy the source (from its imports on) into the README block.",
                        block.firstLine() + i, block.marker(), hidden + i + 1, block.lines().get(i), expected.get(i)));
            }
        }
        if (expected.size() != block.lines().size()) {
            fail(String.format("README.md's block at line %d has %d lines but %s has %d (minus its package line);"
                            + " the first one missing on one side: %s",
                    block.firstLine(), block.lines().size(), block.marker(), expected.size(),
                    expected.size() > n ? "source: " + expected.get(n) : "README: " + block.lines().get(n)));
        }
    }

    @Test
    void consumerPomMatchesThisBuild() throws Exception {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        String snippet = blocks().stream()
                .filter(b -> b.language().equals("xml") && b.lines().stream().anyMatch(l -> l.trim().equals("<artifactId>gptneo-api</artifactId>")))
                .map(b -> String.join("\n", b.lines()))
                .findFirst().orElseThrow(() -> new AssertionError("README.md has no ```xml block with the gptneo-api dependency"));
        DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(snippet)));

        assertThat(after(snippet, "<artifactId>gptneo-api</artifactId>", "version"))
                .as("the README's gptneo-api version").isEqualTo(after(parent, "<artifactId>gptneo-parent</artifactId>", "version"));
        assertThat(after(snippet, "<artifactId>maven-compiler-plugin</artifactId>", "version"))
                .as("the README's maven-compiler-plugin version").isEqualTo(after(parent, "<artifactId>maven-compiler-plugin</artifactId>", "version"));
        assertThat(after(snippet, "", "release"))
                .as("the README's compiler release").isEqualTo(after(parent, "", "maven.compiler.release"));
        assertThat(after(snippet, "<artifactId>maven-surefire-plugin</artifactId>", "version"))
                .as("the README's maven-surefire-plugin version").isEqualTo(after(parent, "<artifactId>maven-surefire-plugin</artifactId>", "version"));
        assertThat(after(snippet, "<artifactId>maven-surefire-plugin</artifactId>", "argLine"))
                .as("the README's test JVMs").isEqualTo("--add-modules jdk.incubator.vector --add-opens=java.base/java.nio=ALL-UNNAMED");
        assertThat(after(snippet, "<artifactId>exec-maven-plugin</artifactId>", "commandlineArgs"))
                .as("the README's exec:exec JVM").startsWith("--add-modules jdk.incubator.vector --add-opens=java.base/java.nio=ALL-UNNAMED ");
    }

    /** The text of the first {@code <element>} after {@code anchor} in {@code xml}. */
    private static String after(String xml, String anchor, String element) {
        int from = xml.indexOf(anchor);
        assertThat(from).as("'" + anchor + "' in the pom").isNotNegative();
        Matcher m = Pattern.compile("<" + Pattern.quote(element) + ">([^<]*)</" + Pattern.quote(element) + ">").matcher(xml);
        assertThat(m.find(from)).as("<" + element + "> after '" + anchor + "'").isTrue();
        return m.group(1).trim();
    }
}
