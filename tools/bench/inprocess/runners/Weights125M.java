import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.HugePages;
import org.gptneo.tensor.Tensor;

/**
 * The 73 weights one 125M token reads ([out, in]: per layer q, k, v, output 768 × 768, MLP 3072 × 768 and
 * 768 × 3072, then the tied LM head 50257 × 768), F32 on huge pages as a loaded model keeps them, filled
 * with a cheap deterministic pattern (the values do not change the work).
 */
final class Weights125M {
    static final int COUNT = 73;

    private Weights125M() {}

    /** The weights, in the order a token meets them. */
    static Tensor[] create(Arena arena) {
        Tensor[] w = new Tensor[COUNT];
        for (int i = 0; i < COUNT; i++) w[i] = filled(arena, shape(i));
        return w;
    }

    /** [out, in] of weight i. */
    static int[] shape(int i) {
        if (i == COUNT - 1) return new int[] {50257, 768};
        return switch (i % 6) {
            case 4 -> new int[] {3072, 768};
            case 5 -> new int[] {768, 3072};
            default -> new int[] {768, 768};
        };
    }

    static Arena arena() {
        return HugePages.over(Arena.ofShared());
    }

    static Tensor filled(Arena arena, int... shape) {
        Tensor t = Tensor.allocate(arena, DType.F32, shape);
        long n = t.data().byteSize() / Float.BYTES;
        for (long e = 0; e < n; e++) t.data().setAtIndex(ValueLayout.JAVA_FLOAT, e, (float) ((e * 2654435761L % 1000) / 1000.0 - 0.5));
        return t;
    }

    /** The products y[i] = x[i]·w[i]ᵀ of one pass over the weights, x[i] [rows, in] and y[i] [rows, out]. */
    record Products(Tensor[] w, Tensor[] x, Tensor[] y) {
        static Products of(Arena arena, Tensor[] w, int rows) {
            Tensor[] x = new Tensor[COUNT], y = new Tensor[COUNT];
            for (int i = 0; i < COUNT; i++) {
                int[] s = shape(i);
                x[i] = filled(arena, rows, s[1]);
                y[i] = Tensor.allocate(arena, DType.F32, rows, s[0]);
            }
            return new Products(w, x, y);
        }

        /** Products from .. to - 1 on {@code backend}. */
        void run(Backend backend, int from, int to) {
            for (int i = from; i < to; i++) backend.matmul(x[i], false, w[i], true, y[i], 1f, 0f);
        }
    }
}
