package io.streamgpt.job.sync;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class OuterOptimizerTest {

    @Test
    void plainAveragingTakesTheAverage() {
        float[] average = {1f, -2f, 0.5f};
        assertThat(
                        OuterOptimizer.AVERAGE.apply(
                                new float[] {9, 9, 9}, average, new float[3], 0.7, 0.9))
                .containsExactly(average);
    }

    @Test
    void nesterovFollowsDiLoCo() {
        float[] previous = {1f, 2f};
        float[] momentum = {0.5f, -1f};
        float[] next =
                OuterOptimizer.NESTEROV.apply(previous, new float[] {0.5f, 3f}, momentum, 0.7, 0.9);
        // g = previous - average = (0.5, -1); m = 0.9 m + g = (0.95, -1.9); next = previous - 0.7
        // (g + 0.9 m)
        assertThat(momentum[0]).isCloseTo(0.95f, within(1e-6f));
        assertThat(momentum[1]).isCloseTo(-1.9f, within(1e-6f));
        assertThat(next[0]).isCloseTo((float) (1 - 0.7 * (0.5 + 0.9 * 0.95)), within(1e-6f));
        assertThat(next[1]).isCloseTo((float) (2 - 0.7 * (-1 + 0.9 * -1.9)), within(1e-6f));
    }

    @Test
    void nesterovWithUnitRateAndNoMomentumIsTheAverage() {
        float[] next =
                OuterOptimizer.NESTEROV.apply(
                        new float[] {4f, -4f}, new float[] {1f, 2f}, new float[2], 1.0, 0.0);
        assertThat(next).containsExactly(1f, 2f);
    }
}
