package org.gptneo.tokenizer;

import java.util.Arrays;

/**
 * Decodes tokens that arrive one at a time. {@link #push} returns only complete characters: the bytes
 * of an incomplete UTF-8 sequence at the end are held back until later tokens complete it (or show it
 * to be ill-formed). The concatenation of all pushes and the final {@link #flush} equals
 * {@link Gpt2Tokenizer#decode} of all the ids. Not thread-safe.
 */
public final class StreamDecoder {
    private final Gpt2Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int length;

    StreamDecoder(Gpt2Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one token and returns the text it completes (possibly empty).
     *
     * @throws TokenizerException when the id is outside the vocabulary (the decoder is unchanged)
     */
    public String push(int id) {
        byte[] bytes = tokenizer.bytesOf(id);
        if (length + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, length, bytes.length);
        length += bytes.length;
        StringBuilder out = new StringBuilder(length);
        int used = Utf8.decode(pending, 0, length, out, false);
        System.arraycopy(pending, used, pending, 0, length - used);
        length -= used;
        return out.toString();
    }

    /** Returns what is held back (an incomplete sequence becomes U+FFFD) and starts afresh. */
    public String flush() {
        StringBuilder out = new StringBuilder(length);
        Utf8.decode(pending, 0, length, out, true);
        length = 0;
        return out.toString();
    }
}
