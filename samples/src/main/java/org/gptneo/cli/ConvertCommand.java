package org.gptneo.cli;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gptneo.io.Converter;
import org.gptneo.io.SaveOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gptneo convert}: a checkpoint → a Hugging Face safetensors folder; prints the files written. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {
            "Convert a checkpoint to a Hugging Face safetensors model folder.",
            "",
            "SOURCE is one of:",
            "  a model folder        pytorch_model.bin (or its sharded index), or safetensors",
            "                        to re-shard or change dtype; its config.json is kept,",
            "                        extra keys included",
            "  a weights file        .bin/.pt/.pth (torch zip) or .safetensors, with --config",
            "                        (a config.json or a model file, told apart by their",
            "                        keys) or the config.json next to it",
            "  a mesh-tf config      EleutherAI's original .json (n_embd, n_layer, ...): only",
            "                        config.json is written (there are no weights)",
            "Prints the path of each file written, one per line. --out may be the source",
            "folder (the .bin files then stay next to the new files)."})
final class ConvertCommand implements Callable<Integer> {
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)\\s*([a-z]*)");
    private static final Map<String, Long> UNITS = Map.ofEntries(
            Map.entry("", 1L), Map.entry("b", 1L),
            Map.entry("kb", 1_000L), Map.entry("mb", 1_000_000L), Map.entry("gb", 1_000_000_000L),
            Map.entry("tb", 1_000_000_000_000L),
            Map.entry("kib", 1L << 10), Map.entry("mib", 1L << 20), Map.entry("gib", 1L << 30), Map.entry("tib", 1L << 40));

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "A model folder, a weights file or a mesh-tf config JSON.")
    Path source;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write (created if needed).")
    Path out;

    @Option(names = "--config", paramLabel = "FILE",
            description = "The config of a single weights file: a Hugging Face config.json or a model file (JSON or YAML,"
                    + " kebab-case keys), told apart by their keys (default: the config.json next to the file).")
    Path config;

    @Option(names = "--dtype", paramLabel = "f32|f16|bf16", defaultValue = "f32",
            description = "The stored dtype of every tensor (default: ${DEFAULT-VALUE}); narrowing rounds to nearest even.")
    String dtype;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", defaultValue = "5GB",
            description = "The most tensor bytes per safetensors file (default: ${DEFAULT-VALUE}, as Hugging Face),"
                    + " e.g. 500MB, 5GB, 2GiB or a number of bytes: KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB"
                    + " of 1024 (case-insensitive). Larger weights are written as model-0000k-of-0000n.safetensors shards"
                    + " plus model.safetensors.index.json.")
    String maxShardSize;

    @Override
    public Integer call() {
        SaveOptions options = SaveOptions.defaults().withDtype(SaveDtype.parse(spec.commandLine(), dtype)).withMaxShardBytes(parseSize(maxShardSize));
        Converter.Result result = Converter.convert(source, config, out, options);
        PrintWriter stdout = spec.commandLine().getOut();
        for (Path file : result.written()) {
            stdout.println(file);
        }
        stdout.flush();
        return 0;
    }


    private long parseSize(String text) {
        try {
            return size(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    /** "500MB" → 500,000,000; "2GiB" → 2,147,483,648; "123" → 123 bytes. At least 1 byte. */
    static long size(String text) {
        Matcher m = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        Long unit = m.matches() ? UNITS.get(m.group(2)) : null;
        if (unit == null) {
            throw new IllegalArgumentException("--max-shard-size: '" + text + "' is not a size (e.g. 500MB, 5GB, 2GiB or bytes)");
        }
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit));
        if (bytes.compareTo(BigDecimal.ONE) < 0) {
            throw new IllegalArgumentException("--max-shard-size: '" + text + "' is less than 1 byte");
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("--max-shard-size: '" + text + "' is too large");
        }
        return bytes.longValue();   // a fraction of a byte is dropped
    }
}
