package io.streamgpt.model;

import java.util.Random;

/**
 * The reference's {@code estimate_loss} on one split of a corpus, with batches that a seed fixes:
 * the mean cross-entropy (nats per character) of {@code iters} batches of B windows of T+1 tokens
 * at uniformly random offsets of the split,
 *
 * <pre>
 *   loss = (1 / iters) * sum_k mean_{b, t} -log p(x[b, t+1] | x[b, ..t])
 *   bits per character = loss / ln 2
 * </pre>
 *
 * The reference draws its evaluation batches from the one torch generator that training shares, so
 * no other program can draw the same ones; here each split's batches come from their own {@link
 * Random} seeded by {@link #seedFor}, made afresh for every estimate. That makes the estimate a
 * function of the model alone: {@code train} at its last step and {@code eval} of the file it wrote
 * evaluate the same batches, and two models are compared on the same windows.
 */
public final class HeldOutLoss {

    private HeldOutLoss() {}

    /** The seed of {@code split}'s evaluation batches for training seed {@code seed}. */
    public static long seedFor(long seed, TokenCorpus.Split split) {
        return seed + 1 + split.ordinal(); // never the training batches' seed
    }

    /** The estimate on {@code split} of {@code corpus}, batches drawn from {@link #seedFor}. */
    public static float estimate(
            Gpt model,
            TokenCorpus corpus,
            TokenCorpus.Split split,
            int iters,
            int batchSize,
            long seed) {
        if (iters < 1) {
            throw new IllegalArgumentException("iters must be >= 1, got " + iters);
        }
        Random batches = new Random(seedFor(seed, split));
        int blockSize = model.config().blockSize();
        double sum = 0;
        for (int i = 0; i < iters; i++) {
            sum += model.evaluate(corpus.sample(split, batches, batchSize, blockSize));
        }
        return (float) (sum / iters);
    }

    /** Nats to bits: {@code nats / ln 2}. */
    public static double bits(double nats) {
        return nats / Math.log(2);
    }
}
