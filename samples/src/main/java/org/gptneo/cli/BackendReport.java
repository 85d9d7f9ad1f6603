package org.gptneo.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.gptneo.backend.Backend;
import org.gptneo.backend.BackendProvider;
import org.gptneo.backend.Backends;

/** {@code gptneo info --backend}: every registered backend, what it found here, and which one auto picks. */
final class BackendReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BackendReport() {}

    static ObjectNode json() {
        ObjectNode report = JSON.createObjectNode();
        try (Backend selected = Backends.defaultBackend()) {
            report.put("selected", selected.name());
            report.put("device", selected.device().toString());
        } catch (RuntimeException e) {
            report.put("selected", "none");
            report.put("error", Main.oneLine(e));
        }
        ArrayNode backends = report.putArray("backends");
        for (BackendProvider p : Backends.providers()) {
            ObjectNode b = backends.addObject();
            b.put("name", p.name());
            b.put("priority", p.priority());
            boolean available = p.isAvailable();
            b.put("available", available);
            if (available) {
                b.put("devices", p.deviceCount());
            } else {
                b.put("reason", p.unavailableReason());
            }
            b.set("details", JSON.valueToTree(p.details()));
        }
        return report;
    }
}
