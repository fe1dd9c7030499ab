package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.FloatArrays;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A replica's local-SGD bookkeeping without Flink: known vectors in, worked arithmetic out. */
class LocalSgdTest {

    private static SyncConfig sync(SyncConfig.Mode mode) {
        // K = 2, chunks of 2 values
        return SyncConfig.defaults()
                .with(SyncConfig.EVERY, 2)
                .with(SyncConfig.MODE, mode)
                .with(SyncConfig.CHUNK_SIZE, 2);
    }

    @Test
    void aSyncReplicaContributesEveryKStepsAndWaitsForThatRound() {
        float[] start = {0f, 0f, 0f};
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.SYNC), 1, 0, 0, -1, start);
        assertThat(sgd.roundEndsAt(1)).isFalse();
        sgd.stepped(3.0f);
        sgd.stepped(2.0f);
        assertThat(sgd.roundEndsAt(2)).isTrue();
        Contribution[] chunks = sgd.contribute(2, 96, 2.0f, new float[] {1f, 2f, 3f}, 0);
        // 3 values in chunks of 2: (1, 2) and (3); the round's loss is the mean (3 + 2) / 2
        assertThat(chunks).hasSize(2);
        assertThat(chunks[0].round()).isEqualTo(1); // step 2 / K
        assertThat(chunks[0].replica()).isEqualTo(1);
        assertThat(chunks[0].progress().loss()).isEqualTo(2.5f);
        assertThat(chunks[0].baseChecksum()).isEqualTo(FloatArrays.crc32(start));
        assertThat(chunks[1].slice().values()).containsExactly(3f);
        assertThat(sgd.waiting()).isTrue();

        float[] next =
                sgd.adopt(1, new float[] {5f, 5f, 5f}, () -> new float[] {1f, 2f, 3f}, 2_000_000);
        assertThat(next).containsExactly(5f, 5f, 5f); // SYNC takes the global model as it is
        assertThat(sgd.waiting()).isFalse();
        assertThat(sgd.adoptedRound()).isEqualTo(1);
        assertThat(sgd.lastLatencyMs()).isEqualTo(2); // 2,000,000 ns after sending
        assertThat(sgd.roundsTimed()).isEqualTo(1);
        assertThat(sgd.waitedMs()).isEqualTo(2.0); // SYNC: it could not step in between
        assertThat(sgd.contribute(4, 192, 1f, next, 3_000_000)[0].baseChecksum())
                .as("the next round starts from the adopted model")
                .isEqualTo(FloatArrays.crc32(next));
    }

    @Test
    void anOverlapReplicaKeepsItsProgressSinceSendingOnTopOfTheGlobalModel() {
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.OVERLAP), 0, 0, 0, -1, new float[3]);
        sgd.contribute(2, 96, 1f, new float[] {1f, 2f, 3f}, 0); // sent (1, 2, 3)
        assertThat(sgd.waiting()).isFalse(); // trains on
        // meanwhile the local model moved to (2, 2, 5); the average came back as (10, 20, 30):
        // next = global + (local - sent) = (10 + 1, 20 + 0, 30 + 2)
        float[] next = sgd.adopt(1, new float[] {10f, 20f, 30f}, () -> new float[] {2f, 2f, 5f}, 0);
        assertThat(next).containsExactly(11f, 20f, 32f);
        assertThat(sgd.waitedMs()).isZero(); // round 1 came back before round 2 was due
    }

    @Test
    void anOverlapReplicaKeepsOneRoundInFlightAndSendsTheHeldBackRoundFromTheMergedParameters() {
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.OVERLAP), 0, 0, 0, -1, new float[3]);
        assertThat(sgd.contribute(2, 96, 1f, new float[] {1f, 2f, 3f}, 0)).hasSize(2);
        assertThat(sgd.waiting()).as("it trains on while round 1 is out").isFalse();

        // step 4 ends round 2 while round 1 is still out: held back, the replica waits
        assertThat(sgd.contribute(4, 192, 1f, new float[] {2f, 2f, 5f}, 1_000_000)).isEmpty();
        assertThat(sgd.waiting()).isTrue();

        // round 1 = (10, 20, 30); sent (1, 2, 3), local (2, 2, 5): next = (10 + 1, 20 + 0, 30 + 2)
        float[] merged =
                sgd.adopt(
                        1, new float[] {10f, 20f, 30f}, () -> new float[] {2f, 2f, 5f}, 4_000_000);
        assertThat(merged).containsExactly(11f, 20f, 32f);
        Contribution[] round2 = sgd.release(() -> merged, 4_000_000);
        assertThat(round2).extracting(c -> c.round()).containsOnly(2L);
        assertThat(round2[0].slice().values())
                .as("round 2 carries what the replica continues from, not what it had at step 4")
                .containsExactly(11f, 20f);
        assertThat(round2[1].slice().values()).containsExactly(32f);
        assertThat(sgd.waiting()).isFalse();
        assertThat(sgd.waitedMs())
                .as("from round 2 due (1 ms) to its release (4 ms)")
                .isEqualTo(3.0);

        // round 2 = (100, 100, 100); local moved on from (11, 20, 32) to (12, 21, 33): + (1, 1, 1)
        assertThat(
                        sgd.adopt(
                                2,
                                new float[] {100f, 100f, 100f},
                                () -> new float[] {12f, 21f, 33f},
                                5_000_000))
                .containsExactly(101f, 101f, 101f);
        assertThat(sgd.lastLatencyMs()).as("round 2 sent at 4 ms").isEqualTo(1);
    }

    @Test
    void anOverlapReplicaWhoseAwaitedRoundNeverCameDropsTheHeldBackRoundOnceANewerOneIsAdopted() {
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.OVERLAP), 0, 0, 0, -1, new float[3]);
        sgd.contribute(2, 96, 1f, new float[] {1f, 2f, 3f}, 0); // round 1 out
        assertThat(sgd.contribute(4, 192, 1f, new float[] {2f, 2f, 5f}, 1_000_000)).isEmpty();
        // round 1 was lost on the way; round 2 closed without this replica (by the timeout)
        float[] next =
                sgd.adopt(2, new float[] {7f, 7f, 7f}, () -> new float[] {2f, 2f, 5f}, 11_000_000);
        assertThat(next).as("it did not send round 2: taken as it is").containsExactly(7f, 7f, 7f);
        assertThat(sgd.release(() -> next, 11_000_000))
                .as("round 2 is closed: the held-back contribution is not sent late")
                .isEmpty();
        assertThat(sgd.waiting()).isFalse();
        assertThat(sgd.waitedMs())
                .as("from round 2 due (1 ms) to round 2 adopted (11 ms)")
                .isEqualTo(10.0);
        assertThat(sgd.contribute(6, 288, 1f, new float[] {8f, 8f, 8f}, 12_000_000))
                .as("round 3 goes out on time")
                .extracting(c -> c.round())
                .containsOnly(3L);
    }

    @Test
    void withBf16TheFirstRoundIsFloat32ThenDeltasFromTheAdoptedGlobalModel() {
        LocalSgd sgd =
                new LocalSgd(
                        sync(SyncConfig.Mode.SYNC).with(SyncConfig.ENCODING, PayloadEncoding.BF16),
                        0,
                        0,
                        0,
                        -1,
                        new float[3]);
        // round 1: the averager knows no global model yet, so parameters as they are
        Contribution[] first = sgd.contribute(2, 0, 1f, new float[] {1f, 2f, 3f}, 0);
        assertThat(first[0].delta()).isNull();
        assertThat(first[0].slice().values()).containsExactly(1f, 2f);
        sgd.adopt(1, new float[] {4f, 4f, 4f}, () -> null, 0);
        // round 2: local (4.5, 3, 4) - global of round 1 (4, 4, 4) = (0.5, -1 | 0), in bf16
        Contribution[] second = sgd.contribute(4, 0, 1f, new float[] {4.5f, 3f, 4f}, 0);
        assertThat(second[0].delta().base()).isEqualTo(new RoundId(0, 1));
        assertThat(second[0].delta().decode()).containsExactly(0.5f, -1f);
        assertThat(second[1].delta().decode()).containsExactly(0f);
        assertThat(second[0].slice().index()).isEqualTo(0);
        assertThat(second[1].slice().count()).isEqualTo(2);
    }

    @Test
    void withBf16AnOverlapReplicasHeldBackRoundIsItsProgressSinceSendingAsADelta() {
        LocalSgd sgd =
                new LocalSgd(
                        sync(SyncConfig.Mode.OVERLAP)
                                .with(SyncConfig.ENCODING, PayloadEncoding.BF16),
                        0,
                        0,
                        0,
                        -1,
                        new float[3]);
        sgd.contribute(2, 0, 1f, new float[] {1f, 2f, 3f}, 0); // round 1, float32
        assertThat(sgd.contribute(4, 0, 1f, new float[] {2f, 2f, 5f}, 0)).isEmpty(); // held back
        // round 1 = (4, 4, 4); sent (1, 2, 3), local (2, 2, 5): merged = (4 + 1, 4 + 0, 4 + 2)
        float[] merged = sgd.adopt(1, new float[] {4f, 4f, 4f}, () -> new float[] {2f, 2f, 5f}, 0);
        assertThat(merged).containsExactly(5f, 4f, 6f);
        Contribution[] round2 = sgd.release(() -> merged, 0);
        // the delta from round 1's global model: (1, 0 | 2), the replica's own progress only
        assertThat(round2[0].delta().base()).isEqualTo(new RoundId(0, 1));
        assertThat(round2[0].delta().decode()).containsExactly(1f, 0f);
        assertThat(round2[1].delta().decode()).containsExactly(2f);
    }

    @Test
    void aReplicaThatFellBehindCatchesUpToTheAdoptedRoundsStep() {
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.SYNC), 0, 0, 0, -1, new float[1]);
        assertThat(sgd.stepAfterAdopting(5, 4)).isEqualTo(10); // round 5 x K 2
        assertThat(sgd.stepAfterAdopting(5, 12)).isEqualTo(12); // never backwards
    }

    @Test
    void aRestoredReplicaSendsTheAwaitedRoundAgain() {
        LocalSgd sgd = new LocalSgd(sync(SyncConfig.Mode.SYNC), 0, 1, 3, 4, new float[] {1f});
        assertThat(sgd.waiting()).isTrue();
        Contribution[] again = sgd.resend(8, 100, 0.5f, new float[] {1f}, 0);
        assertThat(again[0].round()).isEqualTo(4);
        assertThat(again[0].generation()).isEqualTo(1);
    }

    /** K = 4 in F = 2 fragments, chunks of 1 value: fragment 0 = values 0-1, fragment 1 = 2-3. */
    private static SyncConfig fragments(SyncConfig.Mode mode) {
        return SyncConfig.defaults()
                .with(SyncConfig.EVERY, 4)
                .with(SyncConfig.MODE, mode)
                .with(SyncConfig.CHUNK_SIZE, 1)
                .with(SyncConfig.FRAGMENTS, 2);
    }

    /**
     * Round {@code round}'s fragment of 2 values from value {@code first}, as a replica gets it.
     */
    private static GlobalRounds.Round fragmentRound(long round, int first, float... values) {
        return new GlobalRounds.Round(
                new RoundId(0, round), null, null, (int) (round % 2), first, values);
    }

    @Test
    void withTwoFragmentsASyncReplicaSendsHalfEveryKOver2StepsAndWaitsOnlyWhenTheNextHalfIsDue() {
        LocalSgd sgd = new LocalSgd(fragments(SyncConfig.Mode.SYNC), 0, 0, 0, -1, new float[4]);
        assertThat(sgd.roundEndsAt(1)).isFalse();
        assertThat(sgd.roundEndsAt(2)).isTrue(); // K / F = 2 steps per round
        // step 2 ends round 1 = fragment 1 mod 2 = 1: values 2 and 3 only
        Contribution[] round1 = sgd.contribute(2, 0, 1f, new float[] {1f, 2f, 3f, 4f}, 0);
        assertThat(round1).extracting(c -> c.chunk()).containsExactly(2, 3);
        assertThat(round1).extracting(c -> c.round()).containsOnly(1L);
        assertThat(round1[0].slice().values()).containsExactly(3f);
        assertThat(sgd.waiting()).as("it trains on while round 1 is out").isFalse();

        // step 4 ends round 2 (fragment 0) while round 1 is still out: held back, the replica waits
        assertThat(sgd.contribute(4, 0, 1f, new float[] {5f, 6f, 7f, 8f}, 1_000_000)).isEmpty();
        assertThat(sgd.waiting()).isTrue();

        // round 1 arrives, (30, 40) for values 2-3; it sent (3, 4) and is at (7, 8) now:
        // next[2..3] = global + (local - sent) = (30 + 7 - 3, 40 + 8 - 4); the rest stays local
        float[] next =
                sgd.adopt(
                        fragmentRound(1, 2, 30f, 40f),
                        () -> new float[] {5f, 6f, 7f, 8f},
                        3_000_000);
        assertThat(next).containsExactly(5f, 6f, 34f, 44f);
        assertThat(sgd.lastLatencyMs()).isEqualTo(3); // sent at 0, adopted at 3 ms
        Contribution[] round2 = sgd.release(() -> next, 3_000_000);
        assertThat(round2).extracting(c -> c.chunk()).containsExactly(0, 1);
        assertThat(round2).extracting(c -> c.round()).containsOnly(2L);
        assertThat(round2[1].slice().values()).containsExactly(6f);
        assertThat(sgd.waiting()).isFalse();
        assertThat(sgd.waitedMs())
                .as("from round 2 due (1 ms) to round 1 adopted (3 ms)")
                .isEqualTo(2.0);
        assertThat(sgd.release(() -> next, 4_000_000)).as("nothing else held back").isEmpty();
    }

    @Test
    void withTwoFragmentsAnOverlapReplicaMergesOnlyTheFragmentKeepingItsProgressSinceSending() {
        LocalSgd sgd = new LocalSgd(fragments(SyncConfig.Mode.OVERLAP), 0, 0, 0, -1, new float[4]);
        sgd.contribute(2, 0, 1f, new float[] {1f, 2f, 3f, 4f}, 0); // round 1 sent (3, 4)
        // local is now (2, 2, 5, 5); round 1 = (30, 40) for values 2-3:
        // next[2..3] = global + (local - sent) = (30 + 5 - 3, 40 + 5 - 4); next[0..1] = local
        float[] next =
                sgd.adopt(fragmentRound(1, 2, 30f, 40f), () -> new float[] {2f, 2f, 5f, 5f}, 0);
        assertThat(next).containsExactly(2f, 2f, 32f, 41f);
        assertThat(sgd.contribute(4, 0, 1f, next, 0))
                .as("round 1 came back before round 2 was due: round 2 goes out at once")
                .hasSize(2);
        assertThat(sgd.waitedMs()).isZero();
    }

    @Test
    void withTwoFragmentsARestoredReplicaResendsTheRoundInFlightAndTheOneThatWaitedOnIt() {
        // the snapshot: step 4, round 1 in flight, round 2 due and held back
        LocalSgd sgd = new LocalSgd(fragments(SyncConfig.Mode.SYNC), 0, 1, 0, 1, new float[4]);
        Contribution[] again = sgd.resend(4, 0, 1f, new float[] {5f, 6f, 7f, 8f}, 0);
        assertThat(again).extracting(c -> c.chunk()).containsExactly(2, 3); // round 1's fragment
        assertThat(again[0].version()).isEqualTo(new RoundId(1, 1)); // the new generation
        assertThat(sgd.waiting()).isTrue();
        sgd.adopt(fragmentRound(1, 2, 30f, 40f), () -> new float[] {5f, 6f, 7f, 8f}, 0);
        assertThat(sgd.release(() -> new float[] {5f, 6f, 34f, 44f}, 0))
                .extracting(c -> c.round())
                .containsOnly(2L)
                .hasSize(2);
    }

    @Test
    void withTwoFragmentsAndBf16EachFragmentsDeltaIsFromItsOwnPreviousRound() {
        LocalSgd sgd =
                new LocalSgd(
                        fragments(SyncConfig.Mode.SYNC)
                                .with(SyncConfig.ENCODING, PayloadEncoding.BF16),
                        0,
                        0,
                        0,
                        -1,
                        new float[4]);
        // round 1 (fragment 1, values 2-3): the averager keeps no global model of it yet
        Contribution[] round1 = sgd.contribute(2, 0, 1f, new float[] {1f, 2f, 3f, 4f}, 0);
        assertThat(round1).extracting(c -> c.delta()).containsOnlyNulls();
        float[] after1 =
                sgd.adopt(fragmentRound(1, 2, 30f, 40f), () -> new float[] {1f, 2f, 3f, 4f}, 0);
        // round 2 (fragment 0): its first round too, float32
        assertThat(sgd.release(() -> after1, 0)).isEmpty(); // nothing was held back
        Contribution[] round2 = sgd.contribute(4, 0, 1f, after1, 0);
        assertThat(round2).extracting(c -> c.delta()).containsOnlyNulls();
        float[] after2 = sgd.adopt(fragmentRound(2, 0, 10f, 20f), () -> after1, 0);
        assertThat(after2).containsExactly(10f, 20f, 30f, 40f);
        // round 3 (fragment 1 again): the delta from round 1's global values (30, 40) of values
        // 2-3: local (31, 38) - (30, 40) = (1, -2), exact in bf16; only chunks 2 and 3 go out
        Contribution[] round3 = sgd.contribute(6, 0, 1f, new float[] {11f, 21f, 31f, 38f}, 0);
        assertThat(round3).extracting(c -> c.chunk()).containsExactly(2, 3);
        assertThat(round3[0].delta().base()).isEqualTo(new RoundId(0, 1)); // round 3 - F
        assertThat(round3[0].delta().decode()).containsExactly(1f);
        assertThat(round3[1].delta().decode()).containsExactly(-2f);
    }

    @Test
    void oneFragmentIsTodaysSchedule() {
        SyncConfig one = sync(SyncConfig.Mode.SYNC).with(SyncConfig.FRAGMENTS, 1);
        assertThat(one).isEqualTo(sync(SyncConfig.Mode.SYNC)); // the default
        assertThat(one.stepsPerRound()).isEqualTo(2);
    }
}
