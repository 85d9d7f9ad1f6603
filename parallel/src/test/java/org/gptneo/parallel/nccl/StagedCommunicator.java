package org.gptneo.parallel.nccl;

import java.lang.foreign.Arena;
import org.gptneo.backend.Backend;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.ReduceOp;
import org.gptneo.tensor.Tensor;

/**
 * A device communicator seen through host tensors, so that {@link org.gptneo.parallel.CommunicatorChecks}
 * can drive it: each call uploads its tensors to the backend, runs the device collective, and copies
 * the written tensors back.
 */
final class StagedCommunicator implements Communicator {
    private final Communicator device;
    private final Backend backend;

    StagedCommunicator(Communicator device, Backend backend) {
        this.device = device;
        this.backend = backend;
    }

    @Override
    public int rank() {
        return device.rank();
    }

    @Override
    public int size() {
        return device.size();
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public boolean accepts(Tensor t) {
        return t.isHostAccessible() && t.isContiguous();
    }

    private interface Call {
        void run(Tensor[] onDevice);
    }

    /** Uploads every tensor, runs {@code call} on the device copies, downloads those whose {@code written} flag is set. */
    private void staged(Call call, Tensor[] host, boolean... written) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] onDevice = new Tensor[host.length];
            for (int i = 0; i < host.length; i++) {
                onDevice[i] = backend.upload(host[i], arena);
            }
            call.run(onDevice);
            for (int i = 0; i < host.length; i++) {
                if (written[i]) {
                    host[i].copyFrom(backend.download(onDevice[i], arena));
                }
            }
        }
    }

    @Override
    public void allReduce(Tensor buffer, ReduceOp op) {
        staged(d -> device.allReduce(d[0], op), new Tensor[] {buffer}, true);
    }

    @Override
    public void reduceScatter(Tensor input, Tensor output, ReduceOp op) {
        staged(d -> device.reduceScatter(d[0], d[1], op), new Tensor[] {input, output}, false, true);
    }

    @Override
    public void allGather(Tensor input, Tensor output) {
        staged(d -> device.allGather(d[0], d[1]), new Tensor[] {input, output}, false, true);
    }

    @Override
    public void broadcast(Tensor buffer, int root) {
        staged(d -> device.broadcast(d[0], root), new Tensor[] {buffer}, true);
    }

    @Override
    public void allToAll(Tensor input, Tensor output) {
        staged(d -> device.allToAll(d[0], d[1]), new Tensor[] {input, output}, false, true);
    }

    @Override
    public void send(Tensor t, int peer) {
        staged(d -> device.send(d[0], peer), new Tensor[] {t}, false);
    }

    @Override
    public void receive(Tensor t, int peer) {
        staged(d -> device.receive(d[0], peer), new Tensor[] {t}, true);
    }

    @Override
    public void sendReceive(Tensor out, int destination, Tensor in, int source) {
        staged(d -> device.sendReceive(d[0], destination, d[1], source), new Tensor[] {out, in}, false, true);
    }

    @Override
    public void barrier() {
        device.barrier();
    }

    @Override
    public Communicator split(int color, int key) {
        Communicator group = device.split(color, key);
        return group == null ? null : new StagedCommunicator(group, backend);
    }

    @Override
    public void close() {
        device.close();
    }
}
