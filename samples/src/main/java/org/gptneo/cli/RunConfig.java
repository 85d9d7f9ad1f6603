package org.gptneo.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Run files merged in order, later files winning key by key. The model is decided by the latest file
 * that names one: a path, preset or config replaces whatever came before; inline model keys replace an
 * earlier path, preset or config and merge over earlier inline keys.
 *
 * @param options option → value, as the command line would spell it
 * @param model   inline model-file keys, or null
 * @param notes   what the files said that has no effect here, one line per file and reason
 */
record RunConfig(Map<String, String> options, ObjectNode model, List<String> notes) {
    static final RunConfig NONE = new RunConfig(Map.of(), null, List.of());

    static RunConfig merge(List<Path> files) {
        Map<String, String> options = new LinkedHashMap<>();
        ObjectNode model = null;
        List<String> notes = new ArrayList<>();
        for (Path path : files) {
            RunFile file = RunFile.read(path);
            if (file.namesModel()) {
                RunKeys.MODEL_SOURCES.values().forEach(options::remove);
                if (file.model() == null) {
                    model = null;
                } else {
                    if (model == null) model = JsonNodeFactory.instance.objectNode();
                    model.setAll(file.model());
                }
            }
            options.putAll(file.options());
            file.notes().forEach(note -> notes.add(file.name() + ": " + note));
        }
        return new RunConfig(options, model, notes);
    }
}
