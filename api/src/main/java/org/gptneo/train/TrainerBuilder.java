package org.gptneo.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.gptneo.data.SequenceDataset;
import org.gptneo.data.Split;
import org.gptneo.data.TokenSource;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoModel;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.ExpertParallelLayout;
import org.gptneo.parallel.LayerPartition;
import org.gptneo.parallel.TensorParallelLayout;

/**
 * Settings of a {@link Trainer}. Defaults follow Hugging Face's {@code TrainingArguments} where it
 * has the setting: batch size 8, learning rate 5e-5, no warm-up, linear decay to 0, no weight
 * decay, Adam betas 0.9/0.999 and eps 1e-8, gradient clipping at norm 1.0, no accumulation, seed
 * 42, a log row every step. The sequence length defaults to the model's context length. Invalid
 * values fail in {@link #build()}, naming the setting.
 */
public final class TrainerBuilder {
    private GptNeoModel model;
    private LoraAdapter adapter;
    private TokenSource tokens;
    private SequenceDataset sequences;
    private TokenSource evalTokens;
    private SequenceDataset evalSequences;
    private double validationSplit;
    private int steps;
    private int batchSize = 8;
    private int seqLen;
    private int accumulate = 1;
    private double learningRate = 5e-5;
    private int warmup;
    private Schedule schedule = Schedule.LINEAR;
    private double lrFloor;
    private double weightDecay;
    private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    private double gradClip = 1.0;
    private long seed = 42;
    private boolean shuffle = true;
    private int evalEvery, evalBatches, logEvery = 1, checkpointEvery, keep;
    private Path outputDir;
    private boolean resume;
    private Path resumeFrom;
    private boolean activationCheckpointing;
    private boolean overlapGradientReduction;
    private Trainer.CheckpointObserver observer;
    private Communicator group;
    private int zeroStage;
    private Communicator pipelineGroup;
    private Communicator tensorGroup;
    private Communicator expertGroup;
    private final List<TrainerListener> listeners = new ArrayList<>();

    TrainerBuilder() {}

    /** The model to train (all its trainable parameters, unless an adapter is given). */
    public TrainerBuilder model(GptNeoModel m) { this.model = m; return this; }

    /**
     * Trains only this LoRA adapter (applied to the model); checkpoints then hold the adapter in
     * PEFT's layout instead of the whole model.
     */
    public TrainerBuilder adapter(LoraAdapter a) { this.adapter = a; return this; }

    /** Training tokens, packed into sequences of {@link #seqLen} tokens. */
    public TrainerBuilder data(TokenSource t) { this.tokens = t; this.sequences = null; return this; }

    /** Training sequences, already packed (their length is the sequence length). */
    public TrainerBuilder data(SequenceDataset s) { this.sequences = s; this.tokens = null; return this; }

    /** Validation tokens for {@link #evalEvery}, packed like the training data. */
    public TrainerBuilder evalData(TokenSource t) { this.evalTokens = t; this.evalSequences = null; return this; }

    public TrainerBuilder evalData(SequenceDataset s) { this.evalSequences = s; this.evalTokens = null; return this; }

    /** Holds out this fraction of the training sequences (seeded) as validation data instead. */
    public TrainerBuilder validationSplit(double fraction) { this.validationSplit = fraction; return this; }

    public TrainerBuilder steps(int n) { this.steps = n; return this; }

    /** Sequences per micro-batch. */
    public TrainerBuilder batchSize(int n) { this.batchSize = n; return this; }

    public TrainerBuilder seqLen(int n) { this.seqLen = n; return this; }

    /** Micro-batches per optimizer step (gradient accumulation). */
    public TrainerBuilder accumulate(int n) { this.accumulate = n; return this; }

    /** The peak learning rate. */
    public TrainerBuilder learningRate(double lr) { this.learningRate = lr; return this; }

    /** Steps of linear warm-up from 0 to the peak rate. */
    public TrainerBuilder warmup(int n) { this.warmup = n; return this; }

    public TrainerBuilder schedule(Schedule s) { this.schedule = s; return this; }

    /** The lowest rate the decay reaches, as a fraction of the peak (default 0). */
    public TrainerBuilder learningRateFloor(double fraction) { this.lrFloor = fraction; return this; }

    /** Decoupled weight decay, on every parameter but biases and LayerNorm parameters. */
    public TrainerBuilder weightDecay(double wd) { this.weightDecay = wd; return this; }

    public TrainerBuilder adam(double b1, double b2, double epsilon) { this.beta1 = b1; this.beta2 = b2; this.eps = epsilon; return this; }

    /** Global gradient-norm limit (0 = no clipping; default 1.0). */
    public TrainerBuilder gradClip(double maxNorm) { this.gradClip = maxNorm; return this; }

    /** Seeds the data order, the validation split and the dropout masks. */
    public TrainerBuilder seed(long s) { this.seed = s; return this; }

    /** Shuffles the sequences anew each epoch (default), or takes them in order. */
    public TrainerBuilder shuffle(boolean yes) { this.shuffle = yes; return this; }

