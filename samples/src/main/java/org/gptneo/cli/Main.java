package org.gptneo.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.gptneo.backend.Backend;
import org.gptneo.backend.Backends;
import org.gptneo.parallel.mpi.MpiCommunicator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code gptneo} command. Exit codes: 0 success, 1 the command failed (one line
 * {@code gptneo: <message>} on stderr, plus the stack trace with {@code --verbose}), 2 a usage error
 * (at most three lines: the message naming the option, picocli's suggestion when it has one, and
 * {@code see gptneo CMD --help}).
 */
@Command(name = "gptneo",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "GPT-Neo for the JVM: generate text with a Hugging Face checkpoint, tokenize, convert"
                + " checkpoints, make a random model folder, describe a model, compute logits, time a model,"
                + " fine-tune a model or a LoRA adapter, measure perplexity, run the fine-tuning demo.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, DetokenizeCommand.class, ConvertCommand.class,
            InitCommand.class, InfoCommand.class, LogitsCommand.class, BenchCommand.class, DemoCommand.class, TrainCommand.class,
            PerplexityCommand.class, FillCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 success, 1 the command failed (one line on stderr), 2 usage error."})
public final class Main implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "On failure, print the stack trace after the one-line message.")
    boolean verbose;

    /** The bare {@code --backend} of {@code gptneo info}: report the backends instead of a model. */
    boolean backendReport;

    @Option(names = "--backend", scope = ScopeType.INHERIT, arity = "0..1", fallbackValue = BackendChoice.REPORT,
            paramLabel = "NAME",
            description = {"Compute on this backend: auto (CUDA when a usable GPU is present, else the CPU),",
                "cpu or cuda (default: auto). `gptneo info --backend` reports what each backend found."})
    void backend(String name) {
        if (!BackendChoice.apply(name)) {
            throw new ParameterException(spec.commandLine(), "--backend takes " + String.join(", ", BackendChoice.NAMES)
                    + ", got '" + name + "'");
        }
        backendReport |= BackendChoice.REPORT.equals(name);
    }

    public static void main(String[] args) {
        // the library's System.Logger warnings (e.g. an end-of-text id outside the vocabulary) as one line
        System.setProperty("java.util.logging.SimpleFormatter.format", "gptneo: %4$s: %5$s%6$s%n");
        System.setProperty("jdk.system.logger.format", "gptneo: %4$s: %5$s%6$s%n");
        // stdout is UTF-8 whatever the locale says (a POSIX locale would turn generated text into '?')
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        int code = commandLine().setOut(out).execute(args);
        out.flush();
        if (code != 0) {
            // a failed rank of an MPI job must not wait in MPI_Finalize for ranks that wait for it (nothing when MPI never started)
            MpiCommunicator.abandon("the command failed (exit " + code + ")");
        }
        System.exit(code);
    }

    /** The configured command line: run it with {@link CommandLine#execute}; tests set out and err first. */
    public static CommandLine commandLine() {
        CommandLine line = new CommandLine(new Main()).setExecutionExceptionHandler(new OneLineErrors())
                .setParameterExceptionHandler(new ShortUsageErrors());
        CommandLine train = line.getSubcommands().get("train");
        train.setDefaultValueProvider(((TrainCommand) train.getCommand()).runDefaults);
        return line;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: try generate, tokenize, detokenize, convert, init, info, logits, bench, demo, train, perplexity or fill");
    }

    /** Any exception a command throws: one line on stderr, the trace too with --verbose, exit 1. */
    static final class OneLineErrors implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
            PrintWriter err = cmd.getErr();
            err.println("gptneo: " + oneLine(e));
            if (verbose(parsed)) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        }

        private static boolean verbose(ParseResult parsed) {
            for (ParseResult p = parsed; p != null; p = p.subcommand()) {
                if (p.hasMatchedOption("--verbose")) {
                    return true;
                }
            }
            return false;
        }
    }

    /** The exception's message (its first line), or its class's simple name when it has none. */
    static String oneLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        message = message.strip();
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl).strip();
    }

    /** "gptneo VERSION", the Java version and the default backend. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "gptneo " + projectVersion(),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vendor", "unknown vendor") + ")",
                "backend " + backendName()
            };
        }

        private static String backendName() {
            try (Backend backend = Backends.defaultBackend()) {
                return backend.name();
            } catch (RuntimeException e) {
                return "none (" + oneLine(e) + ")";
            }
        }
    }

    /** The project version Maven wrote into version.properties at build time. */
    static String projectVersion() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            // falls through to "unknown"
        }
        String v = p.getProperty("version", "");
        return v.isBlank() || v.startsWith("${") ? "unknown" : v;
    }
}
