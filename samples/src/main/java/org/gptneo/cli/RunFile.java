package org.gptneo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one run file says: train option values, and where the model comes from (an option such as
 * --preset, or a model file's keys inline). Two formats, told apart by their keys: this library's
 * sections ({@link RunKeys}) and GPT-NeoX's flat YAML ({@link NeoxRunFile}). YAML (which reads JSON
 * too) unless the name ends in {@code .json}.
 *
 * @param name    the file's name, which every error about it starts with
 * @param options option → value, as the command line would spell it
 * @param model   inline model-file keys (a new model's shape), or null
 * @param notes   keys read but without effect here, with why (shown once on stderr)
 */
record RunFile(String name, Map<String, String> options, ObjectNode model, List<String> notes) {
    private static final ObjectMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();

    /** True when this file names a model: a source option or inline keys. */
    boolean namesModel() {
        return model != null || RunKeys.MODEL_SOURCES.values().stream().anyMatch(options::containsKey);
    }

    static RunFile read(Path file) {
        String name = file.getFileName().toString();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such run file");
        }
        JsonNode root;
        try {
            root = (name.toLowerCase(Locale.ROOT).endsWith(".json") ? JSON : YAML).readTree(file.toFile());
        } catch (IOException e) {
            String message = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw new IllegalArgumentException(name + ": not readable JSON or YAML (" + message + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(name + ": a run file must be a map of sections (or of GPT-NeoX keys)");
        }
        return NeoxRunFile.looksLike(root) ? NeoxRunFile.read(root, name) : sections(root, name);
    }

    /** This library's format: a map of sections, each a map of keys. */
    static RunFile sections(JsonNode root, String name) {
        Map<String, String> options = new LinkedHashMap<>();
        ObjectNode model = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> section = it.next();
            String sectionName = RunKeys.normal(section.getKey());
            if (!RunKeys.SECTIONS.containsKey(sectionName)) {
                throw new IllegalArgumentException(name + ": unknown section '" + section.getKey() + "' (sections: "
                        + String.join(", ", RunKeys.SECTIONS.keySet()) + ")");
            }
            if (!section.getValue().isObject()) {
                throw new IllegalArgumentException(name + ": section '" + sectionName + "' must be a map of keys");
            }
            List<String> degrees = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> keys = section.getValue().fields(); keys.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = keys.next();
                String key = RunKeys.normal(entry.getKey()), where = sectionName + "." + key;
                if (sectionName.equals("parallel") && RunKeys.DEGREES.contains(key)) {
                    degrees.add(key + "=" + scalar(entry.getValue(), name, where));
                } else if (sectionName.equals("model") && !RunKeys.MODEL_SOURCES.containsKey(key)) {
                    if (model == null) model = JsonNodeFactory.instance.objectNode();
                    model.set(key, entry.getValue());       // a model file's key: checked when the model is built
                } else {
                    String option = RunKeys.option(sectionName, key).orElseThrow(() -> new IllegalArgumentException(
                            name + ": unknown key '" + where + "' (" + sectionName + " keys: "
                                    + String.join(", ", RunKeys.SECTIONS.get(sectionName).keySet()) + ")"));
                    options.put(option, scalar(entry.getValue(), name, where));
                }
            }
            if (!degrees.isEmpty()) options.put("--parallel", String.join(",", degrees));
        }
        RunFile file = new RunFile(name, options, model, List.of());
        long sources = RunKeys.MODEL_SOURCES.values().stream().filter(options::containsKey).count() + (model != null ? 1 : 0);
        if (sources > 1) {
            throw new IllegalArgumentException(name + ": the model section names more than one model (path, preset, config"
                    + " or a model file's keys inline): keep one");
        }
        return file;
    }

    /** A key's value as the command line spells it: scalars as text, a list joined by commas. */
    static String scalar(JsonNode value, String name, String where) {
        if (value.isArray()) {
            List<String> items = new ArrayList<>();
            for (JsonNode item : value) items.add(scalar(item, name, where));
            return String.join(",", items);
        }
        if (value.isObject() || value.isNull()) {
            throw new IllegalArgumentException(name + ": '" + where + "' must be a value, got " + value);
        }
        return value.asText();
    }
}
