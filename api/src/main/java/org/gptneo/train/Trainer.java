package org.gptneo.train;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.gptneo.autograd.Tape;
import org.gptneo.autograd.Var;
import org.gptneo.autograd.Workspace;
import org.gptneo.backend.Backend;
import org.gptneo.data.MaskedLmMasking;
import org.gptneo.data.SequenceDataset;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.ModelOutput;
import org.gptneo.model.Objective;
import org.gptneo.model.TrainingPass;
import org.gptneo.nn.AdamW;
import org.gptneo.nn.GradientClipping;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.ExpertParallelGradients;
import org.gptneo.parallel.ExpertParallelModel;
import org.gptneo.parallel.MicroBatch;
import org.gptneo.parallel.OverlappedReduction;
import org.gptneo.parallel.PipelineParallel;
import org.gptneo.parallel.PipelineSchedule;
import org.gptneo.parallel.TensorParallelModel;
import org.gptneo.tensor.Tensor;

/**
 * Fine-tunes a model on a dataset: AdamW (decoupled weight decay, none on biases and LayerNorm
 * parameters), a warm-up then a constant, linear or cosine schedule, global-norm gradient clipping,
 * gradient accumulation, optional activation checkpointing, evaluation, crash-safe checkpoints and
 * exact resume. Build one with {@link #builder()}, run it with {@link #fit()} on any thread, and
 * stop it from another with {@link #cancel()}.
 *
 * <p>Determinism: the data order derives from the seed and the epoch, every dropout mask from the
 * seed, the step and the micro-batch, and the CPU kernels sum in a fixed order; so the same seed,
 * settings, machine and thread count give the same losses bit for bit, and a run resumed from
 * checkpoint N continues exactly as the uninterrupted run did after step N.
 *
 * <p>Objectives: a causal-LM model trains on next-token prediction (labels = the ids, shifted by
 * the loss); a masked-LM model's micro-batches are masked by {@link MaskedLmMasking#forModel} with
 * a seed of (seed, step, micro-batch), and the loss is taken at the masked positions, unshifted.
 * Either way the loss trained is {@link GptNeoModel#loss(Tape, ModelOutput, Tensor)}: auxiliary
 * losses (mixture-of-experts balancing) included, and their routing statistics reported with each step.
 *
 * <p>Data parallelism ({@link TrainerBuilder#dataParallel}): the trainer is one rank of a group, its
 * model that rank's replica. The batch size is the global batch; each rank computes its block of
 * batch/D rows, the gradients are averaged over the ranks (or reduce-scattered and the optimizer
 * sharded, with {@link TrainerBuilder#zeroStage} 1), and the logged loss is the mean over the ranks,
 * so the curve is the single process's up to float rounding (with dropout 0: a rank draws its
 * dropout masks by index within its own rows). Only rank 0 evaluates and writes metrics and
 * checkpoints; checkpoints hold the whole optimizer state either way, so runs resume across
 * layouts. See docs/parallel.md.
 *
 * <p>Pipeline parallelism ({@link TrainerBuilder#pipelineParallel}): the trainer is one stage of a
 * pipeline group, every rank given the same full model and data. Each step's micro-batches (the
 * accumulation) run through the stages by the 1F1B schedule, and the curve is gradient
 * accumulation's on one process up to float rounding; the model receives the stages' weights before
 * each evaluation and checkpoint and at the end. Only rank 0 evaluates and writes. With a
 * data-parallel group as well, each stage is replicated over it: every replica runs its rows of each
 * micro-batch through its pipeline, and the stages' gradients are averaged over the replicas. With a
 * tensor-parallel group as well, each stage is split over it (tensor × pipeline, and dp × tp × pp).
 *
 * <p>Tensor parallelism ({@link TrainerBuilder#tensorParallel}): the trainer cuts the model into this
 * rank's Megatron shards ({@code TensorParallelModel}) and trains them; every rank of the group reads
 * the same rows. With a data-parallel group as well, the shards' gradients are averaged over it
 * before the norm is measured across the tensor-parallel ranks. The model receives the full weights
 * (gathered from the shards) before each evaluation and checkpoint and at the end, and checkpoints
 * hold full-sized weights and AdamW moments, so they resume on any layout.
 *
 * <p>Expert parallelism ({@link TrainerBuilder#expertParallel}): the trainer keeps this rank's share of
 * every mixture-of-experts layer's experts and a replica of everything else
 * ({@code ExpertParallelModel}), and computes its own rows, as a data-parallel rank would: the batch
 * is split over the D·ep ranks of the expert-parallel group times the data-parallel group (the ranks
 * holding the same experts), the tokens travel to their experts by all-to-all, and the gradients are
 * averaged so that each step is a data-parallel replica's holding every expert. The model receives the
 * full weights before each evaluation and checkpoint and at the end; checkpoints hold full-sized
 * weights and moments; only global rank 0 evaluates and writes.
 *
 * <p>The trainer holds no global state and never exits the process; it does not close the model.
 */
