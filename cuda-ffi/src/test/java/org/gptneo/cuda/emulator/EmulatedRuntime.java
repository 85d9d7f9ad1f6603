package org.gptneo.cuda.emulator;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.gptneo.cuda.runtime.DeviceOutOfMemoryException;
import org.gptneo.cuda.runtime.DeviceRuntime;
import org.gptneo.cuda.runtime.GemmCall;
import org.gptneo.cuda.runtime.KernelArgs;
import org.gptneo.cuda.runtime.KernelSources;
import org.gptneo.cuda.runtime.Launch;

/**
 * A {@link DeviceRuntime} on the host: "device" memory is host memory with guard bytes on both
 * sides of every allocation, kernels are the real kernel sources compiled by g++ and run by the
 * fiber scheduler of emulator.cpp, GEMMs are a plain column-major loop ({@link EmulatedGemm}).
 *
 * <p>Its memory has a capacity, as a GPU's has: an allocation past it is a
 * {@link DeviceOutOfMemoryException}, so the backend's out-of-memory handling runs here too.
 *
 * <p>It checks what a GPU would not tell clearly: each launch's argument types against the
 * kernel's parameters, that every pointer argument lies inside a live allocation, that no kernel
 * wrote past the ends of the allocations it was given, and that freed memory is not freed again.
 */
public final class EmulatedRuntime implements DeviceRuntime {
    private static final int GUARD = 256;
    private static final byte GUARD_BYTE = (byte) 0xA5;
    /** The capacity of {@link #open()}: a 16 GiB device. */
    public static final long DEFAULT_CAPACITY = 16L << 30;

    private final EmulatorLibrary library;
    private final Arena names = Arena.ofShared();
    private final Map<String, MemorySegment> kernelNames = new java.util.HashMap<>();
    private final TreeMap<Long, Allocation> live = new TreeMap<>();
    private final Map<Long, Long> starts = new java.util.HashMap<>();   // aligned start → malloc's pointer
    private final long capacity;
    private long allocated;
    private long launches;

