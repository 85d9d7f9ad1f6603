package org.gptneo.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPT-2 vocabulary and merges, derived from tiktoken's r50k_base ranks that JTokkit bundles.
 *
 * <p>r50k_base lists 50,256 byte strings with their ranks; the rank is the GPT-2 token id, and ids
 * 0..255 are the single bytes in the byte-to-unicode table's order. GPT-2's merges are not listed but
 * follow from the ranks: token {@code t} (rank ≥ 256) is made by merge {@code t - 256}, whose two parts
 * are what byte-pair merging of {@code t}'s bytes reaches using only ranks below {@code t} (it must end
 * in exactly two parts). {@code <|endoftext|>} is id 50,256.
 */
final class R50kBase {
    static final String RESOURCE = "com/knuddels/jtokkit/r50k_base.tiktoken";
    static final int ORDINARY_TOKENS = 50_256;

    private R50kBase() {}

    /** The token bytes by rank, read from JTokkit's jar (on the class path or the module path). */
    static byte[][] ranks() {
        // JTokkit is an automatic module on the module path, and automatic modules open all their
        // packages, so its Module can hand out the resource; on the class path the Module is unnamed
        // and this reads through JTokkit's class loader.
        try (InputStream in = Encodings.class.getModule().getResourceAsStream(RESOURCE)) {
            if (in != null) {
                return parse(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read JTokkit's " + RESOURCE, e);
        }
        return ranksThroughApi();
    }

    /** The token bytes by rank, asked of JTokkit's public API one token at a time. */
    static byte[][] ranksThroughApi() {
        Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        byte[][] out = new byte[ORDINARY_TOKENS][];
        IntArrayList one = new IntArrayList(1);
        one.add(0);
        for (int id = 0; id < ORDINARY_TOKENS; id++) {
            one.set(0, id);
            out[id] = encoding.decodeBytes(one);
        }
        return out;
    }

    private static byte[][] parse(InputStream in) throws IOException {
        List<byte[]> out = new ArrayList<>(ORDINARY_TOKENS);
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
        Base64.Decoder base64 = Base64.getDecoder();
        for (String line; (line = reader.readLine()) != null; ) {
            if (line.isEmpty()) {
                continue;
            }
            int space = line.indexOf(' ');
            if (space < 0 || !line.substring(space + 1).trim().equals(Integer.toString(out.size()))) {
                throw new IllegalStateException(RESOURCE + ": line " + (out.size() + 1) + " is not rank " + out.size());
            }
            out.add(base64.decode(line.substring(0, space)));
        }
        return out.toArray(new byte[0][]);
    }

    /** Builds the GPT-2 tokenizer from the ranks. */
    static Gpt2Tokenizer derive() {
        byte[][] ranks = ranks();
        if (ranks.length != ORDINARY_TOKENS) {
            throw new IllegalStateException("r50k_base has " + ranks.length + " tokens, expected " + ORDINARY_TOKENS);
        }
        Map<String, Integer> rankOf = new HashMap<>(ranks.length * 2);
        for (int r = 0; r < ranks.length; r++) {
            rankOf.put(new String(ranks[r], StandardCharsets.ISO_8859_1), r);
        }
        String[] tokens = new String[ORDINARY_TOKENS + 1];
        for (int r = 0; r < ranks.length; r++) {
            if (r < 256 && (ranks[r].length != 1 || (ranks[r][0] & 0xff) != ByteLevel.byteOfId(r))) {
                throw new IllegalStateException("r50k_base rank " + r + " is not byte " + ByteLevel.byteOfId(r));
            }
            tokens[r] = ByteLevel.toTokenString(ranks[r]);
        }
        tokens[ORDINARY_TOKENS] = Gpt2Tokenizer.END_OF_TEXT;
        int merges = ranks.length - 256;
        int[] left = new int[merges];
        int[] right = new int[merges];
        int[] result = new int[merges];
        for (int r = 256; r < ranks.length; r++) {
            int[] parts = split(ranks[r], r, rankOf);
            left[r - 256] = parts[0];
            right[r - 256] = parts[1];
            result[r - 256] = r;
        }
        return Gpt2Tokenizer.create(tokens, left, right, result);
    }

    /** The two parts that byte-pair merging of {@code bytes} reaches with ranks below {@code maxRank}. */
    private static int[] split(byte[] bytes, int maxRank, Map<String, Integer> rankOf) {
        String s = new String(bytes, StandardCharsets.ISO_8859_1);
        // part k is s[start[k] .. start[k+1])
        int[] start = new int[s.length() + 1];
        for (int i = 0; i <= s.length(); i++) {
            start[i] = i;
        }
        int parts = s.length();
        while (parts > 2) {
            int best = -1;
            int bestRank = maxRank;
            for (int k = 0; k + 1 < parts; k++) {
                Integer r = rankOf.get(s.substring(start[k], start[k + 2]));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = k;
                }
            }
            if (best < 0) {
                throw new IllegalStateException("r50k_base rank " + maxRank + " is not a merge of two lower ranks");
            }
            System.arraycopy(start, best + 2, start, best + 1, parts - best - 1);
            parts--;
        }
        if (parts != 2) {
            throw new IllegalStateException("r50k_base rank " + maxRank + " is a single byte");
        }
        Integer a = rankOf.get(s.substring(0, start[1]));
        Integer b = rankOf.get(s.substring(start[1]));
        if (a == null || b == null || a >= maxRank || b >= maxRank) {
            throw new IllegalStateException("r50k_base rank " + maxRank + " is not a merge of two lower ranks");
        }
        return new int[] {a, b};
    }
}
