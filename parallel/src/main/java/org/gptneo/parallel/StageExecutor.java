package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.List;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * One stage's side of a pipeline step: the forward and backward passes of its micro-batches and the
 * point-to-point exchanges with its neighbours, in the order a {@link PipelineSchedule} calls them.
 * Forward passes take the micro-batches in order, and so do backward passes (oldest first), so
 * parameter gradients accumulate in the order of a single device's gradient accumulation. Each
 * micro-batch has its own tape, alive from its forward pass until its input gradient is sent.
 * Exchanges with a neighbour that does not exist (before the first stage, after the last) are no-ops.
 */
final class StageExecutor implements AutoCloseable {
    /** A micro-batch between its forward and its backward pass: its tape, input (null on the first stage), output and loss (last stage). */
    private record InFlight(Tape tape, Var input, Var output, Var loss) {}

    private final StageModel stage;
    private final Communicator pipeline;
    private final List<MicroBatch> batches;
    private final Backend backend;
    private final Arena buffers = Arena.ofShared();           // shared: a communicator may read it from another thread
    private final Tensor received;              // [N, C]: the previous stage's output for the next forward pass
    private final Tensor gradient;              // [N, C]: the next stage's gradient of this stage's output, for the next backward pass
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final float[] losses;               // last stage: each micro-batch's loss
    private InFlight finished;                  // backward done, input gradient not yet sent
    private int forwards, mostHeld;

    StageExecutor(StageModel stage, Communicator pipeline, List<MicroBatch> batches) {
        this.stage = stage;
        this.pipeline = pipeline;
        this.batches = batches;
        this.backend = stage.backend();
        Tensor ids = batches.getFirst().ids();
        int n = ids.dim(0) * ids.dim(1), c = stage.config().hiddenSize();
        this.received = backend.allocate(buffers, DType.F32, n, c);
        this.gradient = backend.allocate(buffers, DType.F32, n, c);
        this.losses = new float[batches.size()];
    }

    /** Receives the previous stage's output for the next forward pass. */
    void receiveForward() {
        if (!stage.isFirst()) pipeline.receive(received, pipeline.rank() - 1);
    }

    /** Runs the next micro-batch's forward pass (on the last stage, its loss too) and keeps its tape for the backward pass. */
    void forward() {
        MicroBatch batch = batches.get(forwards);
        Tape tape = new Tape(backend, true);
        try {
            Var input = null;
            if (!stage.isFirst()) {
                Tensor copy = tape.allocate(received.shape());                 // [N, C], lives with the micro-batch's tape
                backend.copy(received, copy);
                input = Var.input(copy);
            }
            Var output = stage.forward(tape, batch.ids(), input, batch.pass()); // [N, C]
            Var loss = null;
            if (stage.isLast()) {
                loss = stage.loss(tape, output, batch.labels());
                try (Arena host = Arena.ofConfined()) {
                    losses[forwards] = backend.download(loss.value(), host).getFloat(0);
                }
            }
            inFlight.add(new InFlight(tape, input, output, loss));
        } catch (RuntimeException | Error e) {
            tape.close();
            throw e;
        }
        forwards++;
        mostHeld = Math.max(mostHeld, inFlight.size() + (finished == null ? 0 : 1));
    }

    /** Sends the newest forward pass's output to the next stage. */
    void sendForward() {
        if (!stage.isLast()) pipeline.send(inFlight.getLast().output().value(), pipeline.rank() + 1);
    }

    /** Sends the newest forward pass's output to the next stage while receiving its gradient of the oldest's. */
    void sendForwardReceiveBackward() {
        if (!stage.isLast()) pipeline.sendReceive(inFlight.getLast().output().value(), pipeline.rank() + 1, gradient, pipeline.rank() + 1);
    }

    /** Receives the next stage's gradient of the oldest forward pass's output. */
    void receiveBackward() {
        if (!stage.isLast()) pipeline.receive(gradient, pipeline.rank() + 1);
    }

    /** Runs the oldest micro-batch's backward pass: from its loss on the last stage, else from the received gradient. */
    void backward() {
        InFlight batch = inFlight.removeFirst();
        finished = batch;
        if (stage.isLast()) {
            batch.tape().backward(batch.loss());
        } else if (batch.output().requiresGrad()) {                           // false only on a first stage with nothing to train
            batch.tape().backward(batch.output(), gradient);
        }
    }

    /** Sends the finished backward pass's input gradient to the previous stage, then frees its tape. */
    void sendBackward() {
        if (!stage.isFirst()) pipeline.send(finished.input().grad(), pipeline.rank() - 1);
        release();
    }

    /** Sends the finished backward pass's input gradient while receiving the previous stage's next output, then frees its tape. */
    void sendBackwardReceiveForward() {
        if (!stage.isFirst()) pipeline.sendReceive(finished.input().grad(), pipeline.rank() - 1, received, pipeline.rank() - 1);
        release();
    }

    private void release() {
        finished.tape().close();
        finished = null;
    }

    /** Each micro-batch's loss, on the last stage (zeros elsewhere). */
    float[] losses() {
        return losses.clone();
    }

    /** The most micro-batch tapes this stage held at once. */
    int mostHeld() {
        return mostHeld;
    }

    @Override
    public void close() {
        inFlight.forEach(b -> b.tape().close());
        inFlight.clear();
        if (finished != null) release();
        buffers.close();
    }
}
