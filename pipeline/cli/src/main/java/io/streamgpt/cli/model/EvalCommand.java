package io.streamgpt.cli.model;

import io.streamgpt.cli.Paths;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.HeldOutLoss;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.TokenCorpus;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * The loss of a model file on a corpus, by the reference's {@code estimate_loss} protocol on the
 * reference's split (the first 90% trains, the last 10% validates; {@code all} is the whole file),
 * with the batches {@link HeldOutLoss} fixes by the seed: for a model {@code train} wrote, with the
 * same corpus, batch size, iterations and seed, it prints the val loss {@code train} printed last.
 */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description =
                "Loss of a model file on a corpus split, as the reference's estimate_loss"
                        + " (one JSON line).")
public final class EvalCommand implements Callable<Integer> {

    /** Which part of the corpus is evaluated. */
    public enum SplitChoice {
        val,
        train,
        all
    }

    /** What {@code eval} prints, one JSON line. */
    public record Result(
            String model,
            String data,
            String split,
            long modelStep,
            long tokens,
            int batches,
            int batchSize,
            int blockSize,
            long seed,
            double loss,
            double bitsPerChar) {}

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model file (train or export).")
    Path model;

    @Option(
            names = "--data",
            description = "UTF-8 corpus file (default: the bundled tiny Shakespeare).")
    Path data;

    @Option(
            names = "--split",
            defaultValue = "val",
            description = "val (last 10%), train (first 90%) or all. Default: ${DEFAULT-VALUE}.")
    SplitChoice split;

    @Option(
            names = "--eval-iters",
            defaultValue = "200",
            description = "Batches averaged (train's --eval-iters). Default: ${DEFAULT-VALUE}.")
    int evalIters;

    @Option(
            names = "--batch-size",
            defaultValue = "12",
            description = "Windows per batch (train's --batch-size). Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(
            names = "--seed",
            defaultValue = "1337",
            description = "Training seed the batches derive from. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: all cores).")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        if (evalIters < 1 || batchSize < 1) {
            throw new IllegalArgumentException("--eval-iters and --batch-size must be >= 1");
        }
        Path corpusFile = data != null ? data : Paths.shakespeare();
        if (!Files.isRegularFile(corpusFile)) {
            throw new IllegalArgumentException("no corpus file " + corpusFile);
        }
        ModelFile.Contents contents = ModelFile.load(model);
        Result result =
                evaluate(
                        contents,
                        Files.readString(corpusFile, StandardCharsets.UTF_8),
                        split,
                        evalIters,
                        batchSize,
                        seed,
                        ModelHost.local(
                                threads != null
                                        ? threads
                                        : Runtime.getRuntime().availableProcessors()),
                        model.toString(),
                        corpusFile.toString());
        PrintWriter out = spec.commandLine().getOut();
        out.println(Reports.toJson(result));
        out.flush();
        return 0;
    }

    /**
     * The estimate for {@code contents} on {@code split} of {@code text}, encoded with the model's
     * vocabulary (characters outside it are skipped, as in training).
     */
    public static Result evaluate(
            ModelFile.Contents contents,
            String text,
            SplitChoice split,
            int iters,
            int batchSize,
            long seed,
            ModelHost host,
            String modelName,
            String dataName) {
        int[] tokens = contents.vocabulary().encode(text);
        TokenCorpus corpus =
                split == SplitChoice.all ? new TokenCorpus(tokens, 1.0) : TokenCorpus.of(tokens);
        TokenCorpus.Split part =
                split == SplitChoice.val ? TokenCorpus.Split.VAL : TokenCorpus.Split.TRAIN;
        try (Gpt gpt = host.load(contents.config(), contents.parameters())) {
            float loss = HeldOutLoss.estimate(gpt, corpus, part, iters, batchSize, seed);
            return new Result(
                    modelName,
                    dataName,
                    split.name(),
                    contents.step(),
                    corpus.size(part),
                    iters,
                    batchSize,
                    contents.config().blockSize(),
                    seed,
                    loss,
                    HeldOutLoss.bits(loss));
        }
    }
}
