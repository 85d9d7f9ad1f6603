package org.gptneo.parallel;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How a run's ranks divide the work, as {@code --parallel dp=D,tp=T,pp=P,ep=E} says it: data-,
 * tensor-, pipeline- and expert-parallel degrees (each 1 unless given), whose product is the world size.
 */
public record ParallelLayout(int dp, int tp, int pp, int ep) {
    public ParallelLayout {
        if (dp < 1 || tp < 1 || pp < 1 || ep < 1) {
            throw new IllegalArgumentException("parallel degrees must be at least 1, got dp=" + dp + ",tp=" + tp + ",pp=" + pp + ",ep=" + ep);
        }
    }

    /** One process, no parallelism. */
    public static ParallelLayout single() {
        return new ParallelLayout(1, 1, 1, 1);
    }

    /** Parses "dp=2,tp=1,pp=1" (parts in any order, omitted ones 1). */
    public static ParallelLayout parse(String text) {
        Map<String, Integer> degrees = new LinkedHashMap<>(Map.of("dp", 1, "tp", 1, "pp", 1, "ep", 1));
        Set<String> seen = new HashSet<>();
        for (String part : text.split(",", -1)) {
            String[] kv = part.trim().split("=", -1);
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (kv.length != 2 || !degrees.containsKey(key)) {
                throw new IllegalArgumentException("--parallel takes dp=D,tp=T,pp=P,ep=E (omitted parts are 1), got '" + text + "'");
            }
            if (!seen.add(key)) throw new IllegalArgumentException("--parallel gives " + key + " twice in '" + text + "'");
            try {
                degrees.put(key, Integer.parseInt(kv[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--parallel " + key + " must be a whole number, got '" + kv[1].trim() + "'");
            }
        }
        return new ParallelLayout(degrees.get("dp"), degrees.get("tp"), degrees.get("pp"), degrees.get("ep"));
    }

    /** How many ranks the layout needs. */
    public int worldSize() {
        return dp * tp * pp * ep;
    }

    /**
     * Throws for the combinations this build cannot run yet: expert parallelism together with tensor or
     * pipeline parallelism (it runs alone or with data parallelism).
     */
    public void requireAvailable() {
        if (ep > 1 && (tp > 1 || pp > 1)) {
            throw new IllegalArgumentException("expert parallelism together with " + (tp > 1 ? "tensor" : "pipeline")
                    + " parallelism is not available yet");
        }
    }

    /** Throws unless the layout's ranks are exactly {@code worldSize}, naming both. */
    public void requireWorldSize(int worldSize) {
        if (worldSize() != worldSize) {
            throw new IllegalArgumentException("--parallel " + this + " needs " + worldSize() + " ranks, but the launcher started "
                    + worldSize);
        }
    }

    @Override
    public String toString() {
        return "dp=" + dp + ",tp=" + tp + ",pp=" + pp + ",ep=" + ep;
    }
}
