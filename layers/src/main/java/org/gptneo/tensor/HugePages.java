package org.gptneo.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Optional;

/**
 * Large zeroed memory backed by transparent huge pages where Linux offers them: an anonymous
 * {@code mmap} aligned to 2 MiB and marked {@code MADV_HUGEPAGE}, unmapped when the arena closes. The
 * kernel hands such memory over zeroed, 2 MiB per page fault instead of 4 KiB, so filling it once
 * (loading weights, a workspace's first step) costs a 512th of the faults and no separate zeroing
 * pass. Elsewhere (another OS, native access not enabled for this module, a failed call) it is the
 * arena's own allocation. For memory that lives as long as a real arena, not a workspace's step.
 */
public final class HugePages {
    /** Below this many bytes the arena's allocation is used: a huge page would mostly be waste. */
    public static final long MIN_BYTES = 4L << 20;
    private static final long HUGE_PAGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x3, MAP_PRIVATE_ANONYMOUS = 0x22, MADV_HUGEPAGE = 14;

    private static final Optional<Calls> CALLS = Calls.link();

    private HugePages() {}

    /** The libc calls, where this is Linux and native access is enabled. */
    private record Calls(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {
        static Optional<Calls> link() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                    || !HugePages.class.getModule().isNativeAccessEnabled()) {
                return Optional.empty();
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                return Optional.of(new Calls(
                        linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)),
                        linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))));
            } catch (RuntimeException | LinkageError e) {
                return Optional.empty();
            }
        }
    }

    /** Whether allocations of {@link #MIN_BYTES} and more come from huge pages here. */
    public static boolean available() {
        return CALLS.isPresent();
    }

    /** {@code bytes} of zeroed memory, 64-byte aligned, freed when {@code arena} closes. */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < MIN_BYTES || CALLS.isEmpty()) return arena.allocate(bytes, 64);
        Calls calls = CALLS.get();
        long mapped = bytes + HUGE_PAGE;                 // room to start on a 2 MiB boundary
        try {
            MemorySegment region = (MemorySegment) calls.mmap().invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE,
                    MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (region.address() == -1L) return arena.allocate(bytes, 64);   // MAP_FAILED: let the arena try
            long start = (region.address() + HUGE_PAGE - 1) & -HUGE_PAGE;
            MemorySegment usable = MemorySegment.ofAddress(start).reinterpret(bytes);
            int refused = (int) calls.madvise().invokeExact(usable, bytes, MADV_HUGEPAGE);   // a hint: 4 KiB pages if refused
            return usable.reinterpret(bytes, arena, s -> unmap(calls, region, mapped));
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + bytes + " bytes failed", t);
        }
    }

    /**
     * An arena over {@code owner} whose allocations (at most 64-byte aligned) come from huge pages: those
     * of {@link #MIN_BYTES} and more from {@link #allocate}, smaller ones one after another from shared
     * chunks of {@link #CHUNK_BYTES}. All are zero until written, and no page is touched before it is
     * used, so a KV cache sized for the whole context costs nothing for the slots a generation never
     * reaches, and a chunk's unused end costs no memory. Closing it closes {@code owner}. For arenas that
     * live as long as what they hold (a model, a cache, optimizer state); a workspace's step takes slices
     * of its slab instead.
     */
    public static Arena over(Arena owner) {
        return new Over(owner);
    }

    /**
     * Bytes of huge-page memory that {@link #over} carves its small allocations from. A 125M model's
     * 768 × 768 projections (2.4 MB in F32) used to get 4 KiB pages of their own: a quarter of the
     * bytes a token reads, and the 73 matrix-vector products of a step ran 6-8% slower on 4 KiB pages
     * than on huge pages (docs/performance.md).
     */
    static final long CHUNK_BYTES = 32L << 20;

    /** The arena of {@link #over}. */
    private static final class Over implements Arena {
        private final Arena owner;
        /** The chunk small allocations come from now, and the bytes of it handed out. Guarded by this. */
        private MemorySegment chunk = MemorySegment.NULL;
        private long used;

        Over(Arena owner) {
            this.owner = owner;
        }

        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            if (byteAlignment > 64) return owner.allocate(byteSize, byteAlignment);
            if (byteSize >= MIN_BYTES || CALLS.isEmpty()) return HugePages.allocate(owner, byteSize);
            synchronized (this) {
                long at = (used + 63) & -64L;
                if (at + byteSize > chunk.byteSize()) {
                    chunk = HugePages.allocate(owner, CHUNK_BYTES);
                    at = 0;
                }
                used = at + byteSize;
                return chunk.asSlice(at, byteSize);
            }
        }

        @Override
        public MemorySegment.Scope scope() {
            return owner.scope();
        }

        @Override
        public void close() {
            owner.close();
        }
    }

    private static void unmap(Calls calls, MemorySegment region, long bytes) {
        try {
            int ignored = (int) calls.munmap().invokeExact(region, bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }
}
