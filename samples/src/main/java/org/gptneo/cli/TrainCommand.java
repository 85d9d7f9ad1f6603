package org.gptneo.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.gptneo.data.DatasetOptions;
import org.gptneo.data.Datasets;
import org.gptneo.data.TokenSource;
import org.gptneo.io.AdapterCheckpoint;
import org.gptneo.io.HfCheckpoint;
import org.gptneo.io.LoadOptions;
import org.gptneo.lora.LoRA;
import org.gptneo.lora.LoraAdapter;
import org.gptneo.model.GptNeoConfig;
import org.gptneo.model.GptNeoModel;
import org.gptneo.model.Objective;
import org.gptneo.parallel.Communicator;
import org.gptneo.parallel.DataParallel;
import org.gptneo.parallel.ExpertParallelLayout;
import org.gptneo.parallel.InProcessRanks;
import org.gptneo.parallel.ParallelGroups;
import org.gptneo.parallel.ParallelLayout;
import org.gptneo.parallel.mpi.LauncherWorld;
import org.gptneo.tokenizer.Gpt2Tokenizer;
import org.gptneo.tokenizer.TokenizerException;
import org.gptneo.tokenizer.TokenizerWriter;
import org.gptneo.train.MetricsLog;
import org.gptneo.train.Schedule;
import org.gptneo.train.Trainer;
import org.gptneo.train.TrainerBuilder;
import org.gptneo.train.TrainingResult;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code gptneo train}: fine-tunes a model (or a LoRA adapter) on a dataset and saves the result in Hugging Face layout. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Fine-tune a model, or a LoRA adapter on it, on text or token data.",
            "",
            "--data takes a text file, a folder of them, JSONL (a \"text\" field), an Arrow",
            "token file, a Hugging Face datasets cache file or folder, or a GPT-NeoX .bin/.idx",
            "pair; text is tokenized once into an Arrow cache next to it. OUT receives",
            "metrics.jsonl (one row per logged step and per evaluation), checkpoint-STEP/",
            "folders (every --checkpoint-every steps and at the end; --resume continues from",
            "the newest complete one with exactly the same curve), the final model",
            "(config.json + model.safetensors) or adapter (adapter_config.json +",
            "adapter_model.safetensors), the tokenizer files and loss.png.",
            "",
            "--run FILE (repeatable) reads settings from YAML/JSON run files, merged in order;",
            "flags given on the command line win. A run file has sections (model, data,",
            "optimizer, schedule, training, checkpointing, parallel, lora) whose keys are these",
            "options' names; GPT-NeoX's own config files are read too. --print-config shows",
            "the merged settings and exits."})
final class TrainCommand implements Callable<Integer> {
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-\\d+");

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    ModelSource source;                                   // null: the run files' model

    @Option(names = "--run", paramLabel = "FILE", description = "A run file (YAML or JSON; repeatable, later files win).")
    List<Path> runFiles;

    @Option(names = "--print-config", description = "Print the merged settings (run files, then flags) as a run file and exit.")
    boolean printConfig;

    @Option(names = "--data", required = true, paramLabel = "FILE_OR_DIR", description = "Training data.")
    Path data;

    @Option(names = "--steps", required = true, paramLabel = "N", description = "Optimizer steps.")
    int steps;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B", description = "Sequences per micro-batch, over all data-parallel ranks (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--micro-batch-size", paramLabel = "M",
            description = "Sequences per data-parallel rank per micro-batch (GPT-NeoX's train_micro_batch_size_per_gpu): the batch is M × dp (× ep).")
    Integer microBatchSize;

    @Option(names = "--seq-len", paramLabel = "T", description = "Tokens per sequence (default: the model's context length).")
    int seqLen;

    @Option(names = "--lr", defaultValue = "5e-5", paramLabel = "LR", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", defaultValue = "0", paramLabel = "W", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--schedule", defaultValue = "linear", paramLabel = "KIND",
            description = "cosine, linear or constant after the warm-up (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--lr-floor", defaultValue = "0", paramLabel = "F", description = "Lowest rate as a fraction of --lr (default: ${DEFAULT-VALUE}).")
    double lrFloor;

