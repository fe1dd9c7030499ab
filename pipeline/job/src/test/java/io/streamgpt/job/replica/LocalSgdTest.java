package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.job.config.SyncConfig;
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

        float[] next = sgd.adopt(1, new float[] {5f, 5f, 5f}, new float[] {1f, 2f, 3f}, 2_000_000);
        assertThat(next).containsExactly(5f, 5f, 5f); // SYNC takes the global model as it is
        assertThat(sgd.waiting()).isFalse();
        assertThat(sgd.adoptedRound()).isEqualTo(1);
        assertThat(sgd.lastLatencyMs()).isEqualTo(2); // 2,000,000 ns after sending
        assertThat(sgd.latenciesMeasured()).isEqualTo(1); // one round trip for the histogram
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
        float[] next = sgd.adopt(1, new float[] {10f, 20f, 30f}, new float[] {2f, 2f, 5f}, 0);
        assertThat(next).containsExactly(11f, 20f, 32f);
        assertThat(sgd.latenciesMeasured()).isEqualTo(1);
        // a round this replica did not send (it joined later) is no round trip
        sgd.adopt(2, new float[3], new float[3], 0);
        assertThat(sgd.latenciesMeasured()).isEqualTo(1);
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
}
