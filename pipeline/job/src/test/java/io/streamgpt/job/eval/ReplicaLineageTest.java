package io.streamgpt.job.eval;

import io.streamgpt.job.input.TokenWindow;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What a replica reports of each contribution once its round is published, with known times. */
class ReplicaLineageTest {

    /** A window of 17 tokens at {@code position}, completed by the record before {@code next}. */
    private static TokenWindow window(String source, long position, long next, long timestampMs) {
        return new TokenWindow(source, position, position / 16, new int[17], next, timestampMs);
    }

    /**
     * Records at offsets 0, 1, 2 of text-0 with timestamps 1,000, 1,400 and 2,000 ms: record 0
     * completes two windows (one timestamp), record 1 one, then the replica contributes to round 1;
     * record 2 arrives and the replica contributes to round 2. Round 1 is published at 5,000 ms:
     * freshness 5,000 - 1,000 = 4,000 and 5,000 - 1,400 = 3,600 ms. Round 2 at 6,500 ms: 6,500 -
     * 2,000 = 4,500 ms.
     */
    @Test
    void eachRecordWaitsFromItsTimestampToTheFirstPublishedRoundAfterItArrived() {
        ReplicaLineage lineage = new ReplicaLineage();
        lineage.received(window("text-0", 0, 1, 1_000));
        lineage.received(window("text-0", 16, 1, 1_000)); // the same record: counted once
        lineage.received(window("text-0", 32, 2, 1_400));
        lineage.contributed(0, 1, 10, 0, 10 * 8 * 16);
        lineage.received(window("text-0", 48, 3, 2_000));
        lineage.contributed(0, 2, 20, 0, 20 * 8 * 16);

        assertThat(lineage.published(0, 4_000).reports()).isEmpty(); // nothing contributed to 0

        ReplicaLineage.Published round1 = lineage.published(1, 5_000);
        assertThat(round1.freshnessMs()).containsExactly(4_000, 3_600);
        assertThat(round1.reports()).hasSize(1);
        LineageTally.Consumed c1 = round1.reports().get(0);
        assertThat(c1.round()).isEqualTo(1);
        assertThat(c1.tokens()).isEqualTo(1280);
        assertThat(c1.received()).containsExactly(Map.entry("text-0", 32L + 17));
        assertThat(c1.inputOffsets()).containsExactly(Map.entry("text-0", 2L));
        assertThat(c1.freshnessMinMs()).isEqualTo(3_600);
        assertThat(c1.freshnessMaxMs()).isEqualTo(4_000);

        ReplicaLineage.Published round2 = lineage.published(2, 6_500);
        assertThat(round2.freshnessMs()).containsExactly(4_500);
        LineageTally.Consumed c2 = round2.reports().get(0);
        assertThat(c2.inputOffsets()).containsExactly(Map.entry("text-0", 3L));
        assertThat(c2.freshnessMinMs()).isEqualTo(4_500);
        assertThat(c2.freshnessMaxMs()).isEqualTo(4_500);
        assertThat(lineage.published(2, 7_000).reports()).isEmpty(); // reported once
    }

    /**
     * A round whose publication the replica never saw is reported with the next one it adopts,
     * timed from then; a contribution with no new records has no freshness; a timestamp ahead of
     * the publish time (a producer's clock) counts as 0.
     */
    @Test
    void anUnseenRoundIsReportedWithTheNextPublishedOne() {
        ReplicaLineage lineage = new ReplicaLineage();
        lineage.received(window("text-0", 0, 1, 9_000));
        lineage.contributed(0, 3, 30, 1, 100);
        lineage.contributed(0, 4, 40, 1, 200); // nothing new since round 3
        ReplicaLineage.Published published = lineage.published(4, 8_000);
        assertThat(published.reports())
                .extracting(LineageTally.Consumed::round)
                .containsExactly(3L, 4L);
        assertThat(published.freshnessMs()).containsExactly(0);
        assertThat(published.reports().get(1).freshnessMinMs()).isNull();
        assertThat(published.reports().get(1).inputOffsets())
                .containsExactly(Map.entry("text-0", 1L));
    }
}
