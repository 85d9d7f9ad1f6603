package org.gptneo.presets;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.gptneo.model.AttentionType;
import org.gptneo.model.GptNeoBuilder;

/**
 * GPT-Neo shapes by name. 125M, 1.3B and 2.7B are the released EleutherAI checkpoints' shapes; 350M,
 * 760M, 6.7B and 13B are the mesh-tensorflow training configurations (never released); 175B is
 * GPT-3 DaVinci, the size GPT-Neo set out to replicate (for planning memory and parallel layouts).
 * All use vocabulary 50257, context 2048, window 256, MLP 4·d and gelu_new.
 *
 * <p>A preset is a pre-filled builder: {@code Preset.GPT_NEO_1_3B.builder().layers(12).build()}.
 */
public enum Preset {
    GPT_NEO_125M("125M", 768, 12, 12, true),
    GPT_NEO_350M("350M", 1024, 24, 16, true),
    GPT_NEO_760M("760M", 1536, 24, 16, true),
    GPT_NEO_1_3B("1.3B", 2048, 24, 16, true),
    GPT_NEO_2_7B("2.7B", 2560, 32, 20, true),
    /** mesh-tf's gpt3_6-7B_256.json uses global attention in every layer. */
    GPT_NEO_6_7B("6.7B", 4096, 32, 32, false),
    GPT_NEO_13B("13B", 5120, 40, 40, true),
    /** GPT-3 DaVinci's shape (Brown et al. 2020, table 2.1) with GPT-Neo's alternating attention. */
    GPT_175B("175B", 12288, 96, 96, true);

    private final String displayName;
    private final int hiddenSize;
    private final int layers;
    private final int heads;
    private final boolean alternatingLocal;

    Preset(String displayName, int hiddenSize, int layers, int heads, boolean alternatingLocal) {
        this.displayName = displayName;
        this.hiddenSize = hiddenSize;
        this.layers = layers;
        this.heads = heads;
        this.alternatingLocal = alternatingLocal;
    }

    /** The name users type: "125M", "1.3B", ... */
    public String displayName() {
        return displayName;
    }

    /** A builder filled with this shape; change any field before building. */
    public GptNeoBuilder builder() {
        GptNeoBuilder b = GptNeoBuilder.create()
                .vocabSize(50257).contextLength(2048).windowSize(256)
                .hiddenSize(hiddenSize).layers(layers).heads(heads);
        return alternatingLocal ? b.attention(AttentionType.GLOBAL, AttentionType.LOCAL) : b.attention(AttentionType.GLOBAL);
    }

    /** Looks a preset up by display name ("1.3B", case-insensitive, "gpt-neo-" prefix allowed) or enum name. */
    public static Preset byName(String name) {
        String wanted = name.trim().toUpperCase(Locale.ROOT).replaceFirst("^(ELEUTHERAI/)?GPT-NEO-", "");
        for (Preset p : values()) {
            if (p.displayName.equalsIgnoreCase(wanted) || p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "' (known: "
                + Arrays.stream(values()).map(Preset::displayName).collect(Collectors.joining(", ")) + ")");
    }
}
