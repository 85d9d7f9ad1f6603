package org.gptneo.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * The trained parameters laid end to end, in the map's order, as one flat F32 vector, and that
 * vector cut into buckets: ranges of at most a bucket's elements whose lengths are multiples of the
 * rank count (the last is padded with zeros past the parameters), so that each bucket splits into one
 * equal block per rank. A parameter may straddle two buckets.
 */
final class FlatLayout {
    /** One parameter's elements at [offset, offset + count) of the flat vector. */
    record Entry(int index, String name, Var param, long offset, long count, boolean decays) {
        long end() {
            return offset + count;
        }
    }

    /** Elements [start, start + length) of the flat vector; length is a multiple of the rank count. */
    record Bucket(long start, long length) {}

    private final List<Entry> entries = new ArrayList<>();
    private final List<Bucket> buckets = new ArrayList<>();
    private final long total;

    /** Lays out the parameters that require a gradient; {@code decays} marks those with weight decay. */
    FlatLayout(Map<String, Var> parameters, Predicate<String> decays, int ranks, long bucketElements) {
        long offset = 0;
        for (Map.Entry<String, Var> e : parameters.entrySet()) {
            Var p = e.getValue();
            if (!p.requiresGrad()) continue;
            entries.add(new Entry(entries.size(), e.getKey(), p, offset, p.value().size(), decays.test(e.getKey())));
            offset += p.value().size();
        }
        total = offset;
        long step = Math.max(ranks, bucketElements / ranks * ranks);
        for (long start = 0; start < total; start += step) {
            long length = Math.min(step, total - start);
            buckets.add(new Bucket(start, (length + ranks - 1) / ranks * ranks));
        }
    }

    List<Entry> entries() {
        return entries;
    }

    List<Bucket> buckets() {
        return buckets;
    }

    /** Elements of the parameters (without padding). */
    long total() {
        return total;
    }

    /** The longest bucket. */
    long largestBucket() {
        return buckets.stream().mapToLong(Bucket::length).max().orElse(0);
    }

    /**
     * dst [length] ← elements [start, start + length) of the flat vector of {@code part} (a parameter's
     * value or gradient); zeros where {@code part} is null and past the parameters.
     */
    void read(Backend backend, Function<Var, Tensor> part, long start, Tensor dst) {
        long end = start + dst.size();
        boolean gaps = end > total || entries.stream().anyMatch(e -> e.offset() < end && e.end() > start && part.apply(e.param()) == null);
        if (gaps) backend.fill(dst, 0f);
        for (Entry e : entries) {
            long from = Math.max(start, e.offset()), to = Math.min(end, e.end());
            Tensor t = part.apply(e.param());
            if (from >= to || t == null) continue;
            backend.copy(flat(t, from - e.offset(), to - e.offset()), flat(dst, from - start, to - start));
        }
    }

    /** Elements [start, start + length) of the flat vector of {@code part} ← src [length]; skips null parts and padding. */
    void write(Backend backend, Function<Var, Tensor> part, long start, Tensor src) {
        long end = start + src.size();
        for (Entry e : entries) {
            long from = Math.max(start, e.offset()), to = Math.min(end, e.end());
            Tensor t = part.apply(e.param());
            if (from >= to || t == null) continue;
            backend.copy(flat(src, from - start, to - start), flat(t, from - e.offset(), to - e.offset()));
        }
    }

    /** Elements [from, to) of a dense tensor, as a vector view. */
    static Tensor flat(Tensor t, long from, long to) {
        return t.reshape(Math.toIntExact(t.size())).rows(Math.toIntExact(from), Math.toIntExact(to));
    }
}
