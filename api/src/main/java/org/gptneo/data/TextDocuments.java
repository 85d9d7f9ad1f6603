package org.gptneo.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.tokenizer.Gpt2Tokenizer;

/**
 * A plain-text file as one document, read as strict UTF-8 in blocks and tokenized in pieces of about
 * {@link DatasetOptions#chunkChars()}: a piece ends where an ASCII letter or digit is followed by a
 * space or newline. GPT-2's pre-tokenizer always splits there (no pre-token runs from a word into the
 * whitespace after it, and a pre-token's extent depends only on the text from its start on), so the
 * pieces' tokens are exactly the whole text's. A document with no such place keeps growing until one
 * comes (only then is more than a piece held).
 */
final class TextDocuments {
    private static final int BLOCK_BYTES = 1 << 16;

    private TextDocuments() {}

    /** Tokenizes {@code file} into {@code out}, then the EOS id. */
    static void tokenize(Path file, DatasetOptions options, TokenCacheWriter out) {
        Gpt2Tokenizer tokenizer = options.tokenizer();
        StrictUtf8 utf8 = new StrictUtf8(file.toString());
        StringBuilder pending = new StringBuilder();
        int searchedTo = 0; // positions below this were searched for a split already
        ByteBuffer bytes = ByteBuffer.allocate(BLOCK_BYTES);
        CharBuffer chars = CharBuffer.allocate(BLOCK_BYTES);
        try (InputStream in = Files.newInputStream(file)) {
            boolean end = false;
            while (!end) {
                int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
                end = n < 0;
                if (n > 0) {
                    bytes.position(bytes.position() + n);
                }
                bytes.flip();
                utf8.decode(bytes, chars, end);
                bytes.compact();
                pending.append(chars.flip());
                chars.clear();
                if (pending.length() >= options.chunkChars()) {
                    int split = lastSplit(pending, Math.max(1, searchedTo));
                    if (split > 0) {
                        out.add(tokenizer.encode(pending.substring(0, split)));
                        pending.delete(0, split);
                        searchedTo = 0;
                    } else {
                        searchedTo = pending.length();
                    }
                }
            }
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot read: " + Errors.oneLine(e), e);
        }
        out.add(tokenizer.encode(pending.toString()));
        out.add(options.eosTokenId());
    }

    /** The last position {@code p >= from} where {@code text[p-1]} is an ASCII letter or digit and {@code text[p]} a space or newline; 0 if none. */
    static int lastSplit(CharSequence text, int from) {
        for (int p = text.length() - 1; p >= from; p--) {
            char c = text.charAt(p);
            if ((c == ' ' || c == '\n') && isAsciiAlphanumeric(text.charAt(p - 1))) {
                return p;
            }
        }
        return 0;
    }

    private static boolean isAsciiAlphanumeric(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
}
