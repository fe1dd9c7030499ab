package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import java.util.Random;

/**
 * Trains a {@link Gpt} with AdamW on batches of token windows: forward, cross-entropy, backward,
 * update. Each step runs in its own {@link NDScope}, so the native memory of a step is released
 * when it returns.
 */
public final class Trainer implements AutoCloseable {

    private final Gpt model;
    private final TrainingConfig training;
    private final AdamW optimizer;

    /**
     * A trainer for {@code model}. Dropout draws from libtorch's generator, which is one per
     * process: it is seeded here from the config's seed, so a process that trains one model gets
     * the same losses for the same seed.
     */
    public Trainer(Gpt model, TrainingConfig training) {
        this.model = model;
        this.training = training;
        this.optimizer = new AdamW(model, training);
        JniUtils.setSeed(training.seed());
    }

    public Gpt model() {
        return model;
    }

    public TrainingConfig training() {
        return training;
    }

    public AdamW optimizer() {
        return optimizer;
    }

    /** Steps taken so far. */
    public long steps() {
        return optimizer.steps();
    }

    /** One optimizer step on {@code batch}; returns its training loss. */
    public float step(TokenCorpus.Batch batch) {
        try (NDScope scope = new NDScope()) {
            NDArray loss;
            try (GradMode on = GradMode.enabled()) {
                NDArray[] xy = toArrays(batch);
                loss = model.loss(xy[0], xy[1], true);
                GradMode.backward(loss);
            }
            optimizer.update(training.learningRateAt(optimizer.steps()));
            return loss.getFloat();
        }
    }

    /** Loss of {@code batch} in evaluation mode (no dropout, no graph). */
    public float evaluate(TokenCorpus.Batch batch) {
        return model.evaluate(batch);
    }

    /**
     * The reference's estimate_loss: the mean loss of {@code evalIters} random batches of a split.
     */
    public float estimateLoss(
            TokenCorpus corpus, TokenCorpus.Split split, int evalIters, Random random) {
        int blockSize = model.config().blockSize();
        double sum = 0;
        for (int i = 0; i < evalIters; i++) {
            sum += evaluate(corpus.sample(split, random, training.batchSize(), blockSize));
        }
        return (float) (sum / evalIters);
    }

    private NDArray[] toArrays(TokenCorpus.Batch batch) {
        NDManager m = model.manager();
        Shape shape = new Shape(batch.batchSize(), batch.blockSize());
        return new NDArray[] {m.create(batch.inputs(), shape), m.create(batch.targets(), shape)};
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