    @Option(names = "--adam-beta1", defaultValue = "0.9", paramLabel = "B1", description = "AdamW beta1 (default: ${DEFAULT-VALUE}).")
    double beta1;

    @Option(names = "--adam-beta2", defaultValue = "0.999", paramLabel = "B2", description = "AdamW beta2 (default: ${DEFAULT-VALUE}).")
    double beta2;

    @Option(names = "--adam-eps", defaultValue = "1e-8", paramLabel = "EPS", description = "AdamW epsilon (default: ${DEFAULT-VALUE}).")
    double adamEps;

    @Option(names = "--weight-decay", defaultValue = "0", paramLabel = "WD", description = "AdamW weight decay, not on biases and LayerNorms (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--grad-clip", defaultValue = "1.0", paramLabel = "C", description = "Global gradient-norm limit, 0 = off (default: ${DEFAULT-VALUE}).")
    double gradClip;

    @Option(names = "--accumulate", defaultValue = "1", paramLabel = "K", description = "Micro-batches per step (default: ${DEFAULT-VALUE}).")
    int accumulate;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Seeds data order, split and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--eval-every", defaultValue = "0", paramLabel = "N", description = "Evaluate every N steps and at the end (default: never).")
    int evalEvery;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Validation data (else --validation-split of --data).")
    Path evalData;

    @Option(names = "--validation-split", defaultValue = "0", paramLabel = "F",
            description = "Hold out this fraction of --data for evaluation (default: 0.05 when --eval-every is set without --eval-data).")
    double validationSplit;

    @Option(names = "--eval-batches", defaultValue = "0", paramLabel = "N", description = "Evaluate on at most N batches (default: all).")
    int evalBatches;

    @Option(names = "--log-every", defaultValue = "1", paramLabel = "N", description = "A metrics row every N steps (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--checkpoint-every", defaultValue = "0", paramLabel = "N", description = "A checkpoint every N steps (default: only at the end).")
    int checkpointEvery;

    @Option(names = "--keep", defaultValue = "0", paramLabel = "K", description = "Keep the newest K checkpoints (default: all).")
    int keep;

    @Option(names = "--resume", description = "Continue from the newest complete checkpoint in --out.")
    boolean resume;

    @Option(names = "--activation-checkpointing", description = "Recompute activations in the backward pass (less memory, same numbers).")
    boolean activationCheckpointing;

    @Option(names = "--text-field", defaultValue = "text", paramLabel = "NAME", description = "The JSONL field holding the text (default: ${DEFAULT-VALUE}).")
    String textField;

    @Option(names = "--lora-rank", paramLabel = "R", description = "Train a LoRA adapter of this rank instead of the whole model.")
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha (default: the rank); scaling = alpha / rank.")
    Float loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0", paramLabel = "P", description = "Dropout on the LoRA path (default: ${DEFAULT-VALUE}).")
    float loraDropout;