public final class Trainer {
    private final GptNeoModel model;
    private final TrainedWeights weights;
    private final SequenceDataset train;
    private final SequenceDataset validation;     // null: no evaluation
    private final TrainerSettings settings;
    private final Options options;
    private final List<TrainerListener> listeners;
    private final MaskedLmMasking masking;        // null: a causal-LM model
    private volatile boolean cancelled;
    private boolean started;
    private PipelineParallel pipeline;            // this rank's stage during fit() of a pipeline-parallel run, else null
    private TensorParallelModel tensorParallel;   // this rank's shards during fit() of a tensor-parallel run, else null
    private ExpertParallelModel expertParallel;   // this rank's experts and replicas during fit() of an expert-parallel run, else null
    private ExpertParallelGradients expertGradients;   // their averaging over the D·ep ranks, likewise
    private Workspace passes;            // the memory every forward and backward pass reuses during fit() (host backends), else null

    /**
     * Settings that change what a run writes and reports, and where it computes (data-parallel,
     * tensor-parallel, pipeline and expert-parallel groups), not its loss curve.
     */
    record Options(int evalEvery, int evalBatches, int logEvery, int checkpointEvery, int keepCheckpoints,
                   Path outputDir, boolean resume, Path resumeFrom, boolean activationCheckpointing,
                   CheckpointObserver observer, Communicator group, int zeroStage, boolean overlapGradientReduction,
                   Communicator pipelineGroup, Communicator tensorGroup, Communicator expertGroup) {}

    /** Sees a checkpoint's folder once all its files are written, before it is renamed into place (tests). */
    @FunctionalInterface
    interface CheckpointObserver {
        void filesWritten(int step, Path partialDir);
    }

    Trainer(GptNeoModel model, TrainedWeights weights, SequenceDataset train, SequenceDataset validation,
            TrainerSettings settings, Options options, List<TrainerListener> listeners) {
        this.model = model;
        this.weights = weights;
        this.train = train;
        this.validation = validation;
        this.settings = settings;
        this.options = options;
        this.listeners = List.copyOf(listeners);
        this.masking = model.config().objective() == Objective.MASKED_LM ? MaskedLmMasking.forModel(model.config()) : null;
    }

    public static TrainerBuilder builder() {
        return new TrainerBuilder();
    }

    public TrainerSettings settings() {
        return settings;
    }

    /**
     * Asks a running {@link #fit()} to stop after the step in progress and save a checkpoint; safe from
     * any thread. In a data-parallel, tensor-, pipeline- or expert-parallel group, a cancel on any rank stops
     * every rank after the same step.
     */
    public void cancel() {
        cancelled = true;
    }

