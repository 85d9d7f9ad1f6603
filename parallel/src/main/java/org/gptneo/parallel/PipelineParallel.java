package org.gptneo.parallel;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.gptneo.autograd.Var;
import org.gptneo.backend.Backend;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.PipelineStage;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.nn.Parameter;
import org.gptneo.nn.ParameterRegistry;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * Pipeline-parallel training of GPT-Neo: rank s of the pipeline group holds stage s of a
 * {@link LayerPartition} of the model's layers ({@link PipelineStage}), and {@link #step} runs a
 * step's micro-batches through the stages by a {@link PipelineSchedule}, activations [B·T, C] going
 * forward and their gradients backward.
 *
 * <p>A step computes what one device computes with gradient accumulation over the same
 * micro-batches: each stage's parameter gradients are summed over the micro-batches and divided by
 * their number m, and the loss is the mean of the micro-batch losses. The token embedding is tied
 * to the LM head, so the first stage (lookup) and the last (head) each hold a copy of
 * {@code transformer.wte.weight}; after the flush their gradients are summed between the two (the
 * embedding group), so both copies receive the whole gradient and, updated alike, stay equal.
 *
 * <p>Tensor × pipeline parallelism: given a tensor-parallel group, each stage is split over it
 * ({@link TensorParallelModel#shardStage}); the pipeline group then holds one rank of each stage with
 * the same tensor-parallel rank, activations and their gradients between stages are whole [B·T, C]
 * (the same on every tensor-parallel rank), and norms, gathers and copies put the shards together
 * over the tensor-parallel group first.
 *
 * <p>Every rank of the pipeline calls every method here, in the same order (they communicate), except
 * {@link #loadFrom}. An optimizer updates {@link #parameters()}; clipping uses {@link #gradientReport()};
 * saving {@link #gatherModel()} and {@link #gatherMoments}, or {@link #copyInto} for a caller that keeps
 * a full model on every rank (the Trainer).
 */
public final class PipelineParallel implements AutoCloseable {
    private final Communicator pipeline;
    private final Communicator embedding;        // the first and the last stage, when they differ; else null
    private final LayerPartition partition;
    private final PipelineSchedule schedule;
    private final StageModel stage;
    private final List<String> trainable;        // the full model's trainable parameters, in checkpoint order
    private int mostHeld;

    private PipelineParallel(Communicator pipeline, Communicator embedding, LayerPartition partition, PipelineSchedule schedule,
                             StageModel stage, List<String> trainable) {
        this.pipeline = pipeline;
        this.embedding = embedding;
        this.partition = partition;
        this.schedule = schedule;
        this.stage = stage;
        this.trainable = trainable;
    }

    /**
     * This rank's stage of {@code model}: the layers {@link LayerPartition} gives stage
     * {@code pipeline.rank()} of {@code pipeline.size()}, their parameters copied (the caller may
     * close the model afterwards). Every rank passes an equal model (the same seed, or the same
     * checkpoint) and the same schedule.
     */
    public static PipelineParallel create(GptNeoModel model, Communicator pipeline, PipelineSchedule schedule) {
        return create(model, pipeline, null, schedule);
    }

    /**
     * As {@link #create(GptNeoModel, Communicator, PipelineSchedule)}, each stage split over the
     * tensor-parallel group {@code tensor} (null: not split): this rank holds its tensor-parallel
     * rank's shards of its stage. The pipeline group's ranks share their tensor-parallel rank.
     */
    public static PipelineParallel create(GptNeoModel model, Communicator pipeline, Communicator tensor, PipelineSchedule schedule) {
        LayerPartition partition = new LayerPartition(model.config().layers(), pipeline.size());
        int s = pipeline.rank(), p = pipeline.size();
        Communicator embedding = p == 1 ? null
                : pipeline.split(s == 0 || s == p - 1 ? 0 : Communicator.NO_COLOR, s);
        try {
            StageModel stage = tensor == null ? StageModel.plain(PipelineStage.of(model, partition.from(s), partition.to(s)))
                    : StageModel.tensorParallel(TensorParallelModel.shardStage(model, tensor, partition.from(s), partition.to(s)));
            return new PipelineParallel(pipeline, embedding, partition, schedule, stage, List.copyOf(model.registry().trainable().names()));
        } catch (RuntimeException | Error e) {
            if (embedding != null) embedding.close();
            throw e;
        }
    }

    /** The backend this rank's stage computes on. */
    public Backend backend() {
        return stage.backend();
    }

    public LayerPartition partition() {
        return partition;
    }

    public PipelineSchedule schedule() {
        return schedule;
    }

    /** This stage's trainable parameters by Hugging Face name (shards under tensor parallelism): what its optimizer updates and clipping scales. */
    public Map<String, Var> parameters() {
        return stage.registry().trainable().asVars();
    }

    /**
     * One step's forward and backward passes over {@code batches} (the same micro-batches, of one
     * shape, on every rank): this stage's gradients are replaced by the step's (summed over the
     * micro-batches, divided by their number, the tied embedding's summed between the first and last
     * stage). Returns the mean of the micro-batch losses, on every rank; NaN or infinite when one is.
     */
    public double step(List<MicroBatch> batches) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("a pipeline step needs at least one micro-batch");
        }
        int[] shape = batches.getFirst().ids().shape();
        for (MicroBatch b : batches) {
            if (!Arrays.equals(b.ids().shape(), shape)) {
                throw new IllegalArgumentException("the micro-batches of a pipeline step share one shape " + Arrays.toString(shape)
                        + ", got " + b.ids());
            }
        }
        Backend backend = stage.backend();
        Map<String, Var> trained = parameters();
        trained.values().forEach(v -> v.zeroGrad(backend));
        float[] losses;
        try (StageExecutor x = new StageExecutor(stage, pipeline, batches)) {
            schedule.run(x, pipeline.size(), pipeline.rank(), batches.size());
            losses = x.losses();
            mostHeld = x.mostHeld();
        }
        Parameter wte = stage.tiedEmbedding();
        if (embedding != null && wte.isTrainable()) {
            embedding.allReduce(wte.grad(), ReduceOp.SUM);
        }
        int m = batches.size();
        if (m > 1) {
            trained.values().forEach(v -> { if (v.grad() != null) backend.scale(v.grad(), 1f / m); });
        }
        return meanLoss(losses);
    }

    /** The last stage's micro-batch losses, broadcast; their mean as a single device's accumulation takes it. */
    private double meanLoss(float[] losses) {
        Backend backend = stage.backend();
        try (Arena host = Arena.ofShared()) {                                  // a communicator may read it from another thread
            Tensor all = backend.upload(Tensor.of(host, losses, losses.length), host);    // [m]
            pipeline.broadcast(all, pipeline.size() - 1);
            double sum = 0;
            for (float loss : backend.download(all, host).toFloatArray()) sum += loss;
            return sum / losses.length;
        }
    }

    /** The most micro-batches (tapes holding activations) this stage held at once during the last step. */
    public int microBatchesHeld() {
        return mostHeld;
    }

    /**
     * The global gradient norm over every stage's trainable parameters, the tied embedding counted
     * once, and the first parameter in checkpoint order with a non-finite gradient: what
     * {@link GradientClipping#inspect} reports on one device. Clip with
     * {@code GradientClipping.clip(backend, parameters(), report.norm(), maxNorm)} on every stage.
     */
    public GradientClipping.Report gradientReport() {
        Map<String, Double> squares = new LinkedHashMap<>();
        parameters().forEach((name, p) -> {
            if (p.grad() != null) squares.put(name, stage.backend().sumOfSquares(p.grad()));
        });
        return gradientReport(squares);
    }

    /**
     * {@link #gradientReport()} from this stage's parameters' squared gradient norms, by name (those
     * with a gradient), measured elsewhere: a ZeRO-1 optimizer's, over its data-parallel group.
     */
    public GradientClipping.Report gradientReport(Map<String, Double> squares) {
        Backend backend = stage.backend();
        List<String> names = new ArrayList<>(GptNeoModel.parameterShapes(stage.config()).keySet());
        double replicated = 0, split = 0;
        int firstBad = -1;
        for (Map.Entry<String, Double> e : squares.entrySet()) {
            if (ownerOf(e.getKey()) != pipeline.rank()) continue;              // the last stage's wte copy is counted on the first
            double s = e.getValue();
            if (!Double.isFinite(s) && firstBad < 0) firstBad = names.indexOf(e.getKey());
            if (stage.split(e.getKey())) split += s;
            else replicated += s;
        }
        // a tensor-parallel stage: the shards' squares summed over its group, replicated parameters once
        double sumOfSquares = replicated + stage.acrossTensorParallel(new float[] {(float) split}, ReduceOp.SUM)[0];
        float anyBad = stage.acrossTensorParallel(new float[] {firstBad < 0 ? Float.MAX_VALUE : firstBad}, ReduceOp.MIN)[0];
        firstBad = anyBad == Float.MAX_VALUE ? -1 : (int) anyBad;
        long bits = Double.doubleToRawLongBits(sumOfSquares);
        int p = pipeline.size();
        try (Arena host = Arena.ofShared()) {                                  // a communicator may read it from another thread
            Tensor mine = backend.upload(Tensor.ofInts(host, new int[] {(int) (bits >>> 32), (int) bits, firstBad}, 3), host);
            Tensor all = backend.allocate(host, DType.I32, 3 * p);                        // [p, 3]: sum of squares (bits), first bad
            pipeline.allGather(mine, all);
            int[] v = backend.download(all, host).toIntArray();
            double total = 0;
            int bad = -1;
            for (int s = 0; s < p; s++) {
                total += Double.longBitsToDouble(((long) v[3 * s] << 32) | (v[3 * s + 1] & 0xFFFFFFFFL));
                if (v[3 * s + 2] >= 0 && (bad < 0 || v[3 * s + 2] < bad)) bad = v[3 * s + 2];
            }
            return new GradientClipping.Report(Math.sqrt(total), bad < 0 ? Optional.empty() : Optional.of(names.get(bad)));
        }
    }

    /**
     * Gathers every stage's current parameters into one ordinary full model on the first stage (rank
     * 0 of the pipeline), for saving with the usual Hugging Face path; the caller closes it. Returns
     * null on the other stages. The tied embedding is the first stage's copy.
     */
    public GptNeoModel gatherModel() {
        ParameterRegistry own = stage.registry();
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> tensors = gather(GptNeoModel.parameterShapes(stage.config()).keySet(), name -> own.get(name).value(), arena);
            if (tensors == null) {
                arena.close();
                return null;
            }
            return GptNeoModel.fromTensors(stage.config(), stage.backend(), tensors, arena::close);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Gathers every stage's {@code own} moments (full-sized moments of {@link #parameters()}, by name)
     * by parameter name, in checkpoint order, into {@code arena} on the first stage: the state a
     * single device's AdamW would hold, for a training checkpoint. Returns null on the other stages.
     * The tied embedding's are the first stage's (the last stage's are equal).
     */
    public Map<String, AdamW.Moments> gatherMoments(Map<String, AdamW.Moments> own, Arena arena) {
        Map<String, Tensor> m = gather(trainable, name -> own.get(name).m(), arena);
        Map<String, Tensor> v = gather(trainable, name -> own.get(name).v(), arena);
        if (m == null) return null;
        Map<String, AdamW.Moments> all = new LinkedHashMap<>();
        m.forEach((name, first) -> all.put(name, new AdamW.Moments(first, v.get(name))));
        return all;
    }

    /**
     * For each of {@code names} (parameters, in one order on every rank), the owning stage's
     * {@code own} tensor, copied into {@code arena} on the first stage (which returns them by name);
     * null on the others.
     */
    private Map<String, Tensor> gather(Collection<String> names, Function<String, Tensor> own, Arena arena) {
        Backend backend = stage.backend();
        Map<String, int[]> shapes = GptNeoModel.parameterShapes(stage.config());
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : names) {
            int owner = ownerOf(name);
            try (Arena scratch = Arena.ofShared()) {
                Tensor whole = owner == pipeline.rank() ? stage.whole(name, own.apply(name), scratch) : null;   // shards put together
                if (stage.isFirst()) {
                    Tensor t = backend.allocate(arena, DType.F32, shapes.get(name));
                    if (owner == 0) {
                        backend.copy(whole, t);
                    } else {
                        pipeline.receive(t, owner);
                    }
                    out.put(name, t);
                } else if (whole != null) {
                    pipeline.send(whole, 0);
                }
            }
        }
        return stage.isFirst() ? out : null;
    }

    /**
     * Copies every stage's current parameters into {@code model} (a full model of the same
     * configuration, F32) on every rank, each broadcast from the stage that owns it: so that a
     * caller holding a full model per rank can evaluate or save it with the single-device paths.
     */
    public void copyInto(GptNeoModel model) {
        if (!model.config().equals(stage.config())) {
            throw new IllegalArgumentException("copyInto needs a model of the pipeline's configuration");
        }
        Backend backend = stage.backend();
        ParameterRegistry own = stage.registry(), full = model.registry();
        for (String name : GptNeoModel.parameterShapes(stage.config()).keySet()) {
            Tensor target = full.get(name).value();
            int owner = ownerOf(name);
            if (owner == pipeline.rank()) {
                try (Arena scratch = Arena.ofShared()) {
                    backend.copy(stage.whole(name, own.get(name).value(), scratch), target);
                }
            }
            pipeline.broadcast(target, owner);
        }
    }

    /**
     * Copies {@code model}'s values of this stage's parameters into the stage (no communication):
     * after the full model was changed on every rank alike, e.g. restored from a checkpoint.
     */
    public void loadFrom(GptNeoModel model) {
        if (!model.config().equals(stage.config())) {
            throw new IllegalArgumentException("loadFrom needs a model of the pipeline's configuration");
        }
        ParameterRegistry full = model.registry();
        stage.registry().all().forEach(p -> stage.cut(p.name(), full.get(p.name()).value(), p.value()));
    }

    /**
     * This rank's part of {@code full}, a tensor shaped like parameter {@code name} of the whole model
     * (a checkpoint's optimizer moment, say), in {@code arena}: a copy, or this rank's shard under
     * tensor parallelism. No communication.
     */
    public Tensor partOf(String name, Tensor full, Arena arena) {
        Tensor local = stage.backend().allocate(arena, DType.F32, stage.registry().get(name).shape());
        stage.cut(name, full, local);
        return local;
    }

    /** Whether any stage (or tensor-parallel rank of one) passes true (a collective): for the ranks to agree, e.g. on stopping. */
    public boolean anyStage(boolean flag) {
        Backend backend = stage.backend();
        float any;
        try (Arena host = Arena.ofShared()) {                                  // a communicator may read it from another thread
            Tensor t = backend.upload(Tensor.of(host, new float[] {flag ? 1 : 0}, 1), host);
            pipeline.allReduce(t, ReduceOp.MAX);
            any = backend.download(t, host).getFloat(0);
        }
        return stage.acrossTensorParallel(new float[] {any}, ReduceOp.MAX)[0] > 0;
    }

    /** The stage whose copy of parameter {@code name} counts: its block's, the last for ln_f, else (embeddings) the first. */
    private int ownerOf(String name) {
        String blocks = "transformer.h.";
        if (name.startsWith(blocks)) {
            return partition.stageOf(Integer.parseInt(name.substring(blocks.length(), name.indexOf('.', blocks.length()))));
        }
        return name.startsWith("transformer.ln_f.") ? partition.stages() - 1 : 0;
    }

    /** Frees the stage and leaves the embedding group; the pipeline communicator stays the caller's. */
    @Override
    public void close() {
        try {
            stage.close();
        } finally {
            if (embedding != null) embedding.close();
        }
    }
}
