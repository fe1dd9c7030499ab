package io.streamgpt.cli.bench;

import io.streamgpt.cli.bench.SyncCostModel.Point;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SyncCostModelTest {

    @Test
    void recoversTheTermsOfRoundsThatFollowTheModelExactly() {
        // T = 5 + 2 B + 3 N B: N=1, B=1 -> 10; N=2, B=1 -> 13; N=1, B=10 -> 55; N=4, B=10 -> 145
        SyncCostModel model =
                SyncCostModel.fit(
                        List.of(
                                new Point(1, 1, 10),
                                new Point(2, 1, 13),
                                new Point(1, 10, 55),
                                new Point(4, 10, 145)));

        assertThat(model.fixedMs()).isCloseTo(5, within(1e-9));
        assertThat(model.msPerMegabyte()).isCloseTo(2, within(1e-9));
        assertThat(model.msPerMegabytePerReplica()).isCloseTo(3, within(1e-9));
        assertThat(model.rSquared()).isCloseTo(1, within(1e-12));
        // 8 replicas of 43.2 MB: 5 + 86.4 + 1036.8
        assertThat(model.predictMs(8, 43.2)).isCloseTo(1128.2, within(1e-9));
    }

    @Test
    void averagesNoiseOutInTheLeastSquaresSense() {
        // two runs of each of two points: the fit goes through the means, 12 and 14 at B = 1
        SyncCostModel model =
                SyncCostModel.fit(
                        List.of(
                                new Point(1, 1, 11),
                                new Point(1, 1, 13),
                                new Point(2, 1, 14),
                                new Point(2, 1, 14),
                                new Point(1, 2, 17),
                                new Point(2, 2, 21)));

        assertThat(model.predictMs(1, 1)).isCloseTo(12, within(1e-9));
        assertThat(model.predictMs(2, 1)).isCloseTo(14, within(1e-9));
        assertThat(model.rSquared()).isLessThan(1);
    }

    @Test
    void refusesPointsThatCannotSeparateTheTerms() {
        assertThatThrownBy(
                        () ->
                                SyncCostModel.fit(
                                        List.of(
                                                new Point(1, 43, 700),
                                                new Point(2, 43, 800),
                                                new Point(4, 43, 900),
                                                new Point(8, 43, 1000))))
                .hasMessageContaining(">= 2 payloads");
    }
}