    /** Evaluates every N steps and after the last (0 = never). */
    public TrainerBuilder evalEvery(int n) { this.evalEvery = n; return this; }

    /** Evaluates on at most N batches of the validation data (0 = all of it). */
    public TrainerBuilder evalBatches(int n) { this.evalBatches = n; return this; }

    /** Reports (listeners, metrics.jsonl) every N steps and after the last. */
    public TrainerBuilder logEvery(int n) { this.logEvery = n; return this; }

    /** Writes {@code OUT/checkpoint-STEP} every N steps (0 = only after the last); needs {@link #outputDir}. */
    public TrainerBuilder checkpointEvery(int n) { this.checkpointEvery = n; return this; }

    /** Keeps only the newest K checkpoints (0 = all). */
    public TrainerBuilder keepCheckpoints(int k) { this.keep = k; return this; }

    /** Where metrics.jsonl and the checkpoints go (none without it). */
    public TrainerBuilder outputDir(Path dir) { this.outputDir = dir; return this; }

    /** Continues from the newest complete checkpoint in the output folder, if there is one. */
    public TrainerBuilder resume(boolean yes) { this.resume = yes; return this; }

    /** Continues from this checkpoint folder. */
    public TrainerBuilder resumeFrom(Path checkpointDir) { this.resumeFrom = checkpointDir; return this; }

    /** Recomputes each block's activations in the backward pass instead of keeping them (less memory, same numbers). */
    public TrainerBuilder activationCheckpointing(boolean yes) { this.activationCheckpointing = yes; return this; }

    /**
     * Trains as one rank of a data-parallel group (the model is this rank's replica): the batch size
     * is the global batch, of which each rank computes batch/D rows, and the gradients are averaged
     * over the ranks; rank 0's parameters are broadcast at the start. Only rank 0 writes metrics and
     * checkpoints. Every rank must be given the same settings and data. With {@link #tensorParallel},
     * {@link #pipelineParallel} or {@link #expertParallel} the group holds the ranks with the same
     * shards, stage or experts.
     */
    public TrainerBuilder dataParallel(Communicator g) { this.group = Objects.requireNonNull(g, "group"); return this; }

    /**
     * ZeRO stage (GPT-NeoX's {@code zero_optimization.stage}): 0 (default) keeps the whole AdamW state on
     * every rank; 1 shards it over the data-parallel group (also with tensor, pipeline or expert parallelism: the
     * ranks holding the same parameters). Stages 2 and 3 are not available.
     */
    public TrainerBuilder zeroStage(int stage) { this.zeroStage = stage; return this; }

    /**
     * Whether a data-parallel run (plain or ZeRO-1) reduces the gradients during the step's last
     * backward pass, bucket by bucket as the pass completes them (true, where the gradients are in host
     * memory), or after it (false, the default). Both give the same bits. Overlapping pays where the
     * communication leaves cores free; with every core computing, MPI's polling for the other ranks
     * takes a core from the backward pass (measured in docs/parallel.md).
     */
    public TrainerBuilder overlapGradientReduction(boolean yes) { this.overlapGradientReduction = yes; return this; }

    /**
     * Trains as one stage of a pipeline-parallel group: rank s of P holds stage s of the model's layers
     * ({@code LayerPartition}), and each step's {@link #accumulate} micro-batches of {@link #batchSize}
     * rows run through the stages by the 1F1B schedule (see {@code PipelineParallel}); losses and
     * gradients are those of gradient accumulation on one process. Every rank is given the same full
     * model, settings and data; the model receives the trained weights before each evaluation and
     * checkpoint and at the end. Only rank 0 writes metrics and checkpoints (ordinary ones).
     */
    public TrainerBuilder pipelineParallel(Communicator g) { this.pipelineGroup = Objects.requireNonNull(g, "group"); return this; }

    /**
     * Trains as one rank of a tensor-parallel group: the model (the same on every rank) is cut into
     * this rank's Megatron shards ({@code TensorParallelModel}: attention heads, MLP slices and
     * vocabulary rows), every rank of the group computes the same rows, and the loss and gradient norm
     * are the whole model's. Combines with {@link #dataParallel} (a group of the ranks holding the same
     * shards: gradients are averaged over it first) and with {@link #pipelineParallel} (each stage is
     * split over the group), also under ZeRO-1; not with a LoRA adapter. The model receives the full weights before each evaluation and checkpoint and at the
     * end; checkpoints are ordinary ones (full weights and moments). Only global rank 0 writes.
     */
    public TrainerBuilder tensorParallel(Communicator g) { this.tensorGroup = Objects.requireNonNull(g, "group"); return this; }

    /**
     * Trains as one rank of an expert-parallel group: the model (the same on every rank, with
     * mixture-of-experts layers whose experts the group's size divides) is cut into this rank's share
     * ({@code ExpertParallelModel}: E/ep experts of every mixture layer, everything else replicated), and
     * each rank computes its own rows, as in data parallelism: the batch size is the global batch, split
     * into D·ep blocks, block e + ep·d for expert-parallel rank e and data-parallel rank d (D the
     * {@link #dataParallel} group, the ranks holding the same experts, or 1). Tokens reach their experts
     * by all-to-all; the gradients are averaged so that the update is that of D·ep data-parallel
     * replicas holding every expert (routing and capacity per rank, as there). Also under ZeRO-1; not yet
     * with tensor or pipeline parallelism, nor with a LoRA adapter. The model receives the full weights before each
     * evaluation and checkpoint and at the end; checkpoints are ordinary ones. Only global rank 0 writes.
     */
    public TrainerBuilder expertParallel(Communicator g) { this.expertGroup = Objects.requireNonNull(g, "group"); return this; }

