package org.gptneo.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Single-thread encoding throughput in MB/s of UTF-8 input, after a warm-up (not a unit test). From the
 * repository root, after building the test classes:
 *
 * <pre>{@code
 * ./build test -pl layers -Dtest=Gpt2TokenizerTest -Dsurefire.failIfNoSpecifiedTests=false
 * . tools/java-env.sh && mvn -q -pl layers dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt \
 *     -Dmdep.includeScope=test
 * "$JAVA_HOME/bin/java" -cp layers/target/classes:layers/target/test-classes:$(cat /tmp/cp.txt) \
 *     org.gptneo.tokenizer.Gpt2TokenizerBenchmark
 * }</pre>
 */
public final class Gpt2TokenizerBenchmark {
    private Gpt2TokenizerBenchmark() {}

    public static void main(String[] args) {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();
        Encoding r50k = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        List<String> english = TestCorpus.englishAndCode();
        List<String> mixed = TestCorpus.lines();
        System.out.println("Gpt2Tokenizer encodeOrdinary, one thread, MB/s of UTF-8 input:");
        run("English prose + code, per line ", english, tokenizer::encodeOrdinary);
        run("English prose + code, one string", List.of(String.join("\n", english)), tokenizer::encodeOrdinary);
        run("test corpus (all scripts), per line", mixed, tokenizer::encodeOrdinary);
        run("unique random words (nearly every word a cache miss)", randomWords(), tokenizer::encodeOrdinary);
        run("for comparison, JTokkit r50k_base, English + code", english, s -> r50k.encodeOrdinary(s).size());
        run("for comparison, JTokkit r50k_base, test corpus", mixed, s -> r50k.encodeOrdinary(s).size());
    }

    /** 20,000 lines of random lower-case words, 3 to 12 letters: mostly never seen before. */
    private static List<String> randomWords() {
        java.util.Random random = new java.util.Random(3);
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            StringBuilder line = new StringBuilder();
            for (int w = 0; w < 12; w++) {
                line.append(' ');
                int n = 3 + random.nextInt(10);
                for (int k = 0; k < n; k++) {
                    line.append((char) ('a' + random.nextInt(26)));
                }
            }
            lines.add(line.toString());
        }
        return lines;
    }

    private static void run(String name, List<String> lines, java.util.function.Function<String, ?> encode) {
        long bytes = 0;
        for (String line : lines) {
            bytes += line.getBytes(StandardCharsets.UTF_8).length;
        }
        ToIntFunction<String> f = s -> encode.apply(s).hashCode();
        long sink = 0;
        long warmUpEnd = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < warmUpEnd) {
            for (String line : lines) {
                sink += f.applyAsInt(line);
            }
        }
        double best = 0;
        for (int round = 0; round < 5; round++) {
            long start = System.nanoTime();
            long done = 0;
            int passes = 0;
            while (System.nanoTime() - start < 1_000_000_000L) {
                for (String line : lines) {
                    sink += f.applyAsInt(line);
                }
                done += bytes;
                passes++;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            best = Math.max(best, done / seconds / 1e6);
            if (passes == 0) {
                break;
            }
        }
        System.out.printf("  %-52s %8.1f MB/s  (%.2f MB input)%s%n", name, best, bytes / 1e6, sink == 42 ? " " : "");
    }
}
