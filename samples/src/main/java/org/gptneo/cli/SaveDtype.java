package org.gptneo.cli;

import java.util.Locale;
import org.gptneo.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** The {@code --dtype f32|f16|bf16} of commands that write weights ({@code convert}, {@code init}). */
final class SaveDtype {
    private SaveDtype() {}

    static DType parse(CommandLine command, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new ParameterException(command, "--dtype must be f32, f16 or bf16, got '" + value + "'");
        };
    }
}
