package org.gptneo.backend.conformance;

import static org.gptneo.backend.conformance.ConformanceCase.kernel;

import java.util.Arrays;
import java.util.List;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/** The candidate's memory: allocate gives zeros on its device; upload then download gives back the same bits. */
final class MemoryCases {
    private MemoryCases() {}

    static List<ConformanceCase> all() {
        return List.of(
                kernel("allocate gives zero-filled tensors on the backend's device", MemoryCases::allocate),
                kernel("upload then download keeps shape, dtype and bits", MemoryCases::roundTrip));
    }

    private static void allocate(Harness h) {
        Side c = h.candidate();
        for (DType dtype : DType.values()) {
            int columns = dtype == DType.Q8 ? 32 : 17; // Q8 rows are whole blocks
            Tensor t = c.allocate(dtype, 3, columns);
            Expect.that(t.device().equals(c.backend().device()), "allocate " + dtype + ": on " + t.device()
                    + ", expected the backend's device " + c.backend().device());
            Expect.identical(c.host(t), h.allocate(dtype, 3, columns), "allocate " + dtype);
        }
    }

    private static void roundTrip(Harness h) {
        Side c = h.candidate();
        Tensor f32 = h.random(2, 3, 65), ids = h.ids(33, 1000), q8 = h.as(DType.Q8, h.random(2, 3, 64));
        for (Tensor host : new Tensor[] {f32, h.as(DType.BF16, f32), h.as(DType.F16, f32), q8, ids}) {
            Tensor uploaded = c.on(host);
            Expect.that(uploaded.device().equals(c.backend().device()), "upload of " + host + ": on " + uploaded.device());
            c.backend().synchronize(); // nothing is queued on a host backend; a GPU's copy is done after it
            Tensor back = c.host(uploaded);
            Expect.that(Arrays.equals(back.shape(), host.shape()), "download of " + host + ": shape " + Arrays.toString(back.shape()));
            Expect.identical(back, host, "upload then download of " + host);
        }
    }
}