    private static final java.lang.invoke.MethodHandle MALLOC = libc("malloc",
            java.lang.foreign.FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final java.lang.invoke.MethodHandle FREE = libc("free",
            java.lang.foreign.FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    private static java.lang.invoke.MethodHandle libc(String name, java.lang.foreign.FunctionDescriptor descriptor) {
        java.lang.foreign.Linker linker = java.lang.foreign.Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(), descriptor);
    }

    private record Allocation(MemorySegment whole, long user, long bytes) {
        boolean contains(long address) {
            return address >= user && address <= user + bytes;
        }
    }

    private EmulatedRuntime(EmulatorLibrary library, long capacity) {
        this.library = library;
        this.capacity = capacity;
    }

    /** Why no emulator can run here, or null. */
    public static String unavailableReason() {
        return EmulatorLibrary.unavailableReason();
    }

    /** A runtime over the backend's kernel program, with {@link #DEFAULT_CAPACITY}. */
    public static EmulatedRuntime open() {
        return open(DEFAULT_CAPACITY);
    }

    /** A runtime over the backend's kernel program whose memory holds {@code capacity} bytes. */
    public static EmulatedRuntime open(long capacity) {
        String program = KernelSources.program();
        return new EmulatedRuntime(EmulatorLibrary.load(program, KernelSources.kernelNames(program)), capacity);
    }

    /** Allocations made and not freed. */
    public int liveAllocations() {
        return live.size();
    }

    /** Kernels launched so far. */
    public long launches() {
        return launches;
    }

    @Override
    public String describe() {
        return "emulator (host C++ build of the kernels)";
    }

    @Override
    public long allocate(long bytes) {
        if (bytes > capacity - allocated) {
            throw new DeviceOutOfMemoryException("cudaMalloc(" + bytes + " bytes) failed: out of memory (emulated, "
                    + (capacity - allocated) + " of " + capacity + " bytes free)");
        }
        // malloc, not an arena: closing a shared arena per free costs a handshake with every thread
        MemorySegment whole;
        try {
            whole = ((MemorySegment) MALLOC.invokeExact(bytes + 2L * GUARD + 256)).reinterpret(bytes + 2L * GUARD + 256);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        long skew = (256 - whole.address() % 256) % 256;   // 256-byte aligned, as cudaMalloc gives
        whole = whole.asSlice(skew, bytes + 2L * GUARD);
        starts.put(whole.address(), whole.address() - skew);
        whole.asSlice(0, GUARD).fill(GUARD_BYTE);
        whole.asSlice(GUARD + bytes, GUARD).fill(GUARD_BYTE);
        whole.asSlice(GUARD, bytes).fill((byte) 0x7F);  // garbage until written, as cudaMalloc gives
        long user = whole.address() + GUARD;
        live.put(user, new Allocation(whole, user, bytes));
        allocated += bytes;
        return user;
    }

    @Override
    public void free(long pointer) {
        Allocation a = live.remove(pointer);
        if (a == null) {
            throw new IllegalStateException("free of 0x" + Long.toHexString(pointer) + ": not a live allocation");
        }
        checkGuards(a, "free");
        release(a);
        allocated -= a.bytes();
    }

    @Override
    public MemoryInfo memoryInfo() {
        return new MemoryInfo(capacity - allocated, capacity);
    }

    @Override
    public void copyToDevice(MemorySegment host, long device, long bytes) {
        MemorySegment.copy(host, 0, at(device, bytes, "copyToDevice"), 0, bytes);
    }

    @Override
    public void copyToHost(long device, MemorySegment host, long bytes) {
        MemorySegment.copy(at(device, bytes, "copyToHost"), 0, host, 0, bytes);
    }

    @Override
    public void copyOnDevice(long from, long to, long bytes) {
        MemorySegment.copy(at(from, bytes, "copyOnDevice"), 0, at(to, bytes, "copyOnDevice"), 0, bytes);
    }

    @Override
    public void memset(long device, int value, long bytes) {
        at(device, bytes, "memset").fill((byte) value);
    }

    @Override
    public void launch(String kernel, Launch launch, KernelArgs args) {
        MemorySegment name = kernelNames.computeIfAbsent(kernel, names::allocateFrom);
        String signature = library.signature(name);
        if (signature == null) {
            throw new IllegalArgumentException("no kernel named " + kernel + " in the kernel sources");
        }
        List<KernelArgs.Arg> list = args.list();
        String given = signatureOf(list);
        if (!given.equals(signature)) {
            throw new IllegalArgumentException(kernel + " takes (" + signature + ") but was launched with (" + given + ")");
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment slots = call.allocate(ValueLayout.ADDRESS, Math.max(1, list.size()));
            for (int i = 0; i < list.size(); i++) {
                KernelArgs.Arg arg = list.get(i);
                MemorySegment slot = call.allocate(8);
                switch (arg.kind()) {
                    case POINTER -> {
                        requireInside(arg.bits(), kernel + " argument " + i);
                        slot.set(ValueLayout.JAVA_LONG, 0, arg.bits());
                    }
                    case I64 -> slot.set(ValueLayout.JAVA_LONG, 0, arg.bits());
                    case I32, F32 -> slot.set(ValueLayout.JAVA_INT, 0, (int) arg.bits());
                }
                slots.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            int rc = library.launch(name, launch.gridX(), launch.gridY(), launch.gridZ(), launch.blockX(), launch.blockY(),
                    launch.blockZ(), launch.sharedBytes(), slots);
            if (rc == 3) {
                throw new IllegalStateException(kernel + " calls __syncthreads() without shared memory in its body: the emulator"
                        + " ran its threads one after another (declare the scratch __shared__ in the kernel)");
            }
            if (rc != 0) {
                throw new IllegalStateException(kernel + ": the emulator refused the launch " + launch + " (" + rc + ")");
            }
        }
        launches++;
        for (KernelArgs.Arg arg : list) {
            if (arg.kind() == KernelArgs.Kind.POINTER && arg.bits() != 0) {
                checkGuards(live.floorEntry(arg.bits()).getValue(), kernel);
            }
        }
    }

    @Override
    public void gemm(GemmCall call) {
        EmulatedGemm.run(call, this::at);
    }

    @Override
    public void synchronize() {
        // launches run to completion when called
    }

    @Override
    public void close() {
        for (Allocation a : live.values()) {
            release(a);
        }
        live.clear();
        allocated = 0;
        names.close();
    }

    private void release(Allocation a) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(starts.remove(a.whole().address())));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The host view of [address, address + bytes), which must lie inside one live allocation. */
    MemorySegment at(long address, long bytes) {
        return at(address, bytes, "gemm");
    }

    private MemorySegment at(long address, long bytes, String what) {
        Map.Entry<Long, Allocation> e = live.floorEntry(address);
        if (e == null || address + bytes > e.getValue().user() + e.getValue().bytes()) {
            throw new IllegalArgumentException(what + ": [0x" + Long.toHexString(address) + ", +" + bytes
                    + ") is not inside a live allocation");
        }
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    private void requireInside(long address, String what) {
        if (address == 0) {
            return;
        }
        Map.Entry<Long, Allocation> e = live.floorEntry(address);
        if (e == null || !e.getValue().contains(address)) {
            throw new IllegalArgumentException(what + ": 0x" + Long.toHexString(address) + " is not device memory");
        }
    }

    private static void checkGuards(Allocation a, String after) {
        for (long i = 0; i < GUARD; i++) {
            if (a.whole().get(ValueLayout.JAVA_BYTE, i) != GUARD_BYTE) {
                throw new IllegalStateException(after + " wrote before the start of an allocation of " + a.bytes() + " bytes");
            }
            if (a.whole().get(ValueLayout.JAVA_BYTE, GUARD + a.bytes() + i) != GUARD_BYTE) {
                throw new IllegalStateException(after + " wrote past the end of an allocation of " + a.bytes() + " bytes");
            }
        }
    }

    private static String signatureOf(List<KernelArgs.Arg> args) {
        StringBuilder s = new StringBuilder();
        for (KernelArgs.Arg a : args) {
            s.append(switch (a.kind()) {
                case POINTER -> 'p';
                case I64 -> 'l';
                case I32 -> 'i';
                case F32 -> 'f';
            });
        }
        return s.toString();
    }
}
