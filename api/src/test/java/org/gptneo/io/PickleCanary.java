package org.gptneo.io;

/**
 * Named by the hostile fixture canary_class.bin (GLOBAL org.gptneo.io PickleCanary + REDUCE): if the
 * unpickler ever loaded or instantiated a class a pickle names, this initialiser would flip the flag.
 */
final class PickleCanary {
    static {
        CanaryFlag.INITIALIZED.set(true);
    }

    PickleCanary() {
        CanaryFlag.INSTANTIATED.set(true);
    }

    /** Held apart from PickleCanary so that reading it does not initialise PickleCanary. */
    static final class CanaryFlag {
        static final java.util.concurrent.atomic.AtomicBoolean INITIALIZED = new java.util.concurrent.atomic.AtomicBoolean();
        static final java.util.concurrent.atomic.AtomicBoolean INSTANTIATED = new java.util.concurrent.atomic.AtomicBoolean();

        private CanaryFlag() {}
    }
}
