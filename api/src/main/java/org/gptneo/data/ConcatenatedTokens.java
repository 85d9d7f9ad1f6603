package org.gptneo.data;

import java.util.Arrays;
import java.util.List;

/** Several token sources read as one stream, in order (the files of a {@code save_to_disk} folder). */
final class ConcatenatedTokens implements TokenSource {
    private final List<TokenSource> parts;
    private final long[] start; // [parts + 1]: the first token of each part, then the total
    private final String description;

    ConcatenatedTokens(List<? extends TokenSource> parts, String name) {
        this.parts = List.copyOf(parts);
        this.start = new long[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) {
            start[i + 1] = start[i] + parts.get(i).length();
        }
        this.description = name + ": " + TokenRanges.count(length()) + " tokens in " + parts.size() + " files ("
                + parts.getFirst().description() + (parts.size() > 1 ? ", ..." : "") + ")";
    }

    @Override
    public long length() {
        return start[start.length - 1];
    }

    @Override
    public void read(long from, int[] dst, int offset, int count) {
        TokenRanges.check(from, dst, offset, count, length());
        long position = from;
        int done = 0;
        while (done < count) {
            int i = Arrays.binarySearch(start, position);
            i = i < 0 ? -i - 2 : i;
            while (start[i + 1] == position) { // skip empty parts
                i++;
            }
            int n = (int) Math.min(count - done, start[i + 1] - position);
            parts.get(i).read(position - start[i], dst, offset + done, n);
            done += n;
            position += n;
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public void close() {
        for (TokenSource part : parts) {
            part.close();
        }
    }
}
