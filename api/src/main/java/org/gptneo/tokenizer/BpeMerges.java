package org.gptneo.tokenizer;

import java.util.Arrays;

/**
 * The merge rules of a byte-level BPE (spec section 14.4) over token ids, and the merge itself.
 *
 * <p>Rule {@code r} (its rank, the 0-based line in merges.txt) joins the adjacent pair
 * {@code (left[r], right[r])} into {@code result[r]}. Merging follows HF's GPT2Tokenizer: start from
 * the ids of the single bytes; repeatedly take the lowest-ranked pair present and merge all its
 * non-overlapping occurrences left to right; stop when no present pair has a rule. The implementation
 * keeps the symbols in a linked list and the present pairs in a heap ordered by (rank, position), and
 * handles all occurrences of one rank as a batch before looking at the pairs that batch created, so it
 * is exactly the Python algorithm (also for merge lists in which a merge uses a token made by a later
 * merge) in O(n log n) instead of O(n²).
 */
final class BpeMerges {
    private static final long EMPTY = -1L;

    private final int[] byteIds;
    private final int[] left;
    private final int[] right;
    private final int[] result;
    // open addressing: pair key -> rank
    private final long[] keys;
    private final int[] ranks;
    private final int mask;

    /**
     * Rules from parallel arrays in rank order; {@code byteIds[b]} is the id of the token for byte
     * {@code b}. A pair listed twice keeps its later rank, as in HF (the earlier rule never applies).
     */
    BpeMerges(int[] byteIds, int[] left, int[] right, int[] result) {
        this.byteIds = byteIds.clone();
        this.left = left.clone();
        this.right = right.clone();
        this.result = result.clone();
        int capacity = Integer.highestOneBit(Math.max(16, left.length * 3)) << 1;
        keys = new long[capacity];
        ranks = new int[capacity];
        mask = capacity - 1;
        Arrays.fill(keys, EMPTY);
        for (int r = 0; r < left.length; r++) {
            long key = key(left[r], right[r]);
            int slot = slot(key);
            while (keys[slot] != EMPTY && keys[slot] != key) {
                slot = (slot + 1) & mask;
            }
            keys[slot] = key;
            ranks[slot] = r;
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    /** The rank of the rule for pair {@code (a, b)}, or -1 when there is none. */
    int rank(int a, int b) {
        long key = key(a, b);
        int slot = slot(key);
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return ranks[slot];
            }
            if (k == EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    int size() {
        return left.length;
    }

    int left(int rank) {
        return left[rank];
    }

    int right(int rank) {
        return right[rank];
    }

    int result(int rank) {
        return result[rank];
    }

    /** Below this many bytes the direct quadratic algorithm is faster than the heap. */
    static final int SHORT = 24;

    /** The token ids of one pre-token given as its UTF-8 bytes {@code bytes[0..n)}. */
    int[] merge(byte[] bytes, int n) {
        if (n == 1) {
            return new int[] {byteIds[bytes[0] & 0xff]};
        }
        return n < SHORT ? mergeShort(bytes, n) : mergeLong(bytes, n);
    }

    /**
     * HF's algorithm as written: find the lowest-ranked pair present, rewrite the symbols merging each of
     * its occurrences left to right, repeat. The rank of each adjacent pair is kept and recomputed only
     * next to a merge.
     */
    int[] mergeShort(byte[] bytes, int n) {
        int[] sym = new int[n];
        int[] rank = new int[n]; // rank[i]: rule for (sym[i], sym[i+1]), or MAX_VALUE
        for (int i = 0; i < n; i++) {
            sym[i] = byteIds[bytes[i] & 0xff];
        }
        for (int i = 0; i + 1 < n; i++) {
            int r = rank(sym[i], sym[i + 1]);
            rank[i] = r < 0 ? Integer.MAX_VALUE : r;
        }
        int m = n;
        while (m > 1) {
            int best = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < m; i++) {
                if (rank[i] < best) {
                    best = rank[i];
                }
            }
            if (best == Integer.MAX_VALUE) {
                break;
            }
            int merged = result[best];
            int w = 0;
            for (int i = 0; i < m; ) {
                if (i + 1 < m && rank[i] == best) {
                    sym[w] = merged;
                    rank[w] = -1; // recomputed below
                    if (w > 0) {
                        rank[w - 1] = -1;
                    }
                    w++;
                    i += 2;
                } else {
                    sym[w] = sym[i];
                    rank[w] = rank[i];
                    w++;
                    i++;
                }
            }
            m = w;
            for (int i = 0; i + 1 < m; i++) {
                if (rank[i] == -1) {
                    int r = rank(sym[i], sym[i + 1]);
                    rank[i] = r < 0 ? Integer.MAX_VALUE : r;
                }
            }
            if (m > 0) {
                rank[m - 1] = Integer.MAX_VALUE;
            }
        }
        return m == n ? sym : Arrays.copyOf(sym, m);
    }

    /** The heap-based algorithm for long pre-tokens (same result as {@link #mergeShort}). */
    int[] mergeLong(byte[] bytes, int n) {
        int[] sym = new int[n];
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = byteIds[bytes[i] & 0xff];
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            int r = rank(sym[i], sym[i + 1]);
            if (r >= 0) {
                heap.push(((long) r << 32) | i);
            }
        }
        int count = n;
        int[] batch = new int[n];
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int r = (int) (top >>> 32);
            int size = 0;
            batch[size++] = (int) top;
            while (!heap.isEmpty() && (int) (heap.peek() >>> 32) == r) {
                batch[size++] = (int) heap.pop();
            }
            // all occurrences of rule r present now, left to right; the pairs they create (never rule r
            // again: a merged token is longer than either part) wait in the heap for the next round
            for (int k = 0; k < size; k++) {
                int p = batch[k];
                if (sym[p] < 0) {
                    continue; // merged into its left neighbour already
                }
                int q = next[p];
                if (q >= n || rank(sym[p], sym[q]) != r) {
                    continue; // stale: one side has changed since this pair was seen
                }
                sym[p] = result[r];
                sym[q] = -1;
                next[p] = next[q];
                if (next[q] < n) {
                    prev[next[q]] = p;
                }
                count--;
                if (prev[p] >= 0) {
                    int pr = rank(sym[prev[p]], sym[p]);
                    if (pr >= 0) {
                        heap.push(((long) pr << 32) | prev[p]);
                    }
                }
                if (next[p] < n) {
                    int nr = rank(sym[p], sym[next[p]]);
                    if (nr >= 0) {
                        heap.push(((long) nr << 32) | p);
                    }
                }
            }
        }
        int[] out = new int[count];
        int m = 0;
        for (int i = 0; i < n; i = next[i]) {
            out[m++] = sym[i];
        }
        return out;
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        long peek() {
            return a[0];
        }

        void push(long v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) {
                    break;
                }
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long v = a[--size];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= size) {
                    break;
                }
                if (c + 1 < size && a[c + 1] < a[c]) {
                    c++;
                }
                if (a[c] >= v) {
                    break;
                }
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