    /**
     * Trains until the requested steps are done or {@link #cancel()} is called; one call per trainer.
     *
     * @throws TrainingDivergedException when a loss or gradient becomes NaN or infinite
     */
    public TrainingResult fit() {
        synchronized (this) {
            if (started) throw new IllegalStateException("fit() runs once per Trainer; build a new one to train again");
            started = true;
        }
        Backend backend = model.backend();
        AdamW.Settings adam = new AdamW.Settings((float) settings.learningRate(), (float) settings.beta1(),
                (float) settings.beta2(), (float) settings.eps(), (float) settings.weightDecay());
        CheckpointStore store = options.outputDir() == null ? null : new CheckpointStore(options.outputDir(), options.keepCheckpoints());
        try (PipelineParallel stages = options.pipelineGroup() == null ? null
                     : PipelineParallel.create(model, options.pipelineGroup(), options.tensorGroup(), PipelineSchedule.ONE_F_ONE_B);
             TensorParallelModel shards = options.tensorGroup() == null || stages != null ? null   // a pipeline splits its own stages
                     : TensorParallelModel.shard(model, options.tensorGroup());
             ExpertParallelModel experts = options.expertGroup() == null ? null : ExpertParallelModel.shard(model, options.expertGroup());
             ExpertParallelGradients expertAveraging = experts == null ? null : options.group() == null ? new ExpertParallelGradients(experts)
                     : ExpertParallelGradients.stepwise(experts, options.group());
             DataParallel dataParallel = options.group() == null || experts != null ? null
                     : new DataParallel(options.group(), backend, stages != null ? stages.parameters()
                             : shards != null ? shards.registry().trainable().asVars() : weights.parameters());
             StepOptimizer optimizer = stages != null ? new PipelineOptimizer(stages, adam, dataParallel, zeroGroup())
                     : shards != null ? new TensorParallelOptimizer(shards, adam, dataParallel, zeroGroup())
                     : experts != null ? new ExpertParallelOptimizer(experts, expertAveraging, adam, weights.parameters().keySet(), zeroGroup())
                     : optimizer(backend, adam, dataParallel);
             Workspace reused = backend.device().hostAccessible() ? new Workspace() : null) {
            pipeline = stages;
            passes = reused;
            tensorParallel = shards;
            expertParallel = experts;
            expertGradients = expertAveraging;
            int step = 0;
            long position = 0;
            Optional<Path> checkpoint = Optional.empty();
            if (store != null) {
                if (writes()) store.removePartial();
                Optional<Path> from = resumePoint(store);
                if (from.isPresent()) {
                    TrainerState state = TrainingCheckpoint.restore(from.get(), weights, optimizer, backend);
                    String difference = settings.differenceFrom(state.settings());
                    if (difference != null) {
                        throw new IllegalArgumentException("cannot resume from " + from.get() + " with other settings: " + difference);
                    }
                    step = state.step();
                    position = state.sequencesSeen();
                    checkpoint = from;
                    if (stages != null) stages.loadFrom(model);                  // every rank restored the whole model
                    if (shards != null) shards.loadFrom(model);
                    if (experts != null) experts.loadFrom(model);
                }
            }
            if (dataParallel != null) dataParallel.broadcastParameters();
            if (experts != null) expertAveraging.broadcastParameters();
            List<TrainerListener> all = new ArrayList<>();
            MetricsLog log = store == null || !writes() ? null : new MetricsLog(store.root().resolve(MetricsLog.FILE), step);
            if (log != null) all.add(log);
            all.addAll(listeners);
            try {
                return run(step, new SequenceCursor(train, settings.seed(), settings.shuffle(), position), optimizer, dataParallel,
                        store, checkpoint, all);
            } finally {
                if (log != null) log.close();
            }
        }
    }

    /** AdamW on this process, replicated on every data-parallel rank, or sharded over them (ZeRO-1). */
    private StepOptimizer optimizer(Backend backend, AdamW.Settings adam, DataParallel dataParallel) {
        return new ReplicatedOptimizer(backend, weights.parameters(), adam, dataParallel, zeroGroup());
    }

    /** The data-parallel group AdamW's state is sharded over (ZeRO-1), or null. */
    private Communicator zeroGroup() {
        return options.zeroStage() == 1 ? options.group() : null;
    }

    /** Whether this process writes metrics and checkpoints: a single process, or rank 0 of every group it is in (global rank 0). */
    private boolean writes() {
        return (options.group() == null || options.group().rank() == 0)
                && (options.pipelineGroup() == null || options.pipelineGroup().rank() == 0)
                && (options.tensorGroup() == null || options.tensorGroup().rank() == 0)
                && (options.expertGroup() == null || options.expertGroup().rank() == 0);
    }

