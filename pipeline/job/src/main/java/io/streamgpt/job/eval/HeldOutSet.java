package io.streamgpt.job.eval;

import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.HeldOutLoss;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.Vocabulary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The fixed held-out set of {@code --val-data}: one split of a text file, evaluated by {@link
 * HeldOutLoss} (the reference's estimate_loss on batches fixed by the training seed), so that every
 * model version is scored on the same windows, and a job's figure is the one {@code streamgpt eval}
 * prints for the same file, split, batches and seed.
 */
public final class HeldOutSet {

    private final TokenCorpus corpus;
    private final TokenCorpus.Split split;
    private final int iters;
    private final int batchSize;
    private final long seed;

    /**
     * @param tokens the file's text, encoded
     * @param blockSize the model's: the split must be longer
     */
    public HeldOutSet(
            int[] tokens,
            EvaluationConfig.HeldOutSplit part,
            int blockSize,
            int iters,
            int batchSize,
            long seed) {
        this.corpus =
                part == EvaluationConfig.HeldOutSplit.ALL
                        ? new TokenCorpus(tokens, 1.0)
                        : TokenCorpus.of(tokens);
        this.split =
                part == EvaluationConfig.HeldOutSplit.VAL
                        ? TokenCorpus.Split.VAL
                        : TokenCorpus.Split.TRAIN;
        if (corpus.size(split) <= blockSize) {
            throw new IllegalArgumentException(
                    "--val-data split "
                            + part
                            + " has "
                            + corpus.size(split)
                            + " tokens, needs more than block_size "
                            + blockSize);
        }
        this.iters = iters;
        this.batchSize = batchSize;
        this.seed = seed;
    }

    /** The set {@code evaluation} names, or null if it names none. */
    public static HeldOutSet open(
            EvaluationConfig evaluation,
            Vocabulary vocabulary,
            int blockSize,
            int batchSize,
            long seed) {
        if (evaluation.valData().isBlank()) {
            return null;
        }
        Path file = Path.of(evaluation.valData());
        try {
            return new HeldOutSet(
                    vocabulary.encode(Files.readString(file, StandardCharsets.UTF_8)),
                    evaluation.valDataSplit(),
                    blockSize,
                    evaluation.iters(),
                    batchSize,
                    seed);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --val-data " + file, e);
        }
    }

    /** The mean loss of the set's batches under {@code model}, in nats per token. */
    public float loss(Gpt model) {
        return HeldOutLoss.estimate(model, corpus, split, iters, batchSize, seed);
    }

    /** Windows each loss averages. */
    public long windows() {
        return (long) iters * batchSize;
    }

    /** Tokens of the held-out split. */
    public long tokens() {
        return corpus.size(split);
    }
}
