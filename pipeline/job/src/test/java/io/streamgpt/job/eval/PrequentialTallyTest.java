package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** One prequential record per version from the replicas' scores, with worked means. */
class PrequentialTallyTest {

    private static PrequentialScorer.Score score(
            long round, int replica, double lossSum, long windows) {
        return new PrequentialScorer.Score(
                0, round, round * 10, round * 1000, replica, lossSum, windows);
    }

    @Test
    void aVersionIsReportedOnceEveryReplicaScoredItAsTheMeanOverAllWindows() {
        PrequentialTally tally = new PrequentialTally(2);
        assertThat(tally.add(score(1, 0, 6.0, 3))).isEmpty(); // replica 1 still to come
        List<EvalRecords.ModelLoss> done = tally.add(score(1, 1, 2.0, 1));
        // (6 + 2) / (3 + 1) = 2 nats per character = 2 / ln 2 = 2.885 bits
        assertThat(done).hasSize(1);
        EvalRecords.ModelLoss record = done.get(0);
        assertThat(record.kind()).isEqualTo(EvalRecords.PREQUENTIAL);
        assertThat(record.round()).isEqualTo(1);
        assertThat(record.step()).isEqualTo(10);
        assertThat(record.tokens()).isEqualTo(1000);
        assertThat(record.windows()).isEqualTo(4);
        assertThat(record.loss()).isEqualTo(2.0f);
        assertThat((double) record.bitsPerChar()).isCloseTo(2.0 / Math.log(2), within(1e-6));
    }

    @Test
    void aVersionOneReplicaSkippedIsReportedWhenAVersionTwoRoundsLaterArrives() {
        PrequentialTally tally = new PrequentialTally(2);
        assertThat(tally.add(score(3, 0, 4.0, 2))).isEmpty();
        assertThat(tally.add(score(4, 0, 3.0, 1))).isEmpty(); // one round later: 3 may still come
        List<EvalRecords.ModelLoss> done = tally.add(score(5, 1, 1.0, 1)); // replica 1 jumped
        assertThat(done).extracting(EvalRecords.ModelLoss::round).containsExactly(3L);
        assertThat(done.get(0).loss()).isEqualTo(2.0f); // replica 0's alone: 4 / 2
        // a version with no scored window is not reported
        assertThat(tally.add(score(4, 1, 0.0, 0)))
                .extracting(EvalRecords.ModelLoss::round)
                .containsExactly(4L);
        assertThat(tally.add(score(6, 0, 0, 0))).isEmpty();
        assertThat(tally.add(score(6, 1, 0, 0))).isEmpty();
    }
}
