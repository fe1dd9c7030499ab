package io.streamgpt.job.eval;

import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.TokenCorpus;

import java.io.Serializable;

/**
 * Prequential (test-then-train) scoring inside one training replica: a sample of the windows routed
 * to it is scored by the global model version it last adopted, as each window arrives and before it
 * enters the replay buffer, the standard evaluation of online learning (River's {@code
 * progressive_val_score}, MOA's prequential evaluation).
 *
 * <p>Why here and not in the evaluator: the evaluator reads the model topic and would read the
 * train windows on another edge; nothing orders the two, so a window that queued at the evaluator
 * could be scored by a version that had already trained on it. A window reaches exactly one
 * replica, and a version can only contain what some replica had buffered when it contributed: so
 * the version this replica holds when the window arrives has never seen it, by construction. The
 * cost is a forward pass of one window (no backward) for one window in {@code every}, on the
 * replica's thread, measured by {@code bench pipeline --prequential-every}.
 *
 * <p>Per version, a window's loss is its mean cross-entropy over its T predicted tokens; the
 * version's prequential loss is the mean over the windows scored while it was held, {@code sum_w
 * loss_w / windows} nats per character ({@code / ln 2} bits per character).
 */
public final class PrequentialScorer implements AutoCloseable {

    /**
     * What one replica scored with one global version.
     *
     * @param step the version's global step
     * @param tokens tokens the version was trained on
     * @param lossSum sum of the scored windows' mean losses (nats)
     * @param windows windows scored
     */
    public record Score(
            int generation,
            long round,
            long step,
            long tokens,
            int replica,
            double lossSum,
            long windows)
            implements Serializable {}

    private final Gpt global;
    private final int every;
    private final int replica;
    private final int blockSize;
    private boolean ready;
    private long seen;
    private int generation;
    private long round;
    private long step;
    private long tokens;
    private double lossSum;
    private long windows;

    /**
     * @param global a model of the job's shape, holding the version to score with
     * @param every one window in this many is scored
     * @param ready false after a restore: no version is known until the next one is adopted
     */
    public PrequentialScorer(Gpt global, int every, int replica, int generation, boolean ready) {
        if (every < 1) {
            throw new IllegalArgumentException("every must be >= 1, got " + every);
        }
        this.global = global;
        this.every = every;
        this.replica = replica;
        this.generation = generation;
        this.ready = ready;
        this.blockSize = global.config().blockSize();
    }

    /** Scores {@code window} if it is one of the sampled (before the replica buffers it). */
    public void offer(TokenWindow window) {
        if (!ready || seen++ % every != 0 || window.tokens().length < blockSize + 1) {
            return;
        }
        long[] inputs = new long[blockSize];
        long[] targets = new long[blockSize];
        for (int t = 0; t < blockSize; t++) {
            inputs[t] = window.tokens()[t];
            targets[t] = window.tokens()[t + 1];
        }
        lossSum += global.evaluate(new TokenCorpus.Batch(inputs, targets, 1, blockSize));
        windows++;
    }

    /**
     * Takes version {@code round} to score with from now on; returns what the version held until
     * now scored, or null if none was held (after a restore).
     */
    public Score adopt(int generation, long round, long step, long tokens, float[] parameters) {
        Score done =
                ready
                        ? new Score(
                                this.generation,
                                this.round,
                                this.step,
                                this.tokens,
                                replica,
                                lossSum,
                                windows)
                        : null;
        global.setParameterValues(parameters);
        this.generation = generation;
        this.round = round;
        this.step = step;
        this.tokens = tokens;
        this.lossSum = 0;
        this.windows = 0;
        this.ready = true;
        return done;
    }

    @Override
    public void close() {
        global.close();
    }
}