    /**
     * Every rank: the stages', shards' or experts' current weights into the caller's full model
     * (collectives), for evaluation and saving.
     */
    private void syncModel() {
        if (pipeline != null) pipeline.copyInto(model);
        if (tensorParallel != null) tensorParallel.copyInto(model);
        if (expertParallel != null) expertParallel.copyInto(model);
    }

    private Optional<Path> resumePoint(CheckpointStore store) {
        if (options.resumeFrom() != null) {
            Path dir = options.resumeFrom();
            if (!Files.isRegularFile(dir.resolve(TrainerState.FILE))) {
                throw new IllegalArgumentException(dir + " is not a complete checkpoint (no " + TrainerState.FILE + ")");
            }
            return Optional.of(dir);
        }
        Optional<Path> newest = store.newest();
        if (newest.isPresent() && !options.resume()) {
            throw new IllegalArgumentException(store.root() + " already holds checkpoints (newest " + newest.get().getFileName()
                    + "): resume from them, or write to an empty folder");
        }
        return newest;
    }

    private TrainingResult run(int firstStep, SequenceCursor cursor, StepOptimizer optimizer, DataParallel dataParallel,
                               CheckpointStore store, Optional<Path> checkpoint, List<TrainerListener> all) {
        Backend backend = model.backend();
        GptNeoModel computing = expertParallel != null ? expertParallel.model() : model;   // the model whose forward pass runs here
        Map<String, Var> trained = tensorParallel != null ? tensorParallel.registry().trainable().asVars()
                : expertParallel != null ? computing.registry().trainable().asVars() : weights.parameters();
        LearningRateSchedule schedule = settings.learningRateSchedule();
        int b = settings.batchSize(), t = settings.seqLen(), k = settings.accumulate();
        int rows = expertGradients != null ? expertGradients.localRows(b)      // this rank's rows of each micro-batch
                : dataParallel == null ? b : dataParallel.localRows(b);
        int first = expertGradients != null ? expertGradients.firstRow(b) : dataParallel == null ? 0 : dataParallel.firstRow(b);
        int lastSaved = checkpoint.isPresent() ? firstStep : -1;
        double loss = Double.NaN;
        boolean stop = false;                                                  // the parallel groups' agreed cancel
        boolean grouped = dataParallel != null || pipeline != null || tensorParallel != null || expertGradients != null;
        Optional<EvalMetrics> evaluation = Optional.empty();
        for (int step = firstStep; step < settings.steps(); step++) {
            if (grouped ? stop : cancelled) {
                if (store != null && lastSaved != step) checkpoint = Optional.of(save(store, step, cursor, optimizer, all));
                syncModel();
                return new TrainingResult(TrainingResult.Status.CANCELLED, step, loss, evaluation, checkpoint);
            }
            long start = System.nanoTime();
            double lr = schedule.at(step);
            optimizer.setLearningRate((float) lr);
            trained.values().forEach(p -> p.zeroGrad(backend));
            RoutingMetrics.Sum routing = new RoutingMetrics.Sum();
            if (pipeline != null) {
                loss = pipelineStep(cursor, step, first, rows);                   // gradients averaged over the micro-batches
                boolean anyCancel = cancelled;
                if (dataParallel != null) {
                    float[] agreed = dataParallel.average(new float[] {(float) loss, cancelled ? 1 : 0});   // the whole batch's loss
                    loss = agreed[0];
                    anyCancel = agreed[1] > 0;
                }
                if (!Double.isFinite(loss)) throw new TrainingDivergedException(step + 1, "loss", loss);
                stop = pipeline.anyStage(anyCancel);                              // any rank's cancel
            } else {
                float[] microLosses = new float[k + 1];                           // [k losses, cancel flag]
                OverlappedReduction reduction = null;                               // gradients reduced during the last backward pass
                for (int micro = 0; micro < k; micro++) {
                    int[] ids = new int[b * t];                                              // [B, T]
                    cursor.next(ids, b);
                    try (Tape tape = passes != null ? new Tape(backend, true, passes) : new Tape(backend, true);
                         Arena host = Arena.ofConfined()) {
                        int[] inputIds = ids, labelIds = ids;                                // causal LM: labels = ids (shifted by the loss)
                        if (masking != null) {
                            MaskedLmMasking.Batch masked = masking.apply(ids, b, maskingSeed(settings.seed(), step, micro));
                            inputIds = masked.inputs();
                            labelIds = masked.labels();
                        }
                        int[] localInputs = rowsOf(inputIds, first, rows, t), localLabels = rowsOf(labelIds, first, rows, t);  // [rows, T]
                        Tensor input = backend.upload(Tensor.ofInts(host, localInputs, rows, t), host);
                        Tensor labels = labelIds == inputIds ? input : backend.upload(Tensor.ofInts(host, localLabels, rows, t), host);
                        TrainingPass pass = new TrainingPass(dropoutSeed(settings.seed(), step, micro), options.activationCheckpointing());
                        Var microLoss;
                        if (tensorParallel != null) {                                        // the same loss on every tensor-parallel rank
                            microLoss = tensorParallel.loss(tape, tensorParallel.forward(tape, input, pass), labels);
                        } else {
                            ModelOutput output = computing.run(tape, input, pass);       // expert-parallel: every rank together
                            microLoss = computing.loss(tape, output, labels);               // LM loss + auxiliary losses
                            double aux = output.auxLoss() == null ? 0 : backend.download(output.auxLoss().value(), host).getFloat(0);
                            routing.add(aux, output.routing());
                        }
                        if (micro == k - 1 && options.overlapGradientReduction()) reduction = optimizer.reduceDuringBackward(1f / k);
                        if (reduction != null) tape.backward(microLoss, reduction);
                        else tape.backward(microLoss);
                        float value = backend.download(microLoss.value(), host).getFloat(0);
                        if (!Float.isFinite(value)) throw new TrainingDivergedException(step + 1, "loss", value);
                        microLosses[micro] = value;
                    }
                }
                if (reduction != null) reduction.finish();                          // before the next collective
                if (dataParallel != null || expertGradients != null) {
                    microLosses[k] = cancelled ? 1 : 0;
                    microLosses = expertGradients != null ? expertGradients.average(microLosses)   // over the D·ep ranks
                            : dataParallel.average(microLosses);                       // the whole batch's losses; any rank's cancel
                    stop = microLosses[k] > 0;
                }
                if (tensorParallel != null) stop = tensorParallel.anyRank(dataParallel != null ? stop : cancelled);
                double lossSum = 0;
                for (int micro = 0; micro < k; micro++) lossSum += microLosses[micro];
                loss = lossSum / k;
                if (k > 1 && reduction == null) {                                   // else scaled on their way into the buckets
                    trained.values().forEach(p -> { if (p.grad() != null) backend.scale(p.grad(), 1f / k); });
                }
            }
            GradientClipping.Report gradients = optimizer.reduceGradients();
            if (!gradients.finite()) throw new TrainingDivergedException(step + 1, gradients.firstNonFinite().get(), loss);
            if (settings.gradClip() > 0) optimizer.clip(gradients.norm(), settings.gradClip());
            optimizer.step();

            int done = step + 1;
            boolean last = done == settings.steps();
            double seconds = (System.nanoTime() - start) / 1e9;
            if (done % options.logEvery() == 0 || last) {
                StepMetrics metrics = new StepMetrics(done, loss, lr, gradients.norm(), settings.tokensPerStep() / seconds,
                        routing.result());
                all.forEach(l -> l.onStep(metrics));
            }
            boolean evaluate = validation != null && options.evalEvery() > 0 && (done % options.evalEvery() == 0 || last);
            if (evaluate) syncModel();                                             // every rank: the stages' or shards' weights
            if (evaluate && writes()) {
                EvalMetrics metrics = Evaluation.run(model, validation, b, options.evalBatches(), done, passes);
                evaluation = Optional.of(metrics);
                all.forEach(l -> l.onEvaluation(metrics));
            }
            if (store != null && ((options.checkpointEvery() > 0 && done % options.checkpointEvery() == 0) || last)) {
                checkpoint = Optional.of(save(store, done, cursor, optimizer, all));
                lastSaved = done;
            }
        }
        syncModel();                                                             // the caller's model holds the trained weights
        return new TrainingResult(TrainingResult.Status.COMPLETED, settings.steps(), loss, evaluation, checkpoint);
    }

