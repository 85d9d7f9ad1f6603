package org.gptneo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The heap-based merge equals a direct port of HF GPT2Tokenizer.bpe (merge every occurrence of the
 * lowest-ranked pair, left to right, then look again), also for merge lists where a merge uses a token
 * that a later merge makes, where simpler "one pair at a time" algorithms differ.
 */
class BpeMergesTest {

    /** HF's Python GPT2Tokenizer.bpe, over strings of single-byte symbols. */
    static List<String> reference(String word, Map<String, Integer> ranks) {
        List<String> symbols = new ArrayList<>();
        for (char c : word.toCharArray()) {
            symbols.add(String.valueOf(c));
        }
        while (symbols.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer r = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = symbols.get(i) + " " + symbols.get(i + 1);
                }
            }
            if (best == null) {
                break;
            }
            String first = best.substring(0, best.indexOf(' '));
            String second = best.substring(best.indexOf(' ') + 1);
            List<String> merged = new ArrayList<>();
            int i = 0;
            while (i < symbols.size()) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i += 2;
                } else {
                    merged.add(symbols.get(i));
                    i++;
                }
            }
            symbols = merged;
        }
        return symbols;
    }

    @Test
    void equalsHfsAlgorithmOnRandomMergeLists() {
        Random random = new Random(11);
        String alphabet = "abcd";
        for (int trial = 0; trial < 200; trial++) {
            // tokens: the bytes (id = byte value) plus random concatenations of existing tokens
            List<String> tokens = new ArrayList<>();
            Map<String, Integer> ids = new HashMap<>();
            for (int b = 0; b < 256; b++) {
                tokens.add(String.valueOf((char) b));
                ids.put(tokens.get(b), b);
            }
            List<String[]> merges = new ArrayList<>();
            java.util.Set<String> pairs = new java.util.HashSet<>();
            List<String> pool = new ArrayList<>();
            for (char c : alphabet.toCharArray()) {
                pool.add(String.valueOf(c));
            }
            int wanted = 5 + random.nextInt(40);
            for (int tries = 0; merges.size() < wanted && tries < 1000; tries++) {
                String x = pool.get(random.nextInt(pool.size()));
                String y = pool.get(random.nextInt(pool.size()));
                if (x.length() + y.length() > 8 || !pairs.add(x + " " + y)) {
                    continue;
                }
                merges.add(new String[] {x, y});
                if (!ids.containsKey(x + y)) {
                    ids.put(x + y, tokens.size());
                    tokens.add(x + y);
                    pool.add(x + y);
                }
            }
            // mostly in creation order, but with some merges moved before the merges that make their parts
            for (int k = 0; k < merges.size() / 4; k++) {
                int i = random.nextInt(merges.size());
                int j = random.nextInt(merges.size());
                String[] m = merges.get(i);
                merges.set(i, merges.get(j));
                merges.set(j, m);
            }
            Map<String, Integer> ranks = new HashMap<>();
            int n = merges.size();
            int[] left = new int[n];
            int[] right = new int[n];
            int[] result = new int[n];
            for (int r = 0; r < n; r++) {
                String[] m = merges.get(r);
                ranks.put(m[0] + " " + m[1], r);
                left[r] = ids.get(m[0]);
                right[r] = ids.get(m[1]);
                result[r] = ids.get(m[0] + m[1]);
            }
            int[] byteIds = new int[256];
            for (int b = 0; b < 256; b++) {
                byteIds[b] = b;
            }
            BpeMerges bpe = new BpeMerges(byteIds, left, right, result);
            for (int w = 0; w < 100; w++) {
                StringBuilder word = new StringBuilder();
                int len = 1 + random.nextInt(w < 90 ? 12 : 200);
                for (int i = 0; i < len; i++) {
                    word.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
                byte[] bytes = word.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
                List<Integer> expected = reference(word.toString(), ranks).stream().map(ids::get).toList();
                List<Integer> actual = java.util.Arrays.stream(bpe.merge(bytes, bytes.length)).boxed().toList();
                assertThat(actual).as("trial %d, word %s, merges %s", trial, word,
                        merges.stream().map(m -> m[0] + " " + m[1]).toList()).isEqualTo(expected);
            }
        }
    }

    @Test
    void longRunsMergeQuickly() {
        Gpt2Tokenizer t = Gpt2Tokenizer.builtIn();
        String spaces = " ".repeat(200_000) + "x";
        String letters = "ab".repeat(100_000);
        long start = System.nanoTime();
        int[] a = t.encodeOrdinary(spaces);
        int[] b = t.encodeOrdinary(letters);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(t.decode(a)).isEqualTo(spaces);
        assertThat(t.decode(b)).isEqualTo(letters);
        assertThat(millis).as("O(n log n) merging").isLessThan(5_000);
    }
}
