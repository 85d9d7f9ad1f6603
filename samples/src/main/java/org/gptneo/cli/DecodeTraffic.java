package org.gptneo.cli;

import java.util.List;
import java.util.Map;
import org.gptneo.autograd.Var;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;

/**
 * Bytes one decode step must read from memory, the quantity decode speed is bounded by: every
 * weight once (in its stored dtype; the LM head is the tied wte, read whole; of wpe only one row),
 * plus each layer's cached keys and values (F32) for every row: a global layer all L cached
 * positions, a local layer at most its window.
 */
record DecodeTraffic(long weightBytes, GptNeoConfig config) {
    static DecodeTraffic of(GptNeoModel model) {
        long bytes = 0;
        for (Map.Entry<String, Var> p : model.parameters().entrySet()) {
            if (!p.getKey().equals("transformer.wpe.weight")) bytes += p.getValue().value().memory().byteSize();
        }
        return new DecodeTraffic(bytes, model.config());
    }

    /** Cache bytes read by one step of {@code batch} rows whose cache holds {@code length} positions (the new one included). */
    long cacheBytes(int batch, int length) {
        long positions = 0;
        List<AttentionType> layers = config.attentionLayers();
        for (AttentionType type : layers) {
            positions += type == AttentionType.LOCAL ? Math.min(length, config.windowSize()) : length;
        }
        return 2L * Float.BYTES * config.hiddenSize() * positions * batch;   // keys and values
    }

    /** Mean bytes per step over steps whose caches hold first, first + 1, …, first + steps − 1 positions. */
    double meanStepBytes(int batch, int first, int steps) {
        double sum = 0;
        for (int s = 0; s < steps; s++) sum += weightBytes + cacheBytes(batch, first + s);
        return sum / steps;
    }
}
