package org.gptneo.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gptneo detokenize}: token ids → their text, exactly, with no newline added. */
@Command(name = "detokenize", mixinStandardHelpOptions = true,
        description = {
            "Print the text of token ids exactly, with no newline added.",
            "",
            "The text goes to stdout as UTF-8 with NO trailing newline, so round trips are",
            "exact: ./gptneo detokenize --ids \"$(./gptneo tokenize --text 'Hi')\" prints Hi.",
            "Bytes that do not form valid UTF-8 become U+FFFD, as Hugging Face's decode does",
            "(errors='replace', no clean-up of tokenization spaces). An id outside the",
            "vocabulary is an error."})
final class DetokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    TokenizerSource tokenizer;

    @Option(names = "--ids", required = true, paramLabel = "IDS",
            description = "One row of token ids separated by ',', e.g. 15496,995 (a JSON array such as [15496,995] is accepted too).")
    String ids;

    @Override
    public Integer call() {
        int[] parsed = TokenIds.row("--ids", ids);
        String text = TokenizerSource.tokenizer(tokenizer).decode(parsed);
        PrintWriter out = spec.commandLine().getOut();
        out.print(text);
        out.flush();
        return 0;
    }
}
