package io.streamgpt.cli.model;

import io.streamgpt.cli.ModelOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.HeldOutLoss;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TokenCorpus.Split;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * Trains on a bounded corpus exactly as the reference does: 90/10 split, random windows, periodic
 * {@code estimate_loss}, then saves the model and prints a sample.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        modelTransformer = ModelOptions.class,
        description = "Train on a bounded text corpus, like the reference gpt.py.")
public final class TrainCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--data",
            description = "UTF-8 corpus file (default: the bundled tiny Shakespeare).")
    Path data;

    @Option(
            names = "--vocab",
            defaultValue = "corpus",
            description =
                    "Vocabulary: corpus (its sorted characters), shakespeare, bytes, or a file."
                            + " Default: ${DEFAULT-VALUE}.")
    String vocab;

    @Option(
            names = "--max-steps",
            defaultValue = "2000",
            description = "Optimizer steps. Default: ${DEFAULT-VALUE}.")
    int maxSteps;

    @Option(
            names = "--eval-interval",
            defaultValue = "500",
            description = "Steps between loss estimates. Default: ${DEFAULT-VALUE}.")
    int evalInterval;

    @Option(
            names = "--eval-iters",
            defaultValue = "200",
            description = "Batches per loss estimate and split. Default: ${DEFAULT-VALUE}.")
    int evalIters;

    @Option(
            names = "--out",
            defaultValue = "model.bin",
            description = "Model file to write. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: all cores).")
    Integer threads;

    @Option(
            names = "--sample-tokens",
            defaultValue = "500",
            description = "Tokens of the sample printed at the end. Default: ${DEFAULT-VALUE}.")
    int sampleTokens;

    @Option(names = "--no-progress", description = "No progress bar (for logs).")
    boolean noProgress;

    @Override
    public Integer call() throws Exception {
        if (maxSteps < 1 || evalInterval < 1 || evalIters < 1 || sampleTokens < 0) {
            throw new IllegalArgumentException(
                    "--max-steps, --eval-interval and --eval-iters must be >= 1, --sample-tokens >="
                            + " 0");
        }
        Path corpusFile = data != null ? data : Paths.shakespeare();
        if (!Files.isRegularFile(corpusFile)) {
            throw new IllegalArgumentException("no corpus file " + corpusFile);
        }
        // CRLF and lone CR are newlines, as the job's tokenizer reads them (docs/text.md)
        String text =
                Vocabulary.normalizeNewlines(Files.readString(corpusFile, StandardCharsets.UTF_8));
        Vocabulary vocabulary =
                "corpus".equals(vocab) ? Vocabulary.ofText(text) : Vocabulary.named(vocab);
        ModelPreset.Choice model = ModelOptions.choose(spec, vocabulary.size());
        GptConfig config = model.shape();
        TrainingConfig training = model.training();
        PrintWriter out = spec.commandLine().getOut();
        ModelHost host =
                ModelHost.local(
                        threads != null ? threads : Runtime.getRuntime().availableProcessors());

        TokenCorpus corpus = TokenCorpus.of(vocabulary.encode(text));
        out.printf(
                Locale.ROOT,
                "corpus %s: %d train / %d val tokens, vocabulary %s (%d unknown characters"
                        + " skipped)%n",
                corpusFile,
                corpus.size(Split.TRAIN),
                corpus.size(Split.VAL),
                vocabulary,
                vocabulary.unknownCharacters());
        out.printf(
                Locale.ROOT,
                "config %s, training %s%n",
                Reports.toJson(config),
                Reports.toJson(training));
        try (Gpt gpt = host.create(config, training.seed());
                Trainer trainer = new Trainer(gpt, training)) {
            out.printf(
                    Locale.ROOT,
                    "%.2fM parameters, %d threads%n",
                    gpt.parameterCount() / 1e6,
                    TorchRuntime.threads());
            out.flush();
            train(trainer, corpus, out);
            ModelFile.save(this.out, gpt, vocabulary, trainer.steps());
            out.printf("saved %s%n", this.out);
            if (sampleTokens > 0) {
                int[] sample =
                        new Generator(gpt)
                                .generate(
                                        new int[0],
                                        sampleTokens,
                                        Sampler.multinomial(training.seed()),
                                        true);
                out.println("--- sample ---");
                out.println(vocabulary.decode(sample));
            }
        }
        return 0;
    }

    private void train(Trainer trainer, TokenCorpus corpus, PrintWriter out) {
        TrainingConfig training = trainer.training();
        int blockSize = trainer.model().config().blockSize();
        Random batches = new Random(training.seed());
        long tokensPerStep = (long) training.batchSize() * blockSize;
        long trainNanos = 0;
        try (ProgressBar bar = progressBar()) {
            for (int step = 0; step < maxSteps; step++) {
                if (step % evalInterval == 0) {
                    report(step, trainer, corpus, out);
                }
                long t0 = System.nanoTime();
                float loss =
                        trainer.step(
                                corpus.sample(
                                        Split.TRAIN, batches, training.batchSize(), blockSize));
                trainNanos += System.nanoTime() - t0;
                if (bar != null) {
                    bar.step();
                    bar.setExtraMessage(
                            String.format(
                                    Locale.ROOT,
                                    "loss %.3f, %.0f tok/s",
                                    loss,
                                    (step + 1) * tokensPerStep / (trainNanos / 1e9)));
                }
            }
        }
        report(maxSteps, trainer, corpus, out);
        out.printf(
                Locale.ROOT,
                "trained %d steps: %.1f ms/step, %.0f tokens/s%n",
                maxSteps,
                trainNanos / 1e6 / maxSteps,
                maxSteps * tokensPerStep / (trainNanos / 1e9));
    }

    /**
     * The reference's estimate_loss on both splits, on the same batches at every step (see {@link
     * HeldOutLoss}): {@code eval} of the saved model reproduces the last line.
     */
    private void report(int step, Trainer trainer, TokenCorpus corpus, PrintWriter out) {
        int batchSize = trainer.training().batchSize();
        long seed = trainer.training().seed();
        float train =
                HeldOutLoss.estimate(
                        trainer.model(), corpus, Split.TRAIN, evalIters, batchSize, seed);
        float val =
                HeldOutLoss.estimate(
                        trainer.model(), corpus, Split.VAL, evalIters, batchSize, seed);
        out.printf(Locale.ROOT, "step %d: train loss %.4f, val loss %.4f%n", step, train, val);
        out.flush();
    }

    private ProgressBar progressBar() {
        if (noProgress) {
            return null;
        }
        return new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(maxSteps)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(" steps", 1)
                .setUpdateIntervalMillis(500)
                .build();
    }
}
