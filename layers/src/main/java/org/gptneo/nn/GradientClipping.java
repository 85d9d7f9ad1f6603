package org.gptneo.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.Tensor;

/**
 * Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_} does it: the L2 norm over
 * every gradient together; when it exceeds {@code maxNorm} every gradient is scaled by
 * {@code maxNorm / (norm + 1e-6)}. {@link #inspect} also names the first parameter (in the map's
 * order) whose gradient holds a NaN or an infinity, so that a diverging run can say where.
 */
public final class GradientClipping {
    private static final double EPS = 1e-6;

    private GradientClipping() {}

    /** The global gradient norm, and the first parameter with a non-finite gradient if any. */
    public record Report(double norm, Optional<String> firstNonFinite) {
        public boolean finite() {
            return firstNonFinite.isEmpty();
        }

        /** The report of gradients whose squared L2 norms are {@code squares}, by name in order. */
        public static Report of(Map<String, Double> squares) {
            double sumOfSquares = 0;
            String bad = null;
            for (Map.Entry<String, Double> e : squares.entrySet()) {
                if (!Double.isFinite(e.getValue()) && bad == null) bad = e.getKey();
                sumOfSquares += e.getValue();
            }
            return new Report(Math.sqrt(sumOfSquares), Optional.ofNullable(bad));
        }
    }

    /** Measures the gradients of {@code parameters} (those without a gradient count as zero). */
    public static Report inspect(Backend backend, Map<String, Var> parameters) {
        Map<String, Double> squares = new LinkedHashMap<>();
        for (Map.Entry<String, Var> e : parameters.entrySet()) {
            Tensor grad = e.getValue().grad();
            if (grad != null) squares.put(e.getKey(), backend.sumOfSquares(grad));
        }
        return Report.of(squares);
    }

    /**
     * Scales every gradient so that the global norm is at most {@code maxNorm}, given the norm
     * {@link #inspect} measured; returns the factor applied (1 when nothing changed).
     */
    public static double clip(Backend backend, Map<String, Var> parameters, double norm, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("the clipping norm must be > 0, got " + maxNorm);
        double coefficient = maxNorm / (norm + EPS);
        if (coefficient >= 1) return 1;
        for (Var p : parameters.values()) {
            if (p.grad() != null) backend.scale(p.grad(), (float) coefficient);
        }
        return coefficient;
    }
}
