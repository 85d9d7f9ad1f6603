package org.gptneo.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.TokenizerException;

/**
 * The token cache of a {@link Corpus}: {@code <source name>.tokens.arrow} next to the source, or
 * {@code <source name>-<16 hex of SHA-256(absolute source path)>.tokens.arrow} in the cache folder.
 * Its schema metadata {@value #FINGERPRINT_KEY} holds the fingerprint (format version, every file's
 * relative path, size and modification time in ns, the tokenizer's SHA-256 over vocabulary and merges,
 * the EOS id, the text field when it matters); an existing cache is used when its fingerprint equals
 * the source's, and rewritten (atomically) when not or when it cannot be read.
 */
final class TokenCache {
    /** The schema metadata key of the fingerprint. */
    static final String FINGERPRINT_KEY = "gptneo.fingerprint";
    /** The cache format; a change of layout or meaning bumps it. */
    static final int FORMAT_VERSION = 1;
    /** The suffix of cache file names. */
    static final String SUFFIX = ".tokens.arrow";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenCache() {}

    /** The cache file of {@code source}. */
    static Path pathOf(Path source, DatasetOptions options) {
        Path absolute = source.toAbsolutePath().normalize();
        String name = absolute.getFileName().toString();
        if (options.cacheDir().isEmpty()) {
            return absolute.resolveSibling(name + SUFFIX);
        }
        String hash = HexFormat.of().formatHex(sha256(absolute.toString().getBytes(StandardCharsets.UTF_8)), 0, 8);
        return options.cacheDir().get().toAbsolutePath().resolve(name + "-" + hash + SUFFIX);
    }

    /** The tokens of {@code corpus}, from its cache when that is current, else tokenized into a new cache. */
    static TokenSource open(Corpus corpus, DatasetOptions options) {
        Path cache = pathOf(corpus.source(), options);
        String fingerprint = fingerprint(corpus, options);
        ArrowTokens existing = current(cache, fingerprint, options);
        if (existing != null) {
            return existing.describedAs(describe(corpus, existing, cache, "reused"));
        }
        Map<String, String> metadata = Map.of(FINGERPRINT_KEY, fingerprint);
        try (TokenCacheWriter writer = new TokenCacheWriter(cache, metadata, options.cacheBatchTokens())) {
            corpus.tokenize(writer, options);
            if (!fingerprint(corpus, options).equals(fingerprint)) {
                throw new DatasetException(corpus.source() + ": changed while it was being tokenized; open it again");
            }
            writer.commit();
        }
        ArrowTokens written = ArrowTokens.open(cache, options.eosTokenId());
        return written.describedAs(describe(corpus, written, cache, "written"));
    }

    private static String describe(Corpus corpus, TokenSource tokens, Path cache, String how) {
        return corpus.source().getFileName() + ": " + TokenRanges.count(tokens.length()) + " tokens (Arrow cache " + cache
                + ", " + how + ")";
    }

    /** The cache at {@code cache} if it exists, is readable and carries {@code fingerprint}; else null. */
    private static ArrowTokens current(Path cache, String fingerprint, DatasetOptions options) {
        if (!Files.isRegularFile(cache)) {
            return null;
        }
        ArrowTokens tokens;
        try {
            tokens = ArrowTokens.open(cache, options.eosTokenId());
        } catch (DatasetException unreadable) {
            return null; // a torn or foreign file: rewritten
        }
        if (fingerprint.equals(tokens.metadata().get(FINGERPRINT_KEY))) {
            return tokens;
        }
        tokens.close();
        return null;
    }

    /** The fingerprint of {@code corpus} read with {@code options}, as JSON. */
    static String fingerprint(Corpus corpus, DatasetOptions options) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("format", FORMAT_VERSION);
        fields.put("tokenizer", tokenizerHash(options.tokenizer()));
        fields.put("eos", options.eosTokenId());
        if (corpus.usesTextField()) {
            fields.put("textField", options.textField());
        }
        fields.put("files", corpus.stat());
        try {
            return JSON.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings and numbers always serialise", e);
        }
    }

    /** SHA-256 (hex) over the tokenizer's vocabulary (id order) and merges (rank order). */
    static String tokenizerHash(Gpt2Tokenizer tokenizer) {
        MessageDigest digest = newSha256();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            String token;
            try {
                token = tokenizer.token(id);
            } catch (TokenizerException unused) {
                token = ""; // an id the vocabulary leaves unused
            }
            digest.update(token.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
        }
        digest.update((byte) 1);
        for (String merge : tokenizer.merges()) {
            digest.update(merge.getBytes(StandardCharsets.UTF_8));
            digest.update((byte) 0);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static byte[] sha256(byte[] bytes) {
        return newSha256().digest(bytes);
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
