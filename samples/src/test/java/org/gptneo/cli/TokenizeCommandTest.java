package org.gptneo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenize and detokenize. */
class TokenizeCommandTest {
    @TempDir
    Path dir;

    @Test
    void textBecomesOneLineOfJson() {
        Cli r = Cli.run("tokenize", "--text", "Hello world");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("[15496,995]" + System.lineSeparator());
        assertThat(r.err()).isEmpty();
    }

    @Test
    void aFileIsReadByteForByteWithItsFinalNewline() throws Exception {
        Path file = Files.writeString(dir.resolve("hello.txt"), "Hello world\n");
        Cli r = Cli.run("tokenize", "--file", file.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("[15496,995,198]");
    }

    @Test
    void aBomIsKeptAsText() throws Exception {
        Path file = Files.write(dir.resolve("bom.txt"), new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'H', 'i'});
        Cli r = Cli.run("tokenize", "--file", file.toString());
        assertThat(r.out().strip()).isEqualTo(TokenIds.json(Gpt2Tokenizer.builtIn().encode("\uFEFFHi")));
    }

    @Test
    void endOfTextBecomesItsId() {
        Cli r = Cli.run("tokenize", "--text", "Hi<|endoftext|>");
        assertThat(r.out().strip()).isEqualTo("[17250,50256]");
        assertThat(Cli.run("tokenize", "--text", "").out().strip()).isEqualTo("[]");
    }

    @Test
    void malformedUtf8IsAOneLineErrorNamingTheFile() throws Exception {
        Path file = Files.write(dir.resolve("latin1.txt"), "café".getBytes(StandardCharsets.ISO_8859_1));
        Cli r = Cli.run("tokenize", "--file", file.toString());
        assertOneLineError(r, "latin1.txt: not valid UTF-8 (malformed byte sequence at byte offset 3)");
        assertOneLineError(Cli.run("tokenize", "--file", dir.resolve("absent.txt").toString()), "absent.txt: no such file");
    }

    @Test
    void aModelFolderWithoutTokenizerFilesUsesTheBuiltInOne() {
        Cli r = Cli.run("tokenize", "--model", dir.toString(), "--text", "Hello world");
        assertThat(r.out().strip()).isEqualTo("[15496,995]");
        assertOneLineError(Cli.run("tokenize", "--model", dir.resolve("nope").toString(), "--text", "x"), "no such model folder");
    }

    @Test
    void aPresetOrModelFileUsesTheBuiltInTokenizerTheirModelsUse() {
        Path config = TinyModelFile.write(dir);
        for (String[] source : new String[][] {{"--preset", "125M"}, {"--config", config.toString()}}) {
            Cli r = Cli.run("tokenize", source[0], source[1], "--text", "Hello world");
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("[15496,995]" + System.lineSeparator());
            assertThat(Cli.run("detokenize", source[0], source[1], "--ids", "15496,995").out()).isEqualTo("Hello world");
        }
        assertOneLineError(Cli.run("tokenize", "--preset", "999M", "--text", "x"), "unknown preset '999M'");
        assertOneLineError(Cli.run("tokenize", "--config", dir.resolve("absent.yaml").toString(), "--text", "x"),
                "absent.yaml: no such model file");
        assertThat(Cli.run("tokenize", "--preset", "125M", "--model", dir.toString(), "--text", "x").exitCode()).isEqualTo(2);
    }

    @Test
    void textAndFileAreExclusiveAndOneIsRequired() {
        assertThat(Cli.run("tokenize", "--text", "a", "--file", "b").exitCode()).isEqualTo(2);
        assertThat(Cli.run("tokenize").exitCode()).isEqualTo(2);
        assertThat(Cli.run("detokenize").exitCode()).isEqualTo(2);
    }

    @Test
    void detokenizePrintsTheTextExactlyWithoutANewline() {
        Cli r = Cli.run("detokenize", "--ids", "15496,995");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("Hello world");
        assertThat(Cli.run("detokenize", "--ids", " 15496 , 995, 198 ").out()).isEqualTo("Hello world\n");
        assertThat(Cli.run("detokenize", "--ids", "").out()).isEmpty();
    }

    @Test
    void roundTripsAreExact() throws Exception {
        String text = "  Grüße, 世界!\n\tcode: x += 1  # 🙂\r\n<|endoftext|>end\n\n";
        Path file = Files.writeString(dir.resolve("text.txt"), text);
        Cli ids = Cli.run("tokenize", "--file", file.toString());
        assertThat(ids.exitCode()).as(ids.err()).isZero();
        Cli back = Cli.run("detokenize", "--ids", ids.out().strip());   // the JSON array is accepted as is
        assertThat(back.exitCode()).as(back.err()).isZero();
        assertThat(back.out()).isEqualTo(text);
    }

    @Test
    void idsOutsideTheVocabularyAreOneLineErrors() {
        assertOneLineError(Cli.run("detokenize", "--ids", "15496,50257"), "token id 50257 is outside the vocabulary [0, 50257)");
        assertOneLineError(Cli.run("detokenize", "--ids", "-1"), "token id -1 is outside the vocabulary");
        assertOneLineError(Cli.run("detokenize", "--ids", "1,x"), "--ids: 'x' (position 2) is not an integer token id");
    }

    static void assertOneLineError(Cli r, String fragment) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("gptneo: ").contains(fragment);
        assertThat(r.out()).isEmpty();
    }
}
