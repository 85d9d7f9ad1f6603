package org.gptneo.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;

/**
 * Lane sums in lane order. {@code reduceLanes(ADD)} leaves the order of its additions open, and the
 * JIT-compiled and interpreted forms of it do differ in the last bits; summing lane by lane keeps
 * every result the same from the first call on, which bit-for-bit reproducible training needs.
 */
final class Lanes {
    private Lanes() {}

    // lane by lane rather than through toArray(), whose array the JIT allocates on every call

    static float sum(FloatVector v) {
        float total = 0;
        for (int i = 0; i < v.length(); i++) total += v.lane(i);
        return total;
    }

    static double sum(DoubleVector v) {
        double total = 0;
        for (int i = 0; i < v.length(); i++) total += v.lane(i);
        return total;
    }
}