    /**
     * One pipeline-parallel step's forward and backward passes over its k micro-batches, read (and
     * masked) alike on every rank, of which this data-parallel replica runs rows [first, first + rows);
     * returns the mean of their losses.
     */
    private double pipelineStep(SequenceCursor cursor, int step, int first, int rows) {
        Backend backend = model.backend();
        int b = settings.batchSize(), t = settings.seqLen();
        try (Arena host = Arena.ofShared()) {
            List<MicroBatch> batches = new ArrayList<>();
            for (int micro = 0; micro < settings.accumulate(); micro++) {
                int[] ids = new int[b * t];                                              // [B, T]
                cursor.next(ids, b);
                int[] inputIds = ids, labelIds = ids;                                    // causal LM: labels = ids (shifted by the loss)
                if (masking != null) {
                    MaskedLmMasking.Batch masked = masking.apply(ids, b, maskingSeed(settings.seed(), step, micro));
                    inputIds = masked.inputs();
                    labelIds = masked.labels();
                }
                int[] localInputs = rowsOf(inputIds, first, rows, t), localLabels = rowsOf(labelIds, first, rows, t);  // [rows, T]
                Tensor input = backend.upload(Tensor.ofInts(host, localInputs, rows, t), host);
                Tensor labels = labelIds == inputIds ? input : backend.upload(Tensor.ofInts(host, localLabels, rows, t), host);
                batches.add(new MicroBatch(input, labels, new TrainingPass(dropoutSeed(settings.seed(), step, micro),
                        options.activationCheckpointing())));
            }
            return pipeline.step(batches);
        }
    }

