package org.gptneo.cuda.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

class DowncallsTest {
    private static final FunctionDescriptor INT_OF_INT = FunctionDescriptor.of(JAVA_INT, JAVA_INT);

    @Test
    void aMissingLibraryGivesAHandleOfTheSameTypeThatThrowsWhenCalled() {
        MethodHandle handle = Downcalls.bind(null, "cudaSetDevice", INT_OF_INT, "libcudart.so.13 not found");

        assertThat(handle.type()).isEqualTo(INT_OF_INT.toMethodType());
        assertThatThrownBy(() -> {
            int ignored = (int) handle.invokeExact(0);
            throw new AssertionError("returned " + ignored);
        }).isInstanceOf(CudaUnavailableException.class).hasMessage("cudaSetDevice: libcudart.so.13 not found");
    }

    @Test
    void aMissingSymbolGivesAHandleThatThrows() {
        MethodHandle handle = Downcalls.bind(Linker.nativeLinker().defaultLookup(), "gptneo_no_such_symbol",
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG), "not exported");

        assertThatThrownBy(() -> {
            handle.invokeExact(MemorySegment.NULL, 1L);
        })
                .isInstanceOf(CudaUnavailableException.class).hasMessage("gptneo_no_such_symbol: not exported");
    }

    @Test
    void aPresentSymbolIsCalled() throws Throwable {
        MethodHandle strlen = Downcalls.bind(Linker.nativeLinker().defaultLookup(), "strlen",
                FunctionDescriptor.of(JAVA_LONG, ADDRESS), "libc lacks strlen");
        try (Arena arena = Arena.ofConfined()) {
            long length = (long) strlen.invokeExact(arena.allocateFrom("gpt-neo"));
            assertThat(length).isEqualTo(7);
        }
    }

    @Test
    void cStrings() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocateFrom("out of memory");
            assertThat(Downcalls.string(MemorySegment.ofAddress(text.address()))).isEqualTo("out of memory");
        }
        assertThat(Downcalls.string(MemorySegment.NULL)).isEqualTo("(null)");
    }
}
