package org.gptneo.data;

/**
 * A flat stream of token ids, documents separated by the EOS id, with random access. Opened by
 * {@link Datasets#open}; reads go to disk lazily (Arrow record batches on demand, memory-mapped
 * {@code .bin} files), so a source may be larger than memory. Sources are safe to read from several
 * threads; close them once (they hold files and Arrow buffers).
 */
public interface TokenSource extends AutoCloseable {
    /** The number of tokens. */
    long length();

    /**
     * Copies tokens {@code [from, from + count)} into {@code dst[offset, offset + count)}.
     *
     * @throws IndexOutOfBoundsException when the range is outside {@code [0, length())} or {@code dst}
     * @throws DatasetException when the file cannot be read or holds an invalid id there
     */
    void read(long from, int[] dst, int offset, int count);

    /** One line for logs, e.g. {@code "corpus.txt: 123,456 tokens (Arrow cache /x/corpus.txt.tokens.arrow, reused)"}. */
    String description();

    /** Releases the files and buffers; reads after this fail. */
    @Override
    void close();
}