    /** Rows [first, first + rows) of a [B, T] batch of ids: all of it in one process, this rank's block in a data-parallel one. */
    private static int[] rowsOf(int[] ids, int first, int rows, int t) {
        return first == 0 && rows * t == ids.length ? ids : Arrays.copyOfRange(ids, first * t, (first + rows) * t);
    }

    /**
     * Checkpoint {@code step}: every rank gathers the optimizer state (a collective under ZeRO), only
     * the writing rank writes; returns the checkpoint's folder.
     */
    private Path save(CheckpointStore store, int step, SequenceCursor cursor, StepOptimizer optimizer, List<TrainerListener> all) {
        syncModel();                                                             // every rank: the stages' or shards' weights
        try (Arena staging = Arena.ofShared()) {
            Map<String, AdamW.Moments> moments = optimizer.moments(staging);
            if (!writes()) return store.root().resolve("checkpoint-" + step);
            TrainerState state = new TrainerState(step, cursor.position(), settings);
            Path dir = store.write(step, partial -> {
                TrainingCheckpoint.write(partial, weights, moments, optimizer.stepCount(), state, model.backend());
                if (options.observer() != null) options.observer().filesWritten(step, partial);
            });
            all.forEach(l -> l.onCheckpoint(step, dir));
            return dir;
        }
    }

    /**
     * The masking seed of one micro-batch of a masked-LM run: the dropout seed of (seed ⊕ a fixed
     * salt, step, micro-batch), so masks and dropout masks are drawn independently.
     */
    static long maskingSeed(long seed, int step, int micro) {
        return dropoutSeed(seed ^ 0x6D61736B5F6C6DL, step, micro);     // "mask_lm"
    }

    /** The dropout seed of one micro-batch: a SplitMix64 hash of (seed, step, micro-batch). */
    static long dropoutSeed(long seed, int step, int micro) {
        long z = seed + 0x9E3779B97F4A7C15L * (((long) step << 16) + micro + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
