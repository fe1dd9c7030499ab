package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** One lineage record per version from the replicas' reports. */
class LineageTallyTest {

    /** A report of records whose freshness is not known (none new, or before publication). */
    private static LineageTally.Consumed consumed(
            int generation,
            long round,
            long step,
            int replica,
            long tokens,
            Map<String, Long> received,
            Map<String, Long> inputOffsets) {
        return new LineageTally.Consumed(
                generation, round, step, replica, tokens, received, inputOffsets, null, null);
    }

    @Test
    void aVersionNamesTheFurthestOffsetPerPartitionAndTheTokensOfEveryReplica() {
        LineageTally tally = new LineageTally(2);
        // replica 0 had text-0's records up to offset 4 (next offset 5), records 1,200 and 900 ms
        // old at publication; replica 1 up to offset 3 and text-1's first two, 700 and 300 ms
        assertThat(
                        tally.add(
                                new LineageTally.Consumed(
                                        0,
                                        1,
                                        10,
                                        0,
                                        7680,
                                        Map.of("text-0", 650L),
                                        Map.of("text-0", 5L),
                                        900L,
                                        1_200L)))
                .isEmpty();
        List<EvalRecords.Lineage> done =
                tally.add(
                        new LineageTally.Consumed(
                                0,
                                1,
                                10,
                                1,
                                7680,
                                Map.of("text-0", 585L, "text-1", 130L),
                                Map.of("text-0", 4L, "text-1", 2L),
                                300L,
                                700L));
        assertThat(done).hasSize(1);
        EvalRecords.Lineage round1 = done.get(0);
        assertThat(round1.kind()).isEqualTo(EvalRecords.LINEAGE);
        assertThat(round1.round()).isEqualTo(1);
        assertThat(round1.tokens()).isEqualTo(2 * 7680);
        assertThat(round1.format()).isEqualTo(EvalRecords.LINEAGE_FORMAT);
        assertThat(round1.offsets())
                .containsExactly(Map.entry("text-0", 650L), Map.entry("text-1", 130L));
        assertThat(round1.inputOffsets())
                .containsExactly(Map.entry("text-0", 5L), Map.entry("text-1", 2L));
        assertThat(round1.freshnessMinMs()).isEqualTo(300); // the least over both replicas
        assertThat(round1.freshnessMaxMs()).isEqualTo(1_200); // the greatest

        // round 2: replica 1 alone reports, then round 4 closes it; offsets never go back
        tally.add(consumed(0, 2, 20, 1, 15360, Map.of("text-0", 1300L), Map.of("text-0", 9L)));
        done = tally.add(consumed(0, 4, 40, 1, 30720, Map.of(), Map.of()));
        assertThat(done).extracting(EvalRecords.Lineage::round).containsExactly(2L);
        assertThat(done.get(0).offsets())
                .containsExactly(Map.entry("text-0", 1300L), Map.entry("text-1", 130L));
        assertThat(done.get(0).inputOffsets())
                .containsExactly(Map.entry("text-0", 9L), Map.entry("text-1", 2L));
        assertThat(done.get(0).freshnessMinMs()).isNull(); // no new records for round 2
    }

    @Test
    void aRestoredTallyStillNamesAPartitionNoReplicaReceivesFromAnyMore() {
        LineageTally before = new LineageTally(1);
        before.add(
                consumed(
                        0,
                        1,
                        10,
                        0,
                        7680,
                        Map.of("text-0", 650L, "text-1", 130L),
                        Map.of("text-0", 5L, "text-1", 2L)));
        // the checkpoint, through the JSON the reporter keeps in operator state
        LineageTally.Seen checkpointed =
                Reports.fromJson(Reports.toJson(before.seen()), LineageTally.Seen.class);
        assertThat(checkpointed.generation()).isZero();

        // after the restore (generation 1) only text-0 brings text: text-1 stopped at offset 2
        LineageTally after = new LineageTally(1);
        after.restore(checkpointed);
        List<EvalRecords.Lineage> done =
                after.add(
                        consumed(
                                1, 2, 20, 0, 15360, Map.of("text-0", 1300L), Map.of("text-0", 9L)));
        assertThat(done).hasSize(1);
        assertThat(done.get(0).generation()).isEqualTo(1);
        assertThat(done.get(0).offsets())
                .containsExactly(Map.entry("text-0", 1300L), Map.entry("text-1", 130L));
        assertThat(done.get(0).inputOffsets())
                .containsExactly(Map.entry("text-0", 9L), Map.entry("text-1", 2L));
    }

    @Test
    void aVersionWhoseRoundWasOpenAtTheCheckpointGetsItsRecordAfterTheRestore() {
        LineageTally before = new LineageTally(2);
        // round 3 was published; only replica 0's report had arrived when the checkpoint was taken
        before.add(consumed(0, 3, 30, 0, 23040, Map.of("text-0", 1950L), Map.of("text-0", 15L)));
        LineageTally.Seen checkpointed =
                Reports.fromJson(Reports.toJson(before.seen()), LineageTally.Seen.class);
        assertThat(checkpointed.open())
                .extracting(LineageTally.Consumed::round)
                .containsExactly(3L);

        LineageTally after = new LineageTally(2);
        after.restore(checkpointed);
        // the restored generation's first report closes round 3 with the one report it had:
        // 23,040 tokens, text-0 up to 1,950 (the new report is generation 1's round 4, not in it)
        List<EvalRecords.Lineage> done =
                after.add(
                        consumed(
                                1,
                                4,
                                40,
                                1,
                                30720,
                                Map.of("text-0", 2600L),
                                Map.of("text-0", 20L)));
        assertThat(done).hasSize(1);
        assertThat(done.get(0).generation()).isZero();
        assertThat(done.get(0).round()).isEqualTo(3);
        assertThat(done.get(0).tokens()).isEqualTo(23040);
        assertThat(done.get(0).offsets()).containsExactly(Map.entry("text-0", 1950L));
        // generation 1's round 4 waits for replica 0, then names the furthest offset, 2,600
        done =
                after.add(
                        consumed(
                                1,
                                4,
                                40,
                                0,
                                30720,
                                Map.of("text-0", 2500L),
                                Map.of("text-0", 19L)));
        assertThat(done).hasSize(1);
        assertThat(done.get(0).generation()).isEqualTo(1);
        assertThat(done.get(0).round()).isEqualTo(4);
        assertThat(done.get(0).tokens()).isEqualTo(2 * 30720);
        assertThat(done.get(0).offsets()).containsExactly(Map.entry("text-0", 2600L));
    }

    @Test
    void aCheckpointWithoutOpenRoundsRestoresItsMaximaOnly() {
        // what builds before 2026-12-02 checkpointed: no open rounds
        LineageTally after = new LineageTally(1);
        after.restore(new LineageTally.Seen(0, Map.of("text-0", 650L), Map.of("text-0", 5L), null));
        List<EvalRecords.Lineage> done =
                after.add(consumed(1, 1, 10, 0, 7680, Map.of("text-1", 65L), Map.of("text-1", 1L)));
        assertThat(done).extracting(EvalRecords.Lineage::round).containsExactly(1L);
        assertThat(done.get(0).offsets())
                .containsExactly(Map.entry("text-0", 650L), Map.entry("text-1", 65L));
    }
}
