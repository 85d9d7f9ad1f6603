import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
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
}
