package org.gptneo.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * GPT-2's byte-level BPE tokenizer (spec section 14), as used by GPT-Neo: identical to Hugging Face's
 * {@code GPT2Tokenizer} (and, for ordinary text, to tiktoken's r50k_base), with 50,257 tokens and
 * {@code <|endoftext|>} = 50,256 as bos/eos/unk, no BOS added and no prefix space.
 *
 * <p>{@link #builtIn()} needs no files: it derives the vocabulary and merges from the r50k_base ranks in
 * JTokkit's jar. {@link #fromFolder(Path)} reads a model folder's {@code tokenizer.json} or
 * {@code vocab.json} + {@code merges.txt}.
 *
 * <p>Instances are immutable and thread-safe. Encoding keeps a bounded per-instance cache of recently
 * seen pre-tokens: a direct-mapped table of immutable entries (racy but safe: entries have only final
 * fields, so a reader sees either an old entry, a new one complete, or none).
 */
public final class Gpt2Tokenizer {
    /** The end-of-text token's string, which HF's {@link #encode} turns into {@link #eosTokenId()}. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /**
     * The mask token of masked-LM models. {@link #withMaskToken()} registers it (as the next id after
     * the vocabulary when the tokenizer has none); {@link #encode} then splits it out of the text
     * before BPE, taking the whitespace before it along (as RoBERTa's mask token does: in
     * "The [MASK] sat" it stands for a whole word with its leading space), and it decodes to itself.
     */
    public static final String MASK = "[MASK]";
    /** GPT-2's vocabulary size. */
    public static final int GPT2_VOCAB_SIZE = 50_257;

    private static final int CACHE_SIZE = 1 << 16;
    private static final int MAX_CACHED_CHARS = 128;

    private final String source;
    private final String[] tokens;
    private final byte[][] tokenBytes;
    private final Map<String, Integer> ids;
    private final int[] byteIds;
    private final BpeMerges merges;
    private final AddedToken[] added;
    private final int eos;
    private final CacheEntry[] cache = new CacheEntry[CACHE_SIZE];

    /** A token split out of the text before pre-tokenisation by {@link #encode}. */
    record AddedToken(String content, int id, boolean lstrip, boolean rstrip) {}

    private record CacheEntry(int hash, String key, int[] ids) {}

    private Gpt2Tokenizer(String source, String[] tokens, int[] byteIds, BpeMerges merges, List<AddedToken> added) {
        this.source = source;
        this.tokens = tokens;
        this.byteIds = byteIds;
        this.merges = merges;
        this.added = added.toArray(new AddedToken[0]);
        this.ids = new HashMap<>(tokens.length * 2);
        this.tokenBytes = new byte[tokens.length][];
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                ids.put(tokens[id], id);
                tokenBytes[id] = ByteLevel.toBytes(tokens[id]);
            }
        }
        for (AddedToken t : added) {
            // an added token decodes to its own text, not through the byte table
            tokenBytes[t.id()] = t.content().getBytes(StandardCharsets.UTF_8);
        }
        Integer eosId = ids.get(END_OF_TEXT);
        if (eosId == null) {
            throw new TokenizerException(source + ": no " + END_OF_TEXT + " token");
        }
        this.eos = eosId;
    }

    /**
     * A checked tokenizer: {@code tokens[id]} is the token string of {@code id} (null for an unused id),
     * and merge {@code r} joins {@code tokens[left[r]]} and {@code tokens[right[r]]} into
     * {@code tokens[result[r]]}. The caller has checked the merges; this checks the single bytes.
     */
    static Gpt2Tokenizer create(String source, String[] tokens, int[] left, int[] right, int[] result,
            List<AddedToken> added) {
        Map<String, Integer> ids = new HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                ids.put(tokens[id], id);
            }
        }
        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new TokenizerException(String.format("%s: no token for byte 0x%02X ('%s')", source, b,
                        ByteLevel.charOf(b)));
            }
            byteIds[b] = id;
        }
        return new Gpt2Tokenizer(source, tokens, byteIds, new BpeMerges(byteIds, left, right, result), added);
    }

    /** The built-in GPT-2 tokenizer (derived from r50k_base ranks). */
    static Gpt2Tokenizer create(String[] tokens, int[] left, int[] right, int[] result) {
        return create("built-in GPT-2 tokenizer", tokens, left, right, result,
                List.of(new AddedToken(END_OF_TEXT, tokens.length - 1, false, false)));
    }

    private static final class BuiltIn {
        static final Gpt2Tokenizer INSTANCE = R50kBase.derive();
    }

    /**
     * GPT-2's tokenizer, derived on first use (then cached) from the r50k_base ranks bundled in
     * JTokkit; needs no files.
     */
    public static Gpt2Tokenizer builtIn() {
        return BuiltIn.INSTANCE;
    }

    /**
     * The tokenizer of a model folder: {@code tokenizer.json} (HF fast-tokenizer format) if present,
     * else {@code vocab.json} + {@code merges.txt}, else {@link #builtIn()}.
     *
     * @throws TokenizerException when the folder does not exist or a file is malformed (the one-line
     *     message names the file and the problem)
     */
    public static Gpt2Tokenizer fromFolder(Path dir) {
        return TokenizerFiles.load(dir);
    }

    /** The number of token ids (one more than the largest id): 50,257 for GPT-2. */
    public int vocabSize() {
        return tokens.length;
    }

    /** The id of {@code <|endoftext|>} (50,256 for GPT-2): the bos, eos and unk token. */
    public int eosTokenId() {
        return eos;
    }

    /**
     * The id of a token given in the vocabulary's byte-level form (a leading space is 'Ġ', e.g.
     * {@code "Ġworld"} → 995), or of an added token such as {@code <|endoftext|>}.
     */
    public OptionalInt idOf(String tokenString) {
        Integer id = ids.get(tokenString);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The id of {@link #MASK} when {@link #encode} splits it out of the text (see {@link #withMaskToken()}). */
    public OptionalInt maskTokenId() {
        for (AddedToken t : added) {
            if (t.content().equals(MASK)) return OptionalInt.of(t.id());
        }
        return OptionalInt.empty();
    }

    /**
     * This tokenizer with {@link #MASK} as an added token: itself when it has one; the vocabulary's
     * {@code [MASK]} token when that exists; else a new id, {@link #vocabSize()} (50,257 for GPT-2).
     * Texts without {@code [MASK]} encode and decode as before.
     */
    public Gpt2Tokenizer withMaskToken() {
        if (maskTokenId().isPresent()) return this;
        Integer existing = ids.get(MASK);
        return withMaskToken(existing != null ? existing : tokens.length);
    }

    /**
     * This tokenizer with {@link #MASK} as an added token of id {@code id} (a model's mask token id):
     * an id beyond the vocabulary, or the vocabulary's own {@code [MASK]}.
     *
     * @throws TokenizerException when the tokenizer's mask token has another id, or {@code id} is another token's
     */
    public Gpt2Tokenizer withMaskToken(int id) {
        OptionalInt current = maskTokenId();
        if (current.isPresent()) {
            if (current.getAsInt() == id) return this;
            throw new TokenizerException(source + ": " + MASK + " is id " + current.getAsInt() + ", not " + id);
        }
        if (id < 0 || id > 10_000_000) {
            throw new TokenizerException(source + ": mask token id " + id + " is outside [0, 10000000]");
        }
        if (id < tokens.length && tokens[id] != null && !tokens[id].equals(MASK)) {
            throw new TokenizerException(source + ": id " + id + " is already the token '" + tokens[id]
                    + "', it cannot also be " + MASK);
        }
        Integer other = ids.get(MASK);
        if (other != null && other != id) {
            throw new TokenizerException(source + ": " + MASK + " is id " + other + " in the vocabulary, not " + id);
        }
        String[] extended = Arrays.copyOf(tokens, Math.max(tokens.length, id + 1));
        extended[id] = MASK;
        List<AddedToken> more = new java.util.ArrayList<>(List.of(added));
        more.add(maskToken(id));
        return new Gpt2Tokenizer(source, extended, byteIds, merges, more);
    }

    /** {@link #MASK} as an added token of id {@code id}: whitespace before it is part of it. */
    static AddedToken maskToken(int id) {
        return new AddedToken(MASK, id, true, false);
    }

    /** The tokens {@link #encode} splits out of the text before pre-tokenisation, {@code <|endoftext|>} among them. */
    List<AddedToken> addedTokens() {
        return List.of(added);
    }

    /** The token string (vocabulary form) of {@code id}. */
    public String token(int id) {
        checkId(id);
        return tokens[id];
    }

    /** Whether {@code id} is a token of this tokenizer: in [0, vocabSize) and not an unused id. */
    public boolean hasToken(int id) {
        return id >= 0 && id < tokens.length && tokenBytes[id] != null;
    }

    /** The token string of {@code id}, or null for an id the vocabulary leaves unused (TokenizerWriter). */
    String tokenOrNull(int id) {
        checkRange(id);
        return tokens[id];
    }

    /** The merges in rank order, each as "left right" in vocabulary form, as in merges.txt. */
    public List<String> merges() {
        return new AbstractList<>() {
            @Override
            public String get(int rank) {
                return tokens[merges.left(rank)] + " " + tokens[merges.right(rank)];
            }

            @Override
            public int size() {
                return merges.size();
            }
        };
    }

    /**
     * Encodes as HF's GPT2Tokenizer does: {@code <|endoftext|>} (and any other added token of a
     * tokenizer.json) is split out first and becomes its id; the text between is encoded as by
     * {@link #encodeOrdinary}. No BOS is added.
     */
    public int[] encode(String text) {
        if (added.length == 0) {
            return encodeOrdinary(text);
        }
        IntList out = new IntList(text.length() / 3 + 8);
        int length = text.length();
        int[] nextAt = new int[added.length];
        Arrays.fill(nextAt, -2);
        int pos = 0;
        while (pos < length) {
            int best = -1;
            int bestAt = -1;
            for (int t = 0; t < added.length; t++) {
                if (nextAt[t] == -2 || (nextAt[t] >= 0 && nextAt[t] < pos)) {
                    nextAt[t] = text.indexOf(added[t].content(), pos);
                }
                int at = nextAt[t];
                if (at >= 0 && (best < 0 || at < bestAt
                        || (at == bestAt && added[t].content().length() > added[best].content().length()))) {
                    best = t;
                    bestAt = at;
                }
            }
            if (best < 0) {
                encodeRange(text, pos, length, out);
                break;
            }
            AddedToken token = added[best];
            int segmentEnd = bestAt;
            int next = bestAt + token.content().length();
            if (token.lstrip()) {
                while (segmentEnd > pos && isWhitespace(text.charAt(segmentEnd - 1))) {
                    segmentEnd--;
                }
            }
            if (token.rstrip()) {
                while (next < length && isWhitespace(text.charAt(next))) {
                    next++;
                }
            }
            encodeRange(text, pos, segmentEnd, out);
            out.add(token.id());
            pos = next;
        }
        return out.toArray();
    }

    private static boolean isWhitespace(char c) {
        return PreTokenizer.classOfCodePoint(c) == PreTokenizer.SPACE;
    }

    /**
     * Encodes with no special handling: {@code <|endoftext|>} in the text is ordinary text (tiktoken's
     * {@code encode_ordinary}). A lone surrogate (which UTF-8 cannot hold, and which HF would never be
     * given) is encoded as U+FFFD.
     */
    public int[] encodeOrdinary(String text) {
        IntList out = new IntList(text.length() / 3 + 8);
        encodeRange(text, 0, text.length(), out);
        return out.toArray();
    }

    private void encodeRange(String text, int from, int to, IntList out) {
        int i = from;
        while (i < to) {
            int j = PreTokenizer.next(text, i, to);
            appendPiece(text, i, j, out);
            i = j;
        }
    }

    private void appendPiece(String text, int from, int to, IntList out) {
        int length = to - from;
        if (length == 1) {
            char c = text.charAt(from);
            if (c < 0x80) {
                out.add(byteIds[c]);
                return;
            }
        }
        int hash = 0;
        for (int k = from; k < to; k++) {
            hash = 31 * hash + text.charAt(k);
        }
        int slot = (hash ^ (hash >>> 16)) & (CACHE_SIZE - 1);
        CacheEntry entry = cache[slot];
        if (entry != null && entry.hash == hash && entry.key.length() == length
                && entry.key.regionMatches(0, text, from, length)) {
            out.addAll(entry.ids);
            return;
        }
        byte[] bytes = new byte[length * 3];
        int n = utf8(text, from, to, bytes);
        int[] pieceIds = merges.merge(bytes, n);
        if (length <= MAX_CACHED_CHARS) {
            cache[slot] = new CacheEntry(hash, text.substring(from, to), pieceIds);
        }
        out.addAll(pieceIds);
    }

    /** UTF-8 of {@code text[from..to)} into {@code out} (3 bytes per char suffice); returns the length. */
    private static int utf8(String text, int from, int to, byte[] out) {
        int n = 0;
        for (int k = from; k < to; k++) {
            char c = text.charAt(k);
            if (c < 0x80) {
                out[n++] = (byte) c;
            } else if (c < 0x800) {
                out[n++] = (byte) (0xC0 | (c >> 6));
                out[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && k + 1 < to && Character.isLowSurrogate(text.charAt(k + 1))) {
                    int cp = Character.toCodePoint(c, text.charAt(++k));
                    out[n++] = (byte) (0xF0 | (cp >> 18));
                    out[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                    out[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                    out[n++] = (byte) (0x80 | (cp & 0x3F));
                } else { // a lone surrogate: U+FFFD
                    out[n++] = (byte) 0xEF;
                    out[n++] = (byte) 0xBF;
                    out[n++] = (byte) 0xBD;
                }
            } else {
                out[n++] = (byte) (0xE0 | (c >> 12));
                out[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                out[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return n;
    }

    /**
     * The text of {@code ids}: their bytes, decoded as UTF-8 with each ill-formed part replaced by
     * U+FFFD exactly as Python's {@code bytes.decode('utf-8', errors='replace')} does (HF's decode with
     * {@code clean_up_tokenization_spaces=False}; added tokens decode to their own text).
     *
     * @throws TokenizerException when an id is outside [0, vocabSize) or unused
     */
    public String decode(int[] ids) {
        byte[] bytes = decodeBytes(ids);
        return Utf8.decode(bytes, bytes.length);
    }

    /**
     * The bytes of {@code ids} concatenated.
     *
     * @throws TokenizerException when an id is outside [0, vocabSize) or unused
     */
    public byte[] decodeBytes(int[] ids) {
        int total = 0;
        for (int id : ids) {
            checkId(id);
            total += tokenBytes[id].length;
        }
        byte[] out = new byte[total];
        int n = 0;
        for (int id : ids) {
            byte[] b = tokenBytes[id];
            System.arraycopy(b, 0, out, n, b.length);
            n += b.length;
        }
        return out;
    }

    /** The bytes of one token (not a copy: callers must not change it). */
    byte[] bytesOf(int id) {
        checkId(id);
        return tokenBytes[id];
    }

    private void checkId(int id) {
        checkRange(id);
        if (tokenBytes[id] == null) {
            throw new TokenizerException("token id " + id + " is not used by " + source);
        }
    }

    private void checkRange(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new TokenizerException("token id " + id + " is outside the vocabulary [0, " + tokens.length + ")");
        }
    }

    /**
     * A decoder for tokens that arrive one at a time (e.g. during generation): each
     * {@link StreamDecoder#push} returns the complete characters so far and holds back an incomplete
     * UTF-8 sequence at the end. Not thread-safe; make one per stream.
     */
    public StreamDecoder streamDecoder() {
        return new StreamDecoder(this);
    }

    @Override
    public String toString() {
        return "Gpt2Tokenizer[" + source + ", " + tokens.length + " tokens, " + merges.size() + " merges]";
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[Math.max(8, capacity)];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        void addAll(int[] v) {
            if (size + v.length > a.length) {
                a = Arrays.copyOf(a, Math.max(size * 2, size + v.length));
            }
            System.arraycopy(v, 0, a, size, v.length);
            size += v.length;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
