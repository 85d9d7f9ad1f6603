package org.gptneo.backend.cpu;

import static org.gptneo.backend.cpu.CpuVectors.VL;
import static org.gptneo.backend.cpu.CpuVectors.bound;
import static org.gptneo.backend.cpu.CpuVectors.f32;
import static org.gptneo.backend.cpu.CpuVectors.get;
import static org.gptneo.backend.cpu.CpuVectors.set;
import static org.gptneo.backend.KernelChecks.checkedId;
import static org.gptneo.backend.cpu.CpuVectors.F;
import static org.gptneo.backend.cpu.CpuVectors.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.gptneo.tensor.Tensor;

/** Embedding lookup and its scatter-add backward. Ids are checked up front, in order, with the reference's message. */
final class CpuEmbeddingKernels {
    private CpuEmbeddingKernels() {}

    static void embedding(CpuParallel pool, Tensor table, Tensor ids, Tensor out) {
        int c = table.dim(-1);
        int[] rows = checkedIds(ids, table.dim(0));
        StoredRows ts = StoredRows.of(table);
        MemorySegment os = f32(out);
        long rowBytes = (long) c * Float.BYTES;
        pool.over(ts.data(), os).forRange(rows.length, CpuParallel.grain(c), (from, to) -> {
            float[] row = ts.isF32() ? null : new float[c];
            for (int n = (int) from; n < to; n++) { // out [N, C] ← table [V, C]
                if (row == null) {
                    MemorySegment.copy(ts.data(), rows[n] * rowBytes, os, n * rowBytes, rowBytes);
                } else {                            // widened from BF16/F16/Q8
                    ts.read((long) rows[n] * c, row, 0, c);
                    MemorySegment.copy(row, 0, os, CpuVectors.FLOAT, n * rowBytes, c);
                }
            }
        });
    }

    /**
     * dTable [V, C] += dOut [N, C] at the rows named by ids. Repeated ids make rows collide, so the
     * work is split by columns: each column slice walks all N ids in order.
     */
    static void embeddingBackward(CpuParallel pool, Tensor ids, Tensor dOut, Tensor dTable) {
        int c = dTable.dim(-1);
        int[] rows = checkedIds(ids, dTable.dim(0));
        MemorySegment dos = f32(dOut), dts = f32(dTable);
        long columnsPerPiece = CpuVectors.wholeVectors(CpuParallel.grain(2L * rows.length));
        pool.over(dos, dts).forRange(c, columnsPerPiece, (from, to) -> {
            int c0 = (int) from, width = (int) (to - from);
            for (int n = 0; n < rows.length; n++) { // [N, c0 .. c0+width)
                long src = (long) n * c + c0, dst = (long) rows[n] * c + c0;
                int j = 0;
                for (int end = bound(width, VL); j < end; j += VL) {
                    long at = (dst + j) * Float.BYTES;
                    FloatVector add = FloatVector.fromMemorySegment(F, dos, (src + j) * Float.BYTES, LE);
                    FloatVector.fromMemorySegment(F, dts, at, LE).add(add).intoMemorySegment(dts, at, LE);
                }
                for (; j < width; j++) set(dts, dst + j, get(dts, dst + j) + get(dos, src + j));
            }
        });
    }

    private static int[] checkedIds(Tensor ids, int limit) {
        int[] rows = new int[Math.toIntExact(ids.size())];
        for (int n = 0; n < rows.length; n++) rows[n] = checkedId(ids, n, limit);
        return rows;
    }
}
