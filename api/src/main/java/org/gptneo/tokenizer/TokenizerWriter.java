package org.gptneo.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a tokenizer as Hugging Face's slow-tokenizer files, {@code vocab.json} (token → id, in id
 * order) and {@code merges.txt} ({@code #version: 0.2}, then one merge per line in rank order), which
 * {@link Gpt2Tokenizer#fromFolder} and Hugging Face's {@code GPT2Tokenizer} read back, and for a
 * tokenizer with the mask token ({@link Gpt2Tokenizer#withMaskToken()}) {@code added_tokens.json}
 * ({@code {"[MASK]": id}}, the token left out of vocab.json). The only other added token these files
 * can express is {@code <|endoftext|>}: a tokenizer with others (from a tokenizer.json) is refused
 * rather than written in a form that encodes differently.
 */
public final class TokenizerWriter {
    /** The file names written, as a model folder holds them. */
    public static final String VOCAB = "vocab.json";
    public static final String MERGES = "merges.txt";

    private TokenizerWriter() {}

    /**
     * Writes {@code dir/vocab.json} and {@code dir/merges.txt} (each replaced atomically), and
     * {@code dir/added_tokens.json} for a mask token (else removes one), creating {@code dir} if
     * needed; returns the files written.
     */
    public static List<Path> writeVocabAndMerges(Gpt2Tokenizer tokenizer, Path dir) {
        ObjectNode added = new ObjectMapper().createObjectNode();
        for (Gpt2Tokenizer.AddedToken t : tokenizer.addedTokens()) {
            if (t.content().equals(Gpt2Tokenizer.MASK) && t.equals(Gpt2Tokenizer.maskToken(t.id()))) {
                added.put(t.content(), t.id());
            } else if (!t.content().equals(Gpt2Tokenizer.END_OF_TEXT)) {
                throw new TokenizerException(tokenizer + ": added token '" + t.content()
                        + "' cannot be written to vocab.json + merges.txt (only " + Gpt2Tokenizer.END_OF_TEXT + " and "
                        + Gpt2Tokenizer.MASK + " can)");
            }
        }
        ObjectNode vocab = new ObjectMapper().createObjectNode();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            String token = tokenizer.tokenOrNull(id);
            if (token != null && !(added.has(token) && added.get(token).intValue() == id)) {
                vocab.put(token, id);
            }
        }
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (String merge : tokenizer.merges()) {
            merges.append(merge).append('\n');
        }
        Path vocabFile = dir.resolve(VOCAB), mergesFile = dir.resolve(MERGES);
        List<Path> written = new ArrayList<>(List.of(vocabFile, mergesFile));
        try {
            Files.createDirectories(dir);
            write(vocabFile, new ObjectMapper().writeValueAsString(vocab) + "\n");
            write(mergesFile, merges.toString());
            if (!added.isEmpty()) {
                Path addedFile = dir.resolve(TokenizerFiles.ADDED_TOKENS);
                write(addedFile, new ObjectMapper().writeValueAsString(added) + "\n");
                written.add(addedFile);
            } else {
                Files.deleteIfExists(dir.resolve(TokenizerFiles.ADDED_TOKENS));   // a stale one would add tokens
            }
        } catch (JsonProcessingException e) {
            throw new TokenizerException(vocabFile + ": cannot write: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerException(dir + ": cannot write the tokenizer files: " + e.getMessage(), e);
        }
        return List.copyOf(written);
    }

    private static void write(Path file, String text) throws IOException {
        Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
