package io.streamgpt.job.sync;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The divergence guard's two tests, on known numbers. */
class DivergenceGuardTest {

    @Test
    void aNonFiniteLossOrValueIsRejectedOnArrival() {
        assertThat(DivergenceGuard.screen(2.5f, new float[] {1f, -2f}))
                .isEqualTo(DivergenceGuard.Verdict.ACCEPTED);
        assertThat(DivergenceGuard.screen(Float.NaN, new float[] {1f, -2f}))
                .isEqualTo(DivergenceGuard.Verdict.NON_FINITE_LOSS);
        assertThat(DivergenceGuard.screen(Float.POSITIVE_INFINITY, new float[] {1f}))
                .isEqualTo(DivergenceGuard.Verdict.NON_FINITE_LOSS);
        assertThat(DivergenceGuard.screen(2.5f, new float[] {1f, Float.NaN}))
                .isEqualTo(DivergenceGuard.Verdict.NON_FINITE_VALUES);
        assertThat(DivergenceGuard.screen(2.5f, new float[] {Float.NEGATIVE_INFINITY}))
                .isEqualTo(DivergenceGuard.Verdict.NON_FINITE_VALUES);
    }

    @Test
    void distanceIsTheL2NormOfTheMoveFromThePreviousGlobal() {
        // (4, 6) - (1, 2) = (3, 4): length 5; from nothing, |(3, 4)| = 5
        assertThat(DivergenceGuard.distance(new float[] {4f, 6f}, new float[] {1f, 2f}))
                .isCloseTo(5.0, within(1e-12));
        assertThat(DivergenceGuard.distance(new float[] {3f, 4f}, null))
                .isCloseTo(5.0, within(1e-12));
    }

    @Test
    void oneMeasureGivesTheSquaresTheDistanceAndFiniteness() {
        // (4, 6): squares 16 + 36 = 52; from (1, 2) the move is (3, 4), of length 5
        DivergenceGuard.Measure m =
                DivergenceGuard.measure(new float[] {4f, 6f}, new float[] {1f, 2f});
        assertThat(m.squares()).isEqualTo(52.0);
        assertThat(m.distance()).isCloseTo(5.0, within(1e-12));
        assertThat(m.finite()).isTrue();
    }

    @Test
    void theLargestFloatsAreFiniteAndOneInfinityOrNanIsNot() {
        // 3 x (3.4e38)^2 = 3.5e77 in double precision: finite, the test needs no per-value check
        float[] largest = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MAX_VALUE};
        assertThat(DivergenceGuard.measure(largest, null).finite()).isTrue();
        assertThat(DivergenceGuard.measure(new float[] {1f, Float.NaN}, null).finite()).isFalse();
        assertThat(
                        DivergenceGuard.measure(
                                        new float[] {Float.POSITIVE_INFINITY}, new float[] {0f})
                                .finite())
                .isFalse();
    }

    @Test
    void aContributionTenTimesFartherThanTheOthersMedianIsAnOutlier() {
        DivergenceGuard guard = new DivergenceGuard(10);
        // replica 2: 50 > 10 x median(1.0, 1.2) = 11; replicas 0, 1: below 10 x median of the rest
        assertThat(guard.outliers(new double[] {1.0, 1.2, 50}, 0)).containsExactly(2);
        // two replicas: the far one goes, the near one never
        assertThat(guard.outliers(new double[] {1.0, 100}, 0)).containsExactly(1);
        assertThat(guard.outliers(new double[] {1.0, 5.0}, 0)).isEmpty();
        // one that barely moved (0.05) does not make a whole round's move (1.0) an outlier when
        // the last round's median was 0.9: 1.0 < 10 x max(0.05, 0.9)
        assertThat(guard.outliers(new double[] {1.0, 0.05}, 0.9)).isEmpty();
        assertThat(guard.outliers(new double[] {1.0, 0.05}, 0)).containsExactly(0);
        // a single contribution, or detection off: no outliers
        assertThat(guard.outliers(new double[] {1e9}, 0)).isEmpty();
        assertThat(new DivergenceGuard(0).outliers(new double[] {1.0, 1e9}, 0)).isEmpty();
        assertThatThrownBy(() -> new DivergenceGuard(0.5))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertThat(DivergenceGuard.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(DivergenceGuard.median(new double[] {7, 1, 3})).isEqualTo(3);
        assertThat(DivergenceGuard.median(new double[] {})).isEqualTo(0);
    }
}
