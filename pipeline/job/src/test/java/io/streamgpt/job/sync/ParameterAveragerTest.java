package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.EncodedDelta;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.SyncConfig;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The averager as Flink runs it (operator test harness): known vectors in, exact averages out. */
class ParameterAveragerTest {

    /** Replica {@code replica}'s one-chunk contribution to a round, at step round x 10. */
    private static Contribution contribution(
            int generation, long round, int replica, float loss, float... values) {
        return new Contribution(
                new RoundId(generation, round),
                replica,
                new Progress(round * 10, 100, loss),
                0L,
                new Slice(0, 1, values));
    }

    private static KeyedOneInputStreamOperatorTestHarness<Integer, Contribution, GlobalChunk>
            harness(JobConfig config) throws Exception {
        var harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(
                                new ParameterAverager(config.sync(), config.replicas().count())),
                        Contribution::chunk,
                        Types.INT);
        harness.open();
        return harness;
    }

    @Test
    void aRoundClosesWhenEveryReplicaContributedWithTheExactAverage() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(3, OuterOptimizer.AVERAGE, 10_000))) {
            h.processElement(contribution(0, 1, 0, 2f, 1f, 2f, 3f), 0);
            h.processElement(contribution(0, 1, 2, 4f, 4f, 5f, 6f), 0);
            assertThat(h.extractOutputValues()).isEmpty();
            h.processElement(contribution(0, 1, 1, 3f, 7f, 8f, 9f), 0);
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(1);
            GlobalChunk global = out.get(0);
            assertThat(global.slice().values()).containsExactly(4f, 5f, 6f);
            assertThat(global.contributors()).isEqualTo(3);
            assertThat(global.replicaLosses()).containsExactly(2f, 3f, 4f);
            assertThat(global.progress().loss()).isEqualTo(3f);
            assertThat(global.progress().tokens()).isEqualTo(300);
        }
    }

    @Test
    void nesterovOuterStepsFollowDiLoCo() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(2, OuterOptimizer.NESTEROV, 10_000))) {
            h.processElement(contribution(0, 1, 0, 1f, 1f, 3f), 0);
            h.processElement(
                    contribution(0, 1, 1, 1f, 3f, 5f), 0); // first round: the average (2, 4)
            h.processElement(contribution(0, 2, 0, 1f, 1f, 2f), 0);
            h.processElement(contribution(0, 2, 1, 1f, 1f, 4f), 0); // average (1, 3)
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out.get(0).slice().values()).containsExactly(2f, 4f);
            // g = (2,4) - (1,3) = (1,1); m = 0.9*0 + g = (1,1); global = (2,4) - 0.7 * (g + 0.9 m)
            // = (2,4) - 1.33
            assertThat(out.get(1).slice().values()[0]).isCloseTo(2f - 0.7f * 1.9f, within(1e-6f));
            assertThat(out.get(1).slice().values()[1]).isCloseTo(4f - 0.7f * 1.9f, within(1e-6f));
        }
    }

    @Test
    void aMissingReplicaDoesNotStallTheRound() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(2, OuterOptimizer.AVERAGE, 500))) {
            h.setProcessingTime(1000);
            h.processElement(contribution(0, 1, 0, 2f, 1f, 1f), 0);
            h.setProcessingTime(1499);
            assertThat(h.extractOutputValues()).isEmpty();
            h.setProcessingTime(1500); // the timeout: average what arrived
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(1);
            assertThat(out.get(0).contributors()).isEqualTo(1);
            assertThat(out.get(0).slice().values()).containsExactly(1f, 1f);
            assertThat(out.get(0).replicaLosses()[1]).isNaN();
            h.processElement(contribution(0, 1, 1, 2f, 9f, 9f), 0); // too late for round 1
            assertThat(h.extractOutputValues()).hasSize(1);
        }
    }

    @Test
    void repeatsAndEarlierGenerationsAreIgnored() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(2, OuterOptimizer.AVERAGE, 10_000))) {
            h.processElement(contribution(0, 1, 0, 1f, 2f), 0);
            h.processElement(contribution(0, 1, 0, 1f, 100f), 0); // redelivered: ignored
            h.processElement(
                    contribution(1, 1, 0, 1f, 4f), 0); // a restore: generation 0's round is dropped
            h.processElement(
                    contribution(0, 1, 1, 1f, 50f), 0); // generation 0 after the restore: ignored
            h.processElement(contribution(1, 1, 1, 1f, 6f), 0);
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(1);
            assertThat(out.get(0).generation()).isEqualTo(1);
            assertThat(out.get(0).slice().values()).containsExactly(5f);
        }
    }

    @Test
    void compressedDeltasAreDecodedAgainstTheKeptGlobalModel() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(2, OuterOptimizer.AVERAGE, 10_000))) {
            // round 1 in float32: global (2, 4)
            h.processElement(contribution(0, 1, 0, 1f, 1f, 3f), 0);
            h.processElement(contribution(0, 1, 1, 1f, 3f, 5f), 0);
            // round 2 as bf16 deltas from round 1's global: (2 + 0.5, 4 - 1) and (2 + 1.5, 4 + 1)
            // average to (3, 4)
            h.processElement(delta(2, 0, new RoundId(0, 1), 0.5f, -1f), 0);
            h.processElement(delta(2, 1, new RoundId(0, 1), 1.5f, 1f), 0);
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(2);
            assertThat(out.get(1).slice().values()).containsExactly(3f, 4f);
            // a delta from a global model it does not keep (round 1, now that round 2 is kept)
            // cannot be decoded: dropped, never averaged
            h.processElement(delta(3, 0, new RoundId(0, 1), 9f, 9f), 0);
            h.processElement(delta(3, 1, new RoundId(0, 2), 1f, 1f), 0);
            assertThat(h.extractOutputValues()).hasSize(2);
        }
    }

    private static Contribution delta(long round, int replica, RoundId base, float... delta) {
        return new Contribution(
                new RoundId(0, round),
                replica,
                new Progress(round * 10, 100, 1f),
                0L,
                new Slice(0, 1, new float[0]),
                EncodedDelta.of(base, PayloadEncoding.BF16, delta));
    }

    @Test
    void aNonFiniteContributionIsNotAveragedInAndTheRoundClosesWithoutWaiting() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(3, OuterOptimizer.AVERAGE, 10_000))) {
            h.processElement(contribution(0, 1, 0, 2f, 1f, 2f), 0);
            h.processElement(contribution(0, 1, 1, Float.NaN, Float.NaN, Float.NaN), 0);
            h.processElement(contribution(0, 1, 2, 4f, 3f, Float.POSITIVE_INFINITY), 0);
            // all three arrived: the round closes now, with replica 0's values alone
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(1);
            assertThat(out.get(0).slice().values()).containsExactly(1f, 2f);
            assertThat(out.get(0).contributors()).isEqualTo(1);
            assertThat(out.get(0).replicaLosses()[0]).isEqualTo(2f);
            assertThat(out.get(0).replicaLosses()[1]).isNaN();
            assertThat(out.get(0).replicaLosses()[2]).isNaN();
            assertThat(out.get(0).progress().loss()).isEqualTo(2f);

            // a round where every contribution is rejected publishes round 1's chunk again
            h.processElement(contribution(0, 2, 0, Float.NaN, 0f, 0f), 0);
            h.processElement(contribution(0, 2, 1, Float.NaN, 0f, 0f), 0);
            h.processElement(contribution(0, 2, 2, 1f, Float.NaN, 0f), 0);
            out = h.extractOutputValues();
            assertThat(out).hasSize(2);
            assertThat(out.get(1).round()).isEqualTo(2);
            assertThat(out.get(1).slice().values()).containsExactly(1f, 2f);
            assertThat(out.get(1).contributors()).isZero();
        }
    }

    @Test
    void aContributionFarBeyondTheOthersIsAnOutlierAndLeftOut() throws Exception {
        try (var h = harness(TestConfigs.averagerOnly(3, OuterOptimizer.AVERAGE, 10_000))) {
            // round 1, from no previous global: norms 5, 5.4, 5.0; none is 10x the others
            h.processElement(contribution(0, 1, 0, 1f, 3f, 4f), 0);
            h.processElement(contribution(0, 1, 1, 1f, 3.4f, 4f), 0);
            h.processElement(contribution(0, 1, 2, 1f, 3f, 4f), 0); // global (3.133.., 4)
            // round 2: replicas 0 and 2 move by 1; replica 1 by 100: 100 > 10 x median(1, 1)
            h.processElement(contribution(0, 2, 0, 1f, 3f, 5f), 0);
            h.processElement(contribution(0, 2, 1, 1f, 3f, 104f), 0);
            h.processElement(contribution(0, 2, 2, 1f, 4f, 4f), 0);
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).hasSize(2);
            assertThat(out.get(0).contributors()).isEqualTo(3);
            assertThat(out.get(1).contributors()).isEqualTo(2);
            assertThat(out.get(1).slice().values()).containsExactly(3.5f, 4.5f);
        }
    }

    /** Replica {@code replica}'s contribution to chunk {@code chunk} of 4, at step round x 10. */
    private static Contribution chunkOf4(long round, int chunk, int replica, float loss, float v) {
        return new Contribution(
                new RoundId(0, round),
                replica,
                new Progress(round * 10, 100, loss),
                0L,
                new Slice(chunk, 4, new float[] {v}));
    }

    @Test
    void withTwoFragmentsEachFragmentsFirstChunkCarriesTheLossesAndAChunkOnlySeesItsRounds()
            throws Exception {
        // 4 chunks in F = 2 fragments: chunks 0-1 in even rounds, 2-3 in odd ones
        JobConfig config =
                TestConfigs.averagerOnly(2, OuterOptimizer.AVERAGE, 10_000)
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, 2)
                                                .with(SyncConfig.CHUNK_SIZE, 2)
                                                .with(SyncConfig.FRAGMENTS, 2));
        try (var h = harness(config)) {
            // round 1, fragment 1: chunks 2 and 3; losses 1 and 3
            h.processElement(chunkOf4(1, 2, 0, 1f, 2f), 0);
            h.processElement(chunkOf4(1, 3, 0, 1f, 4f), 0);
            h.processElement(chunkOf4(1, 2, 1, 3f, 6f), 0);
            h.processElement(chunkOf4(1, 3, 1, 3f, 8f), 0);
            // round 3, fragment 1 again: chunk 2 averages (10 + 20) / 2
            h.processElement(chunkOf4(3, 2, 0, 1f, 10f), 0);
            h.processElement(chunkOf4(3, 2, 1, 1f, 20f), 0);
            h.processElement(chunkOf4(1, 2, 1, 3f, 6f), 0); // a redelivered round-1 chunk: late
            List<GlobalChunk> out = h.extractOutputValues();
            assertThat(out).extracting(g -> g.slice().index()).containsExactly(2, 3, 2);
            assertThat(out.get(0).slice().values()).containsExactly(4f); // (2 + 6) / 2
            assertThat(out.get(1).slice().values()).containsExactly(6f); // (4 + 8) / 2
            assertThat(out.get(2).slice().values()).containsExactly(15f);
            assertThat(out.get(0).replicaLosses())
                    .as("chunk 2 heads fragment 1")
                    .containsExactly(1f, 3f);
            assertThat(out.get(1).replicaLosses()).isEmpty();
        }
    }
}
