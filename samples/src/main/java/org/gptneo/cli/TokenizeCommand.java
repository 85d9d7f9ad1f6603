package org.gptneo.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gptneo tokenize}: text → one line holding a JSON array of token ids. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {
            "Print the token ids of a text as one line of JSON, e.g. [15496,995].",
            "",
            "Encodes as Hugging Face's GPT-2 tokenizer does: the literal <|endoftext|> (and",
            "any added token of a tokenizer.json) becomes its id (50256); no BOS is added.",
            "--file reads the file's exact bytes as UTF-8: a final newline is text like any",
            "other (\"Hello world\\n\" → [15496,995,198]) and a BOM stays U+FEFF. Malformed",
            "UTF-8 is an error. Use --file for exact input: --text goes through the",
            "locale's decoding of command-line arguments.",
            "",
            "The tokenizer is --model's (its tokenizer files, else GPT-2's built-in one), or",
            "GPT-2's built-in one without --model or with --preset/--config, whose random-weight",
            "models use it."})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    TokenizerSource tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text to encode.")
        String text;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "A UTF-8 file to encode, byte for byte.")
        Path file;
    }

    @Override
    public Integer call() {
        String text = input.text != null ? input.text : readUtf8(input.file);
        int[] ids = TokenizerSource.tokenizer(tokenizer).encode(text);
        PrintWriter out = spec.commandLine().getOut();
        out.println(TokenIds.json(ids));
        out.flush();
        return 0;
    }

    /** The file's bytes decoded as strict UTF-8: nothing stripped, malformed input an error naming the file and offset. */
    static String readUtf8(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + Main.oneLine(e), e);
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);   // UTF-8 never needs more chars than bytes
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new IllegalArgumentException(file + ": not valid UTF-8 (malformed byte sequence at byte offset "
                    + in.position() + ")");
        }
        return out.flip().toString();
    }
}
