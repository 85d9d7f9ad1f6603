package org.gptneo.parallel.mpi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;

/**
 * The three MPI handle ABIs ({@code parallel.md} §4): how {@code MPI_Comm}, {@code MPI_Datatype},
 * {@code MPI_Op} and {@code MPI_Errhandler} are passed, and the values of the predefined handles and
 * sentinels this library uses.
 */
enum MpiAbi {
    /** Open MPI 4/5 ({@code libmpi.so.40}): handles are pointers; predefined ones are addresses of exported data symbols. */
    OPEN_MPI("Open MPI", "libmpi.so.40"),
    /** MPICH and its ABI family (Intel MPI, MVAPICH; {@code libmpich.so.12}): handles are {@code int} literals. */
    MPICH("MPICH", "libmpich.so.12"),
    /**
     * The MPI-5 standard ABI ({@code libmpi_abi.so}): pointer-typed handles with small literal values,
     * from the MPI Forum ABI working group's reference header (mpiwg-abi/header_and_stub_library).
     */
    STANDARD("MPI-5 standard ABI", "libmpi_abi.so");

    private final String description;
    private final String soname;

    MpiAbi(String description, String soname) {
        this.description = description;
        this.soname = soname;
    }

    /** "Open MPI", "MPICH", "MPI-5 standard ABI". */
    String description() {
        return description;
    }

    /** The soname the system loader is asked for. */
    String soname() {
        return soname;
    }

    /**
     * The constants of this ABI; Open MPI's are read from {@code lookup} (its data symbols), so a
     * library without them is not Open MPI: {@link IllegalStateException} naming the missing symbol.
     */
    MpiConstants constants(SymbolLookup lookup) {
        return switch (this) {
            case OPEN_MPI -> new MpiConstants(this, ADDRESS,
                    symbol(lookup, "ompi_mpi_comm_world"), symbol(lookup, "ompi_mpi_comm_null"),
                    symbol(lookup, "ompi_mpi_byte"), symbol(lookup, "ompi_mpi_float"),
                    symbol(lookup, "ompi_mpi_op_sum"), symbol(lookup, "ompi_mpi_op_max"), symbol(lookup, "ompi_mpi_op_min"),
                    symbol(lookup, "ompi_mpi_errors_return"), 1, 0, -32766, -2, 3);
            case MPICH -> new MpiConstants(this, JAVA_INT, 0x44000000, 0x04000000, 0x4c00010d, 0x4c00040a,
                    0x58000003, 0x58000001, 0x58000002, 0x54000001, -1, 1, -32766, -1, 3);
            case STANDARD -> new MpiConstants(this, ADDRESS, 0x101, 0x100, 0x247, 0x210,
                    0x21, 0x23, 0x22, 0x142, 1, 0, -32766, -2, 7);
        };
    }

    private static long symbol(SymbolLookup lookup, String name) {
        return lookup.find(name).map(MemorySegment::address).orElseThrow(() ->
                new IllegalStateException("the data symbol " + name + " is missing: not an Open MPI library"));
    }

    /**
     * The values this library passes for one ABI. Handles are held as {@code long}s (a pointer's
     * address, or an {@code int} literal widened) and passed as {@link #handleLayout()}.
     *
     * @param inPlace      {@code MPI_IN_PLACE} as an address
     * @param statusIgnore {@code MPI_STATUS_IGNORE} as an address
     */
    record MpiConstants(MpiAbi abi, ValueLayout handleLayout, long commWorld, long commNull, long typeByte,
                        long typeFloat, long opSum, long opMax, long opMin, long errorsReturn, long inPlace,
                        long statusIgnore, int undefined, int procNull, int threadMultiple) {}
}