    public TrainerBuilder listener(TrainerListener l) { this.listeners.add(Objects.requireNonNull(l, "listener")); return this; }

    TrainerBuilder checkpointObserver(Trainer.CheckpointObserver o) { this.observer = o; return this; }

    public Trainer build() {
        if (model == null) throw new IllegalArgumentException("the trainer needs a model");
        if (adapter != null && adapter.model() != model) {
            throw new IllegalArgumentException("the adapter is applied to another model than the one to train");
        }
        if (tokens == null && sequences == null) throw new IllegalArgumentException("the trainer needs data");
        int length = sequences != null ? sequences.seqLen() : seqLen > 0 ? seqLen : model.config().contextLength();
        if (sequences != null && seqLen > 0 && seqLen != length) {
            throw new IllegalArgumentException("seqLen " + seqLen + " differs from the packed data's sequence length " + length);
        }
        if (length > model.config().contextLength()) {
            throw new IllegalArgumentException("the sequence length " + length + " exceeds the model's context length "
                    + model.config().contextLength());
        }
        require(evalEvery >= 0 && evalBatches >= 0 && checkpointEvery >= 0 && keep >= 0,
                "evalEvery, evalBatches, checkpointEvery and keepCheckpoints must be >= 0");
        require(logEvery >= 1, "logEvery must be at least 1, got " + logEvery);
        require(accumulate < 65_536, "accumulate must be below 65536, got " + accumulate);
        require(checkpointEvery == 0 || outputDir != null, "checkpointEvery needs an outputDir");
        require(zeroStage == 0 || zeroStage == 1, "ZeRO stage " + zeroStage + " is not available (1 is)");
        require(zeroStage == 0 || group != null, "ZeRO stage 1 shards the optimizer over a data-parallel group: give dataParallel(group)");
        require(expertGroup == null || (tensorGroup == null && pipelineGroup == null),
                "expert parallelism together with " + (tensorGroup != null ? "tensor" : "pipeline") + " parallelism is not available yet");
        require(expertGroup == null || adapter == null, "expert parallelism trains the whole model, not a LoRA adapter");
        if (expertGroup != null) ExpertParallelLayout.of(model.config(), expertGroup.size(), expertGroup.rank());
        int rowBlocks = (group == null ? 1 : group.size()) * (expertGroup == null ? 1 : expertGroup.size());
        if (rowBlocks > 1) DataParallel.rowsPerRank(batchSize, rowBlocks);
        require(pipelineGroup == null || adapter == null, "pipeline parallelism trains the whole model, not a LoRA adapter");
        require(tensorGroup == null || adapter == null, "tensor parallelism trains the whole model, not a LoRA adapter");
        if (pipelineGroup != null) new LayerPartition(model.config().layers(), pipelineGroup.size());
        if (tensorGroup != null) TensorParallelLayout.of(model.config(), tensorGroup.size(), tensorGroup.rank(),
                TensorParallelLayout.DEFAULT_VOCAB_MULTIPLE);
        require(!resume && resumeFrom == null || outputDir != null, "resuming needs the outputDir the run writes to");
        boolean hasEvalData = evalTokens != null || evalSequences != null;
        require(!(hasEvalData && validationSplit > 0), "give evaluation data or a validation split, not both");
        require(evalEvery == 0 || hasEvalData || validationSplit > 0, "evalEvery needs evalData or a validationSplit");
        TrainerSettings settings = new TrainerSettings(steps, batchSize, length, accumulate, learningRate, warmup, schedule,
                lrFloor, weightDecay, beta1, beta2, eps, gradClip, seed, shuffle, validationSplit);

        SequenceDataset all = sequences != null ? sequences : SequenceDataset.packed(tokens, length);
        SequenceDataset trainSet = all, validation = null;
        if (validationSplit > 0) {
            Split split = all.split(validationSplit, seed);
            trainSet = split.train();
            validation = split.validation();
        } else if (hasEvalData) {
            validation = evalSequences != null ? evalSequences : SequenceDataset.packed(evalTokens, length);
            require(validation.seqLen() == length, "the evaluation sequences have length " + validation.seqLen()
                    + ", the training ones " + length);
        }
        Trainer.Options options = new Trainer.Options(evalEvery, evalBatches, logEvery, checkpointEvery, keep, outputDir,
                resume, resumeFrom, activationCheckpointing, observer, group, zeroStage, overlapGradientReduction, pipelineGroup, tensorGroup,
                expertGroup);
        return new Trainer(model, adapter != null ? TrainedWeights.adapter(adapter) : TrainedWeights.wholeModel(model), trainSet, validation, settings, options, listeners);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
