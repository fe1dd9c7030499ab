package io.streamgpt.model;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from logits on the Java side (DJL has no multinomial): temperature scaling,
 * optional top-k truncation, softmax, then one draw from the seeded random source. Temperature 0
 * means greedy decoding.
 */
public final class Sampler {

    private final double temperature;
    private final int topK;
    private final Random random;

    /**
     * @param temperature divides the logits; 0 picks the most likely token
     * @param topK keep only the k most likely tokens; 0 keeps all
     * @param seed seed of the draws: the same seed, model and prompt give the same text
     */
    public Sampler(double temperature, int topK, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(
                    "temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException(
                    "top-k must be >= 0 (0 keeps all tokens), got " + topK);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.random = new Random(seed);
    }

    /** Plain multinomial sampling at temperature 1, as the reference samples. */
    public static Sampler multinomial(long seed) {
        return new Sampler(1.0, 0, seed);
    }

    /** The next token id for {@code logits} over the vocabulary. */
    public int sample(float[] logits) {
        return draw(probabilities(logits));
    }

    /** The distribution this sampler draws from for {@code logits}. */
    public double[] probabilities(float[] logits) {
        int n = logits.length;
        double[] p = new double[n];
        if (temperature == 0) {
            p[argmax(logits)] = 1;
            return p;
        }
        double cutoff = Double.NEGATIVE_INFINITY;
        if (topK > 0 && topK < n) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            cutoff = sorted[n - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = logits[i] >= cutoff ? Math.exp((logits[i] - max) / temperature) : 0;
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private int draw(double[] p) {
        double u = random.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // rounding left u just above the total
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
