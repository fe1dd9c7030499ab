package io.streamgpt.model;

import ai.djl.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The flat AdamW against torch.optim.AdamW's update rule written out in plain Java. */
class AdamWTest {

    @BeforeAll
    static void engine() {
        TorchRuntime.configure(1);
    }

    @Test
    void updatesMatchTheTorchFormula() {
        GptConfig config = GptTest.TINY;
        TrainingConfig training =
                GptTest.TINY_TRAINING
                        .with(TrainingConfig.LEARNING_RATE, 1e-2)
                        .with(TrainingConfig.WEIGHT_DECAY, 0.1);
        int[] tokens = new Random(0).ints(500, 0, 17).toArray();
        TokenCorpus corpus = TokenCorpus.of(tokens);
        try (Gpt model = Gpt.create(config, 7, Device.cpu());
                Trainer trainer = new Trainer(model, training)) {
            int n = (int) model.parameterCount();
            double[] m = new double[n];
            double[] v = new double[n];
            Random random = new Random(1);
            for (int step = 1; step <= 3; step++) {
                TokenCorpus.Batch batch = corpus.sample(TokenCorpus.Split.TRAIN, random, 4, 16);
                float[] before = model.parameterValues();
                float[] grad = gradientOf(model, batch);
                trainer.step(batch);
                float[] after = model.parameterValues();
                double lr = training.learningRate();
                for (int i = 0; i < n; i++) {
                    m[i] = 0.9 * m[i] + 0.1 * grad[i];
                    v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
                    double mHat = m[i] / (1 - Math.pow(0.9, step));
                    double denom =
                            Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(0.999, step))
                                    + TrainingConfig.ADAM_EPSILON;
                    double expected = before[i] * (1 - lr * 0.1) - lr * mHat / denom;
                    assertThat((double) after[i])
                            .as("parameter %d at step %d", i, step)
                            .isCloseTo(expected, within(2e-5));
                }
            }
        }
    }

    /**
     * The gradient of the batch loss, computed by a fresh copy of the model (leaves the trainer
     * untouched).
     */
    private static float[] gradientOf(Gpt model, TokenCorpus.Batch batch) {
        try (Gpt copy = Gpt.withParameters(model.config(), model.parameterValues(), Device.cpu());
                ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            ai.djl.ndarray.types.Shape shape =
                    new ai.djl.ndarray.types.Shape(batch.batchSize(), batch.blockSize());
            try (GradMode on = GradMode.enabled()) {
                GradMode.backward(
                        copy.loss(
                                copy.manager().create(batch.inputs(), shape),
                                copy.manager().create(batch.targets(), shape),
                                false));
            }
            return copy.parameters().getGradient().toFloatArray();
        }
    }
}