    @Option(names = "--lora-targets", defaultValue = "q_proj,v_proj", split = ",", paramLabel = "NAMES",
            description = "Projections to adapt: q_proj, k_proj, v_proj, out_proj, c_fc, c_proj (default: ${DEFAULT-VALUE}).")
    List<String> loraTargets;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--parallel", paramLabel = "dp=D,...",
            description = {"dp=D,tp=T,pp=P,ep=E (omitted parts are 1; D·T·P·E ranks). dp: data parallelism, --batch-size is the",
                "global batch and each replica takes batch/D rows. tp: Megatron tensor parallelism, each rank holds a slice of",
                "every layer (heads, MLP, vocabulary). pp: pipeline parallelism, each rank holds a stage of the layers and runs",
                "--accumulate micro-batches per step. ep: expert parallelism (mixture-of-experts models), each rank holds",
                "E-th of every mixture layer's experts and takes its own batch/(D·E) rows, tokens reach their experts by",
                "all-to-all. They combine (dp×tp, dp×pp, tp×pp, dp×tp×pp, dp×ep); global rank = tp + T·(ep + E·(dp + D·pp)).",
                "Ranks are threads of this JVM, or the processes of mpirun/torchrun (RANK, WORLD_SIZE, ...); global rank 0",
                "writes OUT, as one process would."})
    String parallel;

    @Option(names = "--overlap-reduction", negatable = true, defaultValue = "false", fallbackValue = "true",
            description = {"Reduce the data-parallel gradients (plain or ZeRO-1) during the step's last backward pass, bucket by",
                    "bucket, rather than after it: the same numbers; pays where communication leaves the cores free (default: off:",
                    "with every core computing, MPI's polling slows the backward pass; see docs/parallel.md)."})
    boolean overlapReduction;

    @Option(names = "--zero", defaultValue = "0", paramLabel = "STAGE",
            description = "ZeRO stage: 1 shards AdamW's state over the data-parallel ranks, also with tp, pp and ep (default: ${DEFAULT-VALUE}).")
    int zero;

    @Spec
    CommandSpec spec;

    /** Fills options the command line leaves out from the --run files (set by {@link Main#commandLine()}). */
    final RunDefaults runDefaults = new RunDefaults(() -> runFiles);

    @Override
    public Integer call() throws Exception {
        try {
            RunConfig run = runDefaults.config();
            RunOptions.requireKnown(run, spec);
            if (source == null) source = RunOptions.modelSource(run);
            run.notes().forEach(note -> spec.commandLine().getErr().println("gptneo: " + note));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e);       // a usage error, as a bad flag is
        }
        ParallelLayout layout = parallel == null ? ParallelLayout.single() : ParallelLayout.parse(parallel);
        int batch = RunOptions.batchSize(spec, batchSize, microBatchSize, layout);
        if (printConfig) {
            spec.commandLine().getOut().print(RunOptions.print(spec, source, batch));
            spec.commandLine().getOut().flush();
            return 0;
        }
        Schedule kind = schedule(schedule);
        if (loraRank == null && (loraAlpha != null || loraDropout != 0 || spec.commandLine().getParseResult().hasMatchedOption("--lora-targets"))) {
            throw new IllegalArgumentException("--lora-alpha, --lora-dropout and --lora-targets need --lora-rank");
        }
        int context = source.config().contextLength();
        if (seqLen > context) {
            throw new IllegalArgumentException("--seq-len " + seqLen + " exceeds the model's context length " + context);
        }
        if (!resume) refuseCheckpoints(out);
        double split = validationSplit == 0 && evalEvery > 0 && evalData == null ? 0.05 : validationSplit;
        PrintWriter err = spec.commandLine().getErr();
        Gpt2Tokenizer tokenizer = source.tokenizer();
        Gpt2Tokenizer saved = savedTokenizer(tokenizer, source.config());   // checked before training
        DatasetOptions dataOptions = DatasetOptions.defaults().withTokenizer(tokenizer).withTextField(textField);
        layout.requireAvailable();
        if (zero != 0 && zero != 1) throw new IllegalArgumentException("ZeRO stage " + zero + " is not available (1 is)");
        if (layout.ep() > 1) ExpertParallelLayout.of(source.config(), layout.ep(), 0);   // mixture layers whose experts ep divides
        DataParallel.rowsPerRank(batch, layout.dp() * layout.ep());   // expert-parallel ranks compute their own rows too
        if (parallel == null && zero == 0) {
            report(train(null, layout, batch, dataOptions, kind, split, err), saved);
        } else if (LauncherWorld.launched(System.getenv())) {
            try (Communicator world = LauncherWorld.connect()) {
                layout.requireWorldSize(world.size());
                TrainingResult result = train(world, layout, batch, dataOptions, kind, split, err);
                if (world.rank() == 0) report(result, saved);
            }
        } else {
            Datasets.open(data, dataOptions).close();                         // text is tokenized into its cache once, not by every rank
            if (evalData != null) Datasets.open(evalData, dataOptions).close();
            List<TrainingResult> results = InProcessRanks.run(layout.worldSize(),
                    world -> train(world, layout, batch, dataOptions, kind, split, err));
            report(results.getFirst(), saved);
        }
        return 0;
    }

    /**
     * Trains as one rank of {@code world} (null: one process), split into the layout's data-, tensor-,
     * pipeline- and expert-parallel groups, on global batches of {@code batch} sequences and, on global rank 0,
     * saves the final model or adapter into OUT; every rank opens its own data and its own full model.
     */
    private TrainingResult train(Communicator world, ParallelLayout layout, int batch, DatasetOptions dataOptions, Schedule kind,
                                 double split, PrintWriter err) {
        boolean writer = world == null || world.rank() == 0;
        boolean lora = loraRank != null;
        try (ParallelGroups groups = world == null ? null : ParallelGroups.split(world, layout);
             TokenSource tokens = Datasets.open(data, dataOptions);
             TokenSource evalTokens = evalData == null ? null : Datasets.open(evalData, dataOptions);
             GptNeoModel model = source.model(lora ? LoadOptions.defaults() : LoadOptions.training());
             LoraAdapter adapter = lora ? lora().apply(model) : null) {
            TrainerBuilder builder = Trainer.builder().model(model).data(tokens).steps(steps).batchSize(batch)
                    .learningRate(lr).adam(beta1, beta2, adamEps).warmup(warmup).schedule(kind).learningRateFloor(lrFloor)
                    .weightDecay(weightDecay)
                    .gradClip(gradClip).accumulate(accumulate).seed(seed).evalEvery(evalEvery).evalBatches(evalBatches)
                    .logEvery(logEvery).checkpointEvery(checkpointEvery).keepCheckpoints(keep).outputDir(out)
                    .resume(resume).activationCheckpointing(activationCheckpointing).validationSplit(split);
            if (seqLen > 0) builder.seqLen(seqLen);
            if (evalTokens != null) builder.evalData(evalTokens);
            if (adapter != null) builder.adapter(adapter);
            if (groups != null) {
                // ZeRO-1 shards over the data-parallel group even of one rank; otherwise only groups of several ranks are given
                if (layout.dp() > 1 || zero == 1 || (layout.tp() == 1 && layout.pp() == 1 && layout.ep() == 1)) builder.dataParallel(groups.data());
                if (layout.tp() > 1) builder.tensorParallel(groups.tensor());
                if (layout.pp() > 1) builder.pipelineParallel(groups.pipeline());
                if (layout.ep() > 1) builder.expertParallel(groups.expert());
                builder.zeroStage(zero).overlapGradientReduction(overlapReduction);
            }
            if (!writer) return builder.build().fit();
            err.println(tokens.description());
            err.printf(Locale.ROOT, "training %,d of %,d parameters%s for %d steps%s%n", model.registry().trainable().elementCount(),
                    model.parameterCount(), adapter != null ? " (" + describe(adapter.config()) + ")" : "", steps,
                    world == null ? "" : " on " + describe(layout) + " (" + world.name() + (zero == 1 ? ", ZeRO-1)" : ")"));
            err.flush();
            TrainingResult result;
            try (TrainingProgress progress = new TrainingProgress(err, steps, 0, TrainingProgress.onTerminal())) {
                result = builder.listener(progress).build().fit();
            }
            if (adapter != null) {
                AdapterCheckpoint.save(adapter, out);
            } else {
                HfCheckpoint.save(model, out);
            }
            return result;
        }
    }

    /** Writes the tokenizer and the loss plot into OUT and prints the outcome (rank 0 only). */
    private void report(TrainingResult result, Gpt2Tokenizer saved) throws IOException {
        TokenizerWriter.writeVocabAndMerges(saved, out);
        Path png = LossPlot.write(out.resolve(MetricsLog.FILE), out.resolve("loss.png"), "gptneo train");
        PrintWriter stdout = spec.commandLine().getOut();
        stdout.printf(Locale.ROOT, "%s after %d steps%s%s%nsaved %s, plot %s%n",
                result.status() == TrainingResult.Status.COMPLETED ? "done" : "cancelled", result.steps(),
                Double.isNaN(result.finalLoss()) ? " (all in the checkpoint resumed from)"
                        : String.format(Locale.ROOT, ": loss %.4f", result.finalLoss()),
                result.lastEvaluation().map(e -> String.format(Locale.ROOT, ", eval loss %.4f (perplexity %.2f)", e.loss(), e.perplexity())).orElse(""),
                out, png);
        stdout.flush();
    }

    /** The tokenizer saved with the model: a masked-LM model's carries its mask token ({@code [MASK]}, added_tokens.json). */
    private static Gpt2Tokenizer savedTokenizer(Gpt2Tokenizer tokenizer, GptNeoConfig config) {
        if (config.objective() != Objective.MASKED_LM) return tokenizer;
        int id = config.maskedLm().maskTokenId();
        try {
            return tokenizer.withMaskToken(id);
        } catch (TokenizerException e) {
            throw new IllegalArgumentException("the model's mask_token_id " + id + " does not fit the tokenizer: " + e.getMessage(), e);
        }
    }

    /** Without --resume, OUT must not hold checkpoints: a new run would mix its metrics and checkpoints with theirs. */
    private static void refuseCheckpoints(Path out) throws IOException {
        if (!Files.isDirectory(out)) return;
        try (Stream<Path> children = Files.list(out)) {
            Optional<String> newest = children.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(name -> CHECKPOINT.matcher(name).matches())
                    .max(Comparator.comparingLong(name -> Long.parseLong(name.substring("checkpoint-".length()))));
            if (newest.isPresent()) {
                throw new IllegalArgumentException(out + " already holds checkpoints (newest " + newest.get()
                        + "): add --resume to continue from them, or choose another --out");
            }
        }
    }

    /**
     * "2 data-parallel ranks", "2 pipeline stages", "2 tensor-parallel ranks", "2 expert-parallel ranks",
     * or "4 ranks, dp=2 × tp=2" for a mix.
     */
    private static String describe(ParallelLayout layout) {
        int d = layout.dp(), t = layout.tp(), p = layout.pp(), e = layout.ep();
        if (t == 1 && p == 1 && e == 1) return d + " data-parallel ranks";
        if (d == 1 && t == 1 && e == 1) return p + " pipeline stages";
        if (d == 1 && p == 1 && e == 1) return t + " tensor-parallel ranks";
        if (d == 1 && t == 1 && p == 1) return e + " expert-parallel ranks";
        List<String> parts = new ArrayList<>();
        if (d > 1) parts.add("dp=" + d);
        if (t > 1) parts.add("tp=" + t);
        if (p > 1) parts.add("pp=" + p);
        if (e > 1) parts.add("ep=" + e);
        return layout.worldSize() + " ranks, " + String.join(" × ", parts);
    }

    private static String describe(LoRA config) {
        return String.format(Locale.ROOT, "LoRA rank %d, alpha %s, on %s", config.rank(), stripZeros(config.alpha()),
                String.join(", ", config.targets()));
    }

    private static String stripZeros(float v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Float.toString(v);
    }

    private LoRA lora() {
        LoRA config = LoRA.rank(loraRank).dropout(loraDropout).targets(loraTargets.toArray(String[]::new)).seed(seed);
        return loraAlpha != null ? config.alpha(loraAlpha) : config;
    }

    static Schedule schedule(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cosine" -> Schedule.COSINE;
            case "linear" -> Schedule.LINEAR;
            case "constant" -> Schedule.CONSTANT;
            default -> throw new IllegalArgumentException("--schedule must be cosine, linear or constant, got '" + name + "'");
        };
    }
}
