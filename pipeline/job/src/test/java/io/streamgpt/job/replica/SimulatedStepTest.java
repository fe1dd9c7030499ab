package io.streamgpt.job.replica;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The simulated step alone: known shifts per step, reset by adopting parameters. */
class SimulatedStepTest {

    @Test
    void replicaRShiftsEveryParameterByDeltaTimesRPlusOnePerStep() {
        SimulatedStep step = SimulatedStep.over(new float[] {1f, -2f}, 2, 0);
        step.step(null);
        step.step(null);
        // 2 steps x 2^-12 x (2 + 1) = 6 / 4096
        assertThat(step.parameters()).containsExactly(1f + 6f / 4096, -2f + 6f / 4096);
        assertThat(step.optimizerSteps()).isEqualTo(2);
        step.setParameters(new float[] {5f, 5f});
        assertThat(step.parameters()).containsExactly(5f, 5f); // shifted from the adopted model
    }

    @Test
    void aStepSleepsItsDuration() {
        SimulatedStep step = SimulatedStep.over(new float[1], 0, 20);
        long t0 = System.nanoTime();
        step.step(null);
        assertThat((System.nanoTime() - t0) / 1e6).isGreaterThanOrEqualTo(20);
    }
}
