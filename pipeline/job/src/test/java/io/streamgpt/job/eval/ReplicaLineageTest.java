package io.streamgpt.job.eval;

import io.streamgpt.job.input.TokenWindow;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
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

    /** The lineage as a checkpoint writes it and a restore reads it back. */
    private static ReplicaLineage checkpointed(ReplicaLineage lineage) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            lineage.write(out);
        }
        return ReplicaLineage.read(
                new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
    }

    /**
     * Replica 1 of generation 0 received records 0 and 1 of text-0 (1,000 and 1,400 ms), sealed
     * them for round 3, then received record 2 (2,000 ms); a checkpoint is taken, and the job
     * restores as generation 1. Round 3 of generation 1 is published at 5,000 ms: the report is
     * generation 1's, with 5,000 - 1,400 = 3,600 and 5,000 - 1,000 = 4,000 ms. Record 2, pending at
     * the checkpoint, goes into round 4 (6,000 - 2,000 = 4,000 ms); a window of record 1 again is
     * not a new record.
     */
    @Test
    void aRestoredLineageReportsWhatWasSealedAndPendingAtTheCheckpoint() throws IOException {
        ReplicaLineage before = new ReplicaLineage();
        before.received(window("text-0", 0, 1, 1_000));
        before.received(window("text-0", 16, 2, 1_400));
        before.contributed(0, 3, 30, 1, 30 * 128);
        before.received(window("text-0", 32, 3, 2_000));

        ReplicaLineage after = checkpointed(before);
        after.restoredIn(1, 1);
        after.received(window("text-0", 24, 2, 1_400)); // record 1 once more: not new

        ReplicaLineage.Published round3 = after.published(3, 5_000);
        assertThat(round3.reports()).hasSize(1);
        LineageTally.Consumed c3 = round3.reports().get(0);
        assertThat(c3.generation()).isEqualTo(1);
        assertThat(c3.replica()).isEqualTo(1);
        assertThat(c3.tokens()).isEqualTo(3840);
        assertThat(c3.inputOffsets()).containsExactly(Map.entry("text-0", 2L));
        assertThat(c3.freshnessMinMs()).isEqualTo(3_600);
        assertThat(c3.freshnessMaxMs()).isEqualTo(4_000);
        assertThat(round3.freshnessMs()).containsExactly(4_000, 3_600);

        after.contributed(1, 4, 40, 1, 40 * 128);
        ReplicaLineage.Published round4 = after.published(4, 6_000);
        assertThat(round4.freshnessMs()).containsExactly(4_000);
        assertThat(round4.reports().get(0).received())
                .containsExactly(Map.entry("text-0", 32L + 17)); // position 24 + 17 is less
        assertThat(round4.reports().get(0).inputOffsets()).containsExactly(Map.entry("text-0", 3L));
    }

    /**
     * Two replicas' lineages taken over by one subtask (a restore with fewer replicas): their
     * contributions to round 5 (100 and 200 tokens, text-0 at 1,000 ms and text-1 at 2,000 ms)
     * become one report of 300 tokens naming both partitions; published at 3,000 ms its freshness
     * runs from 1,000 to 2,000 ms.
     */
    @Test
    void theLineagesOfMergedReplicasReportTheirRoundAsOne() throws IOException {
        ReplicaLineage a = new ReplicaLineage();
        a.received(window("text-0", 0, 1, 1_000));
        a.contributed(0, 5, 50, 0, 100);
        ReplicaLineage b = new ReplicaLineage();
        b.received(window("text-1", 0, 7, 2_000));
        b.contributed(0, 5, 50, 1, 200);

        ReplicaLineage merged = ReplicaLineage.merge(List.of(checkpointed(a), checkpointed(b)));
        merged.restoredIn(1, 0);
        ReplicaLineage.Published round5 = merged.published(5, 3_000);

        assertThat(round5.reports()).hasSize(1);
        LineageTally.Consumed c = round5.reports().get(0);
        assertThat(c.tokens()).isEqualTo(300);
        assertThat(c.replica()).isZero();
        assertThat(c.inputOffsets()).containsOnly(Map.entry("text-0", 1L), Map.entry("text-1", 7L));
        assertThat(c.freshnessMinMs()).isEqualTo(1_000);
        assertThat(c.freshnessMaxMs()).isEqualTo(2_000);
        assertThat(round5.freshnessMs()).containsExactlyInAnyOrder(2_000, 1_000);
    }
}
