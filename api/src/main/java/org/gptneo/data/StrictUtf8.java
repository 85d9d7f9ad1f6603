package org.gptneo.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 decoding that refuses ill-formed input and says at which byte, instead of replacing it. */
final class StrictUtf8 {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final String where;
    private long consumed;

    /** A decoder for one stream of bytes; errors are reported as {@code where + ": ..."}. */
    StrictUtf8(String where) {
        this.where = where;
    }

    /**
     * Decodes what it can of {@code in} into {@code out}, which has room for {@code in.remaining()} chars
     * (UTF-8 never gives more chars than bytes); an incomplete sequence at the end of {@code in} stays
     * there unless {@code end}.
     *
     * @throws DatasetException at ill-formed UTF-8, naming its byte offset in the stream
     */
    void decode(ByteBuffer in, CharBuffer out, boolean end) {
        int before = in.position();
        CoderResult result = decoder.decode(in, out, end);
        consumed += in.position() - before;
        if (result.isError()) {
            throw new DatasetException(where + ": not valid UTF-8 at byte offset " + consumed);
        }
        if (end) {
            decoder.flush(out);
        }
    }

    /** The whole of {@code bytes[0, length)}, which starts at byte {@code offset} of the file. */
    static String decode(byte[] bytes, int length, long offset, String where) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
        CharBuffer out = CharBuffer.allocate(length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new DatasetException(where + ": not valid UTF-8 at byte offset " + (offset + in.position()));
        }
        decoder.flush(out);
        return out.flip().toString();
    }
}
