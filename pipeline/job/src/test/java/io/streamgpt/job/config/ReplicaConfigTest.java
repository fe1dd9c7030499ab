package io.streamgpt.job.config;

import io.streamgpt.model.TrainingConfig;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** What each replica trains with, from the job's training section and the replica count. */
class ReplicaConfigTest {

    private static final TrainingConfig CPU =
            TrainingConfig.preset("cpu").with(TrainingConfig.MIN_LEARNING_RATE, 1e-4);

    private static ReplicaConfig replicas(int count, ReplicaConfig.LearningRateScaling scaling) {
        return ReplicaConfig.defaults()
                .with(ReplicaConfig.COUNT, count)
                .with(ReplicaConfig.LEARNING_RATE_SCALING, scaling);
    }

    @Test
    void sqrtScalingRaisesTheRateAndItsFloorBySqrtN() {
        // 4 replicas: sqrt(4) = 2, so 1e-3 -> 2e-3 and the floor 1e-4 -> 2e-4; the rest unchanged
        TrainingConfig four =
                replicas(4, ReplicaConfig.LearningRateScaling.SQRT).replicaTraining(CPU);
        assertThat(four.learningRate()).isCloseTo(2e-3, within(1e-15));
        assertThat(four.minLearningRate()).isCloseTo(2e-4, within(1e-15));
        assertThat(four.batchSize()).isEqualTo(CPU.batchSize());
        assertThat(four.seed()).isEqualTo(CPU.seed());
        // 2 replicas: 1e-3 x 1.41421... = 1.41421e-3
        assertThat(
                        replicas(2, ReplicaConfig.LearningRateScaling.SQRT)
                                .replicaTraining(CPU)
                                .learningRate())
                .isCloseTo(1.4142135623730951e-3, within(1e-15));
    }

    @Test
    void oneReplicaOrNoScalingTrainsWithTheGivenRate() {
        assertThat(replicas(1, ReplicaConfig.LearningRateScaling.SQRT).replicaTraining(CPU))
                .isSameAs(CPU);
        assertThat(replicas(8, ReplicaConfig.LearningRateScaling.NONE).replicaTraining(CPU))
                .isSameAs(CPU);
    }
}
