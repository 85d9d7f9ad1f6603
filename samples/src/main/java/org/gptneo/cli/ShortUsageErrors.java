package org.gptneo.cli;

import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Usage errors in at most three lines instead of the whole usage: {@code gptneo: <message>} naming
 * the option, {@code did you mean ...?} when picocli has a suggestion, and {@code see gptneo CMD --help}.
 * An unknown option is reported before the missing required options it was probably meant to be.
 * Exit code 2.
 */
final class ShortUsageErrors implements IParameterExceptionHandler {
    /** Suggestions beyond these are noise. */
    private static final int MAX_SUGGESTIONS = 3;

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        ParameterException error = unknownFirst(e, cmd);
        PrintWriter err = cmd.getErr();
        err.println("gptneo: " + message(error, cmd));
        List<String> suggestions = error instanceof UnmatchedArgumentException u ? u.getSuggestions() : List.of();
        if (!suggestions.isEmpty()) {
            err.println("did you mean " + String.join(" or ", suggestions.subList(0, Math.min(MAX_SUGGESTIONS, suggestions.size())))
                    + "?");
        }
        err.println("see " + cmd.getCommandSpec().qualifiedName() + " --help");
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * The first unmatched argument, as its name alone ({@code --max-tokens} of {@code --max-tokens=5}),
     * rather than, say, the missing option it was meant to be.
     */
    private static ParameterException unknownFirst(ParameterException e, CommandLine cmd) {
        List<String> unmatched;
        if (e instanceof UnmatchedArgumentException u) {
            unmatched = u.getUnmatched();
        } else {
            ParseResult parsed = cmd.getParseResult();
            unmatched = parsed == null ? List.of() : parsed.unmatched();
        }
        if (unmatched.isEmpty()) {
            return e;
        }
        String first = unmatched.getFirst();
        if (first.startsWith("-") && first.contains("=")) {
            first = first.substring(0, first.indexOf('='));
        }
        return new UnmatchedArgumentException(cmd, List.of(first));
    }

    /** The first line of the message; an unmatched word where a command is expected is an unknown command. */
    private static String message(ParameterException e, CommandLine cmd) {
        if (e instanceof UnmatchedArgumentException u && !cmd.getSubcommands().isEmpty() && !u.getUnmatched().isEmpty()
                && !u.getUnmatched().getFirst().startsWith("-")) {
            return "Unknown command: '" + u.getUnmatched().getFirst() + "'";
        }
        return Main.oneLine(e);
    }
}
