package io.streamgpt.model;

import java.util.Random;

/**
 * A bounded, tokenized corpus split 90/10 into training and validation text, sampled like the
 * reference's {@code get_batch}: B windows at uniformly random offsets.
 */
public final class TokenCorpus {

    public enum Split {
        TRAIN,
        VAL
    }

    /** Inputs and next-token targets, both (batchSize, blockSize) row-major token ids. */
    public record Batch(long[] inputs, long[] targets, int batchSize, int blockSize) {}

    private final int[] train;
    private final int[] val;

    public TokenCorpus(int[] tokens, double trainFraction) {
        int n = (int) (trainFraction * tokens.length);
        this.train = java.util.Arrays.copyOfRange(tokens, 0, n);
        this.val = java.util.Arrays.copyOfRange(tokens, n, tokens.length);
    }

    /** The reference's split: the first 90% trains, the last 10% validates. */
    public static TokenCorpus of(int[] tokens) {
        return new TokenCorpus(tokens, 0.9);
    }

    public int size(Split split) {
        return tokens(split).length;
    }

    /** B windows of T+1 tokens at random offsets of {@code split}. */
    public Batch sample(Split split, Random random, int batchSize, int blockSize) {
        int[] data = tokens(split);
        if (data.length <= blockSize) {
            throw new IllegalArgumentException(
                    split
                            + " split has "
                            + data.length
                            + " tokens, needs more than block_size "
                            + blockSize);
        }
        long[] inputs = new long[batchSize * blockSize];
        long[] targets = new long[batchSize * blockSize];
        for (int b = 0; b < batchSize; b++) {
            int offset = random.nextInt(data.length - blockSize);
            for (int t = 0; t < blockSize; t++) {
                inputs[b * blockSize + t] = data[offset + t];
                targets[b * blockSize + t] = data[offset + t + 1];
            }
        }
        return new Batch(inputs, targets, batchSize, blockSize);
    }

    private int[] tokens(Split split) {
        return split == Split.TRAIN ? train : val;
    }
}
