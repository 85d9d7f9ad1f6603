package org.gptneo.backend.cpu;

/** Whether the Vector API (the incubator module {@code jdk.incubator.vector}) is on this JVM. */
final class VectorApi {
    static final String MODULE = "jdk.incubator.vector";

    private VectorApi() {}

    static boolean isPresent() {
        return ModuleLayer.boot().findModule(MODULE).isPresent();
    }

    /** One clear line instead of a NoClassDefFoundError at the first kernel. */
    static void require() {
        if (!isPresent()) {
            throw new IllegalStateException(reason());
        }
    }

    static String reason() {
        return "the CPU backend needs the Vector API: start java with --add-modules " + MODULE;
    }
}
