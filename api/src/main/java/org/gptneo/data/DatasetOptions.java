package org.gptneo.data;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/**
 * How {@link Datasets#open} reads and tokenizes a data path. Start from {@link #defaults()} and change
 * fields with the {@code with...} methods.
 *
 * @param tokenizer tokenizes text sources (its {@code encode}: a literal {@code <|endoftext|>} becomes the EOS id)
 * @param eosTokenId the id written after each document (default: the tokenizer's)
 * @param textField the JSONL field, or the Arrow string column, that holds a document's text
 * @param cacheDir where token caches go; empty: next to the source
 * @param cacheBatchTokens tokens per record batch of a written cache (memory of one loaded batch: 4 bytes each)
 * @param chunkChars a plain-text document longer than this is tokenized in pieces of about this size, split
 *     where a word ends before a space or newline (exactly where GPT-2's pre-tokenizer splits anyway, so the
 *     tokens are those of the whole text)
 */
public record DatasetOptions(Gpt2Tokenizer tokenizer, int eosTokenId, String textField, Optional<Path> cacheDir,
        int cacheBatchTokens, int chunkChars) {
    /**
     * The default tokens per cache record batch: 65,536 (256 KiB of int32). A random read decodes one
     * batch, so smaller batches make shuffled reads cheaper; larger ones shorten the index.
     */
    public static final int DEFAULT_CACHE_BATCH_TOKENS = 1 << 16;
    /** The default size of the pieces a long text document is tokenized in. */
    public static final int DEFAULT_CHUNK_CHARS = 1 << 20;

    /** Checks the fields. */
    public DatasetOptions {
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(textField, "textField");
        Objects.requireNonNull(cacheDir, "cacheDir");
        if (eosTokenId < 0) {
            throw new IllegalArgumentException("eosTokenId must be >= 0, got " + eosTokenId);
        }
        if (textField.isEmpty()) {
            throw new IllegalArgumentException("textField must not be empty");
        }
        if (cacheBatchTokens < 1) {
            throw new IllegalArgumentException("cacheBatchTokens must be >= 1, got " + cacheBatchTokens);
        }
        if (chunkChars < 1) {
            throw new IllegalArgumentException("chunkChars must be >= 1, got " + chunkChars);
        }
    }

    /** The built-in GPT-2 tokenizer, its EOS (50,256), field {@code "text"}, caches next to the sources. */
    public static DatasetOptions defaults() {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.builtIn();
        return new DatasetOptions(tokenizer, tokenizer.eosTokenId(), "text", Optional.empty(), DEFAULT_CACHE_BATCH_TOKENS,
                DEFAULT_CHUNK_CHARS);
    }

    /** These options with {@code tokenizer} and its EOS id. */
    public DatasetOptions withTokenizer(Gpt2Tokenizer tokenizer) {
        return new DatasetOptions(tokenizer, tokenizer.eosTokenId(), textField, cacheDir, cacheBatchTokens, chunkChars);
    }

    /** These options with another EOS id. */
    public DatasetOptions withEosTokenId(int eosTokenId) {
        return new DatasetOptions(tokenizer, eosTokenId, textField, cacheDir, cacheBatchTokens, chunkChars);
    }

    /** These options reading documents from field (or column) {@code textField}. */
    public DatasetOptions withTextField(String textField) {
        return new DatasetOptions(tokenizer, eosTokenId, textField, cacheDir, cacheBatchTokens, chunkChars);
    }

    /** These options keeping token caches in {@code cacheDir} (created when missing). */
    public DatasetOptions withCacheDir(Path cacheDir) {
        return new DatasetOptions(tokenizer, eosTokenId, textField, Optional.of(cacheDir), cacheBatchTokens, chunkChars);
    }

    /** These options writing caches in record batches of {@code cacheBatchTokens} tokens. */
    public DatasetOptions withCacheBatchTokens(int cacheBatchTokens) {
        return new DatasetOptions(tokenizer, eosTokenId, textField, cacheDir, cacheBatchTokens, chunkChars);
    }

    /** These options tokenizing long text documents in pieces of about {@code chunkChars}. */
    public DatasetOptions withChunkChars(int chunkChars) {
        return new DatasetOptions(tokenizer, eosTokenId, textField, cacheDir, cacheBatchTokens, chunkChars);
    }
}
