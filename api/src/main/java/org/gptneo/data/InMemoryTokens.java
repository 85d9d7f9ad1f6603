package org.gptneo.data;

import java.util.List;
import java.util.Objects;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/**
 * Tokens held in a Java array: text a program has at hand (requests, a handful of documents, a test)
 * as a {@link TokenSource} for {@link SequenceDataset#packed} or the trainer, with no file or cache.
 * The array is a private copy, so the source is immutable and safe to read from several threads;
 * reads after {@link #close()} fail.
 */
public final class InMemoryTokens implements TokenSource {
    private final int[] tokens;
    private final String description;
    private volatile boolean closed;

    private InMemoryTokens(int[] tokens, String description) {
        this.tokens = tokens;
        this.description = description;
    }

    /**
     * A source holding a copy of {@code tokens}.
     *
     * @throws IllegalArgumentException when there are no tokens or one is negative
     */
    public static InMemoryTokens of(int[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        int[] copy = tokens.clone();
        if (copy.length == 0) {
            throw new IllegalArgumentException("no tokens: a token source needs at least one");
        }
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] < 0) {
                throw new IllegalArgumentException("token " + i + " is " + copy[i] + ": ids must be >= 0");
            }
        }
        return new InMemoryTokens(copy, "in memory: " + TokenRanges.count(copy.length) + " tokens");
    }

    /**
     * Tokenizes each document and follows its tokens with {@code tokenizer.eosTokenId()}, as the
     * file datasets do (an empty document is the EOS id alone); the literal {@code <|endoftext|>}
     * becomes its id, as in {@link Gpt2Tokenizer#encode}.
     *
     * @throws IllegalArgumentException when there are no documents
     * @throws NullPointerException when a document is null (naming its index)
     */
    public static InMemoryTokens tokenize(List<String> documents, Gpt2Tokenizer tokenizer) {
        Objects.requireNonNull(documents, "documents");
        Objects.requireNonNull(tokenizer, "tokenizer");
        if (documents.isEmpty()) {
            throw new IllegalArgumentException("no documents to tokenize");
        }
        int[][] parts = new int[documents.size()][];
        long total = 0;
        for (int d = 0; d < parts.length; d++) {
            String text = documents.get(d);
            if (text == null) {
                throw new NullPointerException("document " + d + " is null");
            }
            parts[d] = tokenizer.encode(text);
            total += parts[d].length + 1;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the documents have " + TokenRanges.count(total)
                    + " tokens, more than an array holds; write them to a file and use Datasets.open");
        }
        int[] all = new int[(int) total];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
            all[at++] = tokenizer.eosTokenId();
        }
        return new InMemoryTokens(all, documents.size() + (documents.size() == 1 ? " document" : " documents")
                + " in memory: " + TokenRanges.count(all.length) + " tokens");
    }

    @Override
    public long length() {
        return tokens.length;
    }

    @Override
    public void read(long from, int[] dst, int offset, int count) {
        if (closed) {
            throw new IllegalStateException("the token source is closed (" + description + ")");
        }
        TokenRanges.check(from, dst, offset, count, tokens.length);
        System.arraycopy(tokens, (int) from, dst, offset, count);
    }

    @Override
    public String description() {
        return description;
    }

    /** Marks the source closed; the array is left to the garbage collector. */
    @Override
    public void close() {
        closed = true;
    }
}
