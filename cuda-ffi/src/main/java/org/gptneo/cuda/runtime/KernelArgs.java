package org.gptneo.cuda.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel's arguments in order, each with its C type: device pointers and 64-bit integers
 * ({@code long long}), 32-bit integers ({@code int}), floats. Built fluently:
 * {@code KernelArgs.of().pointer(x).pointer(out).i64(n).f32(alpha)}.
 */
public final class KernelArgs {
    /** The C type of one argument. */
    public enum Kind { POINTER, I64, I32, F32 }

    /** One argument: its kind and its bits (a float's raw bits for F32). */
    public record Arg(Kind kind, long bits) {}

    private final List<Arg> args = new ArrayList<>();

    private KernelArgs() {}

    public static KernelArgs of() {
        return new KernelArgs();
    }

    /** A device pointer ({@code T*}). */
    public KernelArgs pointer(long address) {
        args.add(new Arg(Kind.POINTER, address));
        return this;
    }

    /** A {@code long long}. */
    public KernelArgs i64(long value) {
        args.add(new Arg(Kind.I64, value));
        return this;
    }

    /** An {@code int}. */
    public KernelArgs i32(int value) {
        args.add(new Arg(Kind.I32, value));
        return this;
    }

    /** A {@code float}. */
    public KernelArgs f32(float value) {
        args.add(new Arg(Kind.F32, Float.floatToRawIntBits(value)));
        return this;
    }

    public List<Arg> list() {
        return List.copyOf(args);
    }
}
