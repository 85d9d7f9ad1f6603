package org.gptneo.tokenizer;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a model folder's tokenizer: {@code tokenizer.json} (HF fast-tokenizer format), else
 * {@code vocab.json} + {@code merges.txt} (HF slow-tokenizer format, with the added tokens of an
 * {@code added_tokens.json} beside them), else the built-in GPT-2 tokenizer.
 *
 * <p>Only GPT-2-style byte-level BPE is accepted; anything that would make HF tokenize differently
 * (another model type or pre-tokenizer, a normalizer, a prefix space, dropout, subword affixes, byte
 * fallback, ignore_merges) is rejected rather than silently ignored. Of an added token's options,
 * lstrip and rstrip are honoured; single_word and normalized are not (GPT-2's tokens use neither).
 */
final class TokenizerFiles {
    /** Larger ids are taken for a mistake rather than a vocabulary. */
    private static final int MAX_ID = 10_000_000;

    /** Added tokens beside vocab.json + merges.txt (HF's slow-tokenizer file): {@code {"[MASK]": 50257}}. */
    static final String ADDED_TOKENS = "added_tokens.json";

    private TokenizerFiles() {}

    static Gpt2Tokenizer load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new TokenizerException(dir + ": not a folder");
        }
        Path tokenizerJson = dir.resolve("tokenizer.json");
        Path vocabJson = dir.resolve("vocab.json");
        Path mergesTxt = dir.resolve("merges.txt");
        if (Files.exists(tokenizerJson)) {
            return fromTokenizerJson(tokenizerJson);
        }
        if (Files.exists(vocabJson) || Files.exists(mergesTxt)) {
            if (!Files.exists(vocabJson)) {
                throw new TokenizerException(mergesTxt + ": found without vocab.json");
            }
            if (!Files.exists(mergesTxt)) {
                throw new TokenizerException(vocabJson + ": found without merges.txt");
            }
            return fromVocabAndMerges(vocabJson, mergesTxt);
        }
        return Gpt2Tokenizer.builtIn();
    }

    private static JsonNode readJson(Path file) {
        ObjectMapper mapper = new ObjectMapper();
        mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        try {
            return mapper.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new TokenizerException(file + ": invalid JSON" + where + ": " + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read: " + oneLine(String.valueOf(e.getMessage())), e);
        }
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }

    static Gpt2Tokenizer fromVocabAndMerges(Path vocabJson, Path mergesTxt) {
        JsonNode vocab = readJson(vocabJson);
        if (!vocab.isObject()) {
            throw new TokenizerException(vocabJson + ": expected a JSON object of token → id, got " + kind(vocab));
        }
        Builder builder = new Builder(vocabJson.toString());
        builder.vocab(vocab, vocabJson.toString());
        List<String> lines;
        try {
            lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TokenizerException(mergesTxt + ": cannot read: " + oneLine(String.valueOf(e.getMessage())), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if ((i == 0 && line.startsWith("#version")) || line.isBlank()) {
                continue;
            }
            String where = mergesTxt + ": line " + (i + 1);
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new TokenizerException(where + ": expected two tokens separated by one space, got '" + line + "'");
            }
            builder.merge(parts[0], parts[1], where, vocabJson.getFileName().toString());
        }
        // HF registers <|endoftext|> as GPT-2's special token, so encode() splits it out
        Integer eos = builder.ids.get(Gpt2Tokenizer.END_OF_TEXT);
        if (eos != null) {
            builder.added.add(new Gpt2Tokenizer.AddedToken(Gpt2Tokenizer.END_OF_TEXT, eos, false, false));
        }
        Path addedJson = vocabJson.resolveSibling(ADDED_TOKENS);
        if (Files.exists(addedJson)) {
            builder.addedTokens(readJson(addedJson), addedJson.toString());
        }
        return builder.build();
    }

    static Gpt2Tokenizer fromTokenizerJson(Path file) {
        JsonNode root = readJson(file);
        String name = file.toString();
        if (!root.isObject()) {
            throw new TokenizerException(name + ": expected a JSON object, got " + kind(root));
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw new TokenizerException(name + ": no \"model\" object");
        }
        String type = textOrNull(model.get("type"));
        if (type != null && !type.equals("BPE")) {
            throw new TokenizerException(name + ": model type " + type + " is not supported (only BPE)");
        }
        JsonNode dropout = model.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() != 0) {
            throw new TokenizerException(name + ": BPE dropout is not supported");
        }
        for (String affix : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            String value = textOrNull(model.get(affix));
            if (value != null && !value.isEmpty()) {
                throw new TokenizerException(name + ": model." + affix + " '" + value + "' is not supported");
            }
        }
        for (String flag : new String[] {"byte_fallback", "ignore_merges"}) {
            if (model.path(flag).asBoolean(false)) {
                throw new TokenizerException(name + ": model." + flag + " = true is not supported");
            }
        }
        JsonNode normalizer = root.get("normalizer");
        if (normalizer != null && !normalizer.isNull()) {
            throw new TokenizerException(name + ": normalizer " + textOrNull(normalizer.get("type"))
                    + " is not supported (GPT-2 has none)");
        }
        if (root.has("pre_tokenizer")) {
            JsonNode pre = root.get("pre_tokenizer");
            String preType = pre.isObject() ? textOrNull(pre.get("type")) : null;
            if (!"ByteLevel".equals(preType)) {
                throw new TokenizerException(name + ": pre_tokenizer " + (pre.isNull() ? "null" : preType)
                        + " is not supported (only GPT-2's ByteLevel)");
            }
            if (pre.path("add_prefix_space").asBoolean(false)) {
                throw new TokenizerException(name + ": pre_tokenizer.add_prefix_space = true is not supported");
            }
            if (!pre.path("use_regex").asBoolean(true)) {
                throw new TokenizerException(name + ": pre_tokenizer.use_regex = false is not supported");
            }
        }
        JsonNode vocab = model.get("vocab");
        if (vocab == null || !vocab.isObject()) {
            throw new TokenizerException(name + ": model.vocab is not an object of token → id");
        }
        JsonNode merges = model.get("merges");
        if (merges == null || !merges.isArray()) {
            throw new TokenizerException(name + ": model.merges is not an array");
        }
        Builder builder = new Builder(name);
        builder.vocab(vocab, name + ": model.vocab");
        for (int i = 0; i < merges.size(); i++) {
            JsonNode merge = merges.get(i);
            String where = name + ": model.merges[" + i + "]";
            String a;
            String b;
            if (merge.isTextual()) {
                String[] parts = merge.asText().split(" ", -1);
                if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                    throw new TokenizerException(where + ": expected two tokens separated by one space, got '"
                            + merge.asText() + "'");
                }
                a = parts[0];
                b = parts[1];
            } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()
                    && !merge.get(0).asText().isEmpty() && !merge.get(1).asText().isEmpty()) {
                a = merge.get(0).asText();
                b = merge.get(1).asText();
            } else {
                throw new TokenizerException(where + ": expected \"left right\" or [left, right], got " + merge);
            }
            builder.merge(a, b, where, "model.vocab");
        }
        JsonNode added = root.get("added_tokens");
        if (added != null && !added.isNull()) {
            if (!added.isArray()) {
                throw new TokenizerException(name + ": added_tokens is not an array");
            }
            for (int i = 0; i < added.size(); i++) {
                builder.addedToken(added.get(i), name + ": added_tokens[" + i + "]");
            }
        }
        Integer eos = builder.ids.get(Gpt2Tokenizer.END_OF_TEXT);
        if (eos != null && builder.added.stream().noneMatch(t -> t.id() == eos)) {
            // GPT2TokenizerFast registers the eos token (special_tokens_map.json) as an added token
            builder.added.add(new Gpt2Tokenizer.AddedToken(Gpt2Tokenizer.END_OF_TEXT, eos, false, false));
        }
        return builder.build();
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static String kind(JsonNode node) {
        return node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    /** Collects and checks the vocabulary, merges and added tokens. */
    private static final class Builder {
        final String source;
        final Map<String, Integer> ids = new HashMap<>();
        final Map<Integer, String> byId = new HashMap<>();
        final List<int[]> merges = new ArrayList<>();
        final List<Gpt2Tokenizer.AddedToken> added = new ArrayList<>();
        int maxId = -1;

        Builder(String source) {
            this.source = source;
        }

        void vocab(JsonNode vocab, String where) {
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                JsonNode value = e.getValue();
                if (!value.isIntegralNumber() || !value.canConvertToInt()) {
                    throw new TokenizerException(where + ": token '" + e.getKey() + "' has id " + value
                            + ", not an integer");
                }
                put(e.getKey(), value.intValue(), where);
            }
            if (ids.isEmpty()) {
                throw new TokenizerException(where + ": the vocabulary is empty");
            }
        }

        private void put(String token, int id, String where) {
            if (token.isEmpty()) {
                throw new TokenizerException(where + ": empty token string (id " + id + ")");
            }
            if (id < 0 || id > MAX_ID) {
                throw new TokenizerException(where + ": token '" + token + "' has id " + id + ", outside [0, "
                        + MAX_ID + "]");
            }
            String other = byId.putIfAbsent(id, token);
            if (other != null && !other.equals(token)) {
                throw new TokenizerException(where + ": id " + id + " is given to both '" + other + "' and '"
                        + token + "'");
            }
            Integer otherId = ids.putIfAbsent(token, id);
            if (otherId != null && otherId != id) {
                throw new TokenizerException(where + ": token '" + token + "' has two ids, " + otherId + " and " + id);
            }
            maxId = Math.max(maxId, id);
        }

        void merge(String a, String b, String where, String vocabName) {
            Integer left = ids.get(a);
            Integer right = ids.get(b);
            Integer result = ids.get(a + b);
            if (left == null || right == null) {
                throw new TokenizerException(where + ": merge '" + a + " " + b + "' uses '" + (left == null ? a : b)
                        + "', which is not in " + vocabName);
            }
            if (result == null) {
                throw new TokenizerException(where + ": merge '" + a + " " + b + "' makes '" + a + b
                        + "', which is not in " + vocabName);
            }
            merges.add(new int[] {left, right, result});
        }

        void addedToken(JsonNode token, String where) {
            if (!token.isObject() || !token.path("content").isTextual() || !token.path("id").isIntegralNumber()
                    || !token.path("id").canConvertToInt()) {
                throw new TokenizerException(where + ": expected an object with a string \"content\" and an integer"
                        + " \"id\", got " + token);
            }
            String content = token.get("content").asText();
            int id = token.get("id").intValue();
            put(content, id, where);
            added.add(new Gpt2Tokenizer.AddedToken(content, id, token.path("lstrip").asBoolean(false),
                    token.path("rstrip").asBoolean(false)));
        }

        /** added_tokens.json: token → id, each an added token ({@link Gpt2Tokenizer#MASK} with its own stripping). */
        void addedTokens(JsonNode tokens, String where) {
            if (!tokens.isObject()) {
                throw new TokenizerException(where + ": expected a JSON object of token → id, got " + kind(tokens));
            }
            for (Map.Entry<String, JsonNode> e : tokens.properties()) {
                JsonNode value = e.getValue();
                if (!value.isIntegralNumber() || !value.canConvertToInt()) {
                    throw new TokenizerException(where + ": token '" + e.getKey() + "' has id " + value + ", not an integer");
                }
                int id = value.intValue();
                put(e.getKey(), id, where);
                added.add(e.getKey().equals(Gpt2Tokenizer.MASK) ? Gpt2Tokenizer.maskToken(id)
                        : new Gpt2Tokenizer.AddedToken(e.getKey(), id, false, false));
            }
        }

        Gpt2Tokenizer build() {
            String[] tokens = new String[maxId + 1];
            byId.forEach((id, token) -> tokens[id] = token);
            int n = merges.size();
            int[] left = new int[n];
            int[] right = new int[n];
            int[] result = new int[n];
            for (int r = 0; r < n; r++) {
                left[r] = merges.get(r)[0];
                right[r] = merges.get(r)[1];
                result[r] = merges.get(r)[2];
            }
            return Gpt2Tokenizer.create(source, tokens, left, right, result, added);
        }
    }
}
