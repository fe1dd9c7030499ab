package io.streamgpt.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {

    private static final float[] LOGITS = {2f, 1f, 0f, -1f, 3f};

    @Test
    void temperatureZeroIsGreedy() {
        Sampler greedy = new Sampler(0, 0, 1);
        for (int i = 0; i < 20; i++) {
            assertThat(greedy.sample(LOGITS)).isEqualTo(4);
        }
    }

    @Test
    void probabilitiesAreTheSoftmaxOfScaledLogits() {
        double[] p = new Sampler(2.0, 0, 1).probabilities(LOGITS);
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l / 2.0);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            assertThat(p[i]).isCloseTo(Math.exp(LOGITS[i] / 2.0) / z, within(1e-12));
        }
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        double[] p = new Sampler(1.0, 2, 1).probabilities(LOGITS);
        assertThat(p[0] + p[4]).isCloseTo(1.0, within(1e-12));
        assertThat(p[1]).isZero();
        Sampler sampler = new Sampler(1.0, 2, 3);
        for (int i = 0; i < 200; i++) {
            assertThat(sampler.sample(LOGITS)).isIn(0, 4);
        }
    }

    @Test
    void drawsFollowTheDistribution() {
        Sampler sampler = Sampler.multinomial(11);
        double[] p = sampler.probabilities(LOGITS);
        int n = 100_000;
        int[] counts = new int[LOGITS.length];
        for (int i = 0; i < n; i++) {
            counts[sampler.sample(LOGITS)]++;
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double sd = Math.sqrt(n * p[i] * (1 - p[i]));
            assertThat((double) counts[i]).isCloseTo(n * p[i], within(5 * sd + 1));
        }
    }

    @Test
    void invalidSettingsAreRejected() {
        assertThatThrownBy(() -> new Sampler(-1, 0, 1)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(Double.NaN, 0, 1)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(1, -2, 1)).hasMessageContaining("top-k");
    }
}
