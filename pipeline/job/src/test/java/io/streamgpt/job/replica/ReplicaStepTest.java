package io.streamgpt.job.replica;

import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.TokenCorpus;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The real step of a replica trains with the learning rate scaled for the replica count. */
class ReplicaStepTest {

    /** How far one step on {@code batch} moves each parameter of replica 0 of {@code replicas}. */
    private static float[] firstStepMoves(ReplicaConfig replicas, TokenCorpus.Batch batch)
            throws Exception {
        try (ReplicaStep step =
                ReplicaStep.create(
                        TestConfigs.TINY_MODEL,
                        TestConfigs.TINY_TRAINING,
                        replicas,
                        ModelHost.local(1),
                        0)) {
            float[] before = step.parameters();
            step.step(batch);
            float[] after = step.parameters();
            float[] moved = new float[before.length];
            for (int i = 0; i < moved.length; i++) {
                moved[i] = after[i] - before[i];
            }
            return moved;
        }
    }

    @Test
    void withSqrtScalingFourReplicasStepTwiceAsFarAsUnscaledOnes() throws Exception {
        int[] tokens = new int[2_000];
        Random random = new Random(3);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(TestConfigs.TINY_MODEL.vocabSize());
        }
        TokenCorpus.Batch batch =
                TokenCorpus.of(tokens)
                        .sample(
                                TokenCorpus.Split.TRAIN,
                                new Random(5),
                                TestConfigs.TINY_TRAINING.batchSize(),
                                TestConfigs.TINY_MODEL.blockSize());
        ReplicaConfig four = ReplicaConfig.defaults().with(ReplicaConfig.COUNT, 4);
        float[] unscaled =
                firstStepMoves(
                        four.with(
                                ReplicaConfig.LEARNING_RATE_SCALING,
                                ReplicaConfig.LearningRateScaling.NONE),
                        batch);
        float[] scaled =
                firstStepMoves(
                        four.with(
                                ReplicaConfig.LEARNING_RATE_SCALING,
                                ReplicaConfig.LearningRateScaling.SQRT),
                        batch);
        // AdamW's first step is lr x (g / (|g| + eps) + weight_decay x p): linear in lr, so
        // sqrt(4) = 2 times the rate moves every parameter twice as far (the same seed and batch)
        double largest = 0;
        for (int i = 0; i < scaled.length; i++) {
            assertThat(scaled[i]).as("parameter %d", i).isCloseTo(2 * unscaled[i], within(2e-6f));
            largest = Math.max(largest, Math.abs(unscaled[i]));
        }
        assertThat(largest).isCloseTo(TestConfigs.TINY_TRAINING.learningRate(), within(1e-4));
    }
}
