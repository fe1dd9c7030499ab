package io.streamgpt.job.replica;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ReplicaSnapshotTest {

    @Test
    void roundTripsEveryField() throws Exception {
        Random random = new Random(42);
        random.nextInt();
        ReplicaSnapshot snapshot =
                new ReplicaSnapshot(
                        1,
                        120,
                        12,
                        -1,
                        99_000,
                        1.5f,
                        new float[] {1, 2, 3},
                        120,
                        new float[] {0.1f, 0.2f, 0.3f},
                        new float[] {4, 5, 6},
                        random,
                        List.of(new ReplayBuffer.Run("text-0", 64, new int[] {1, 2, 3, 4})));
        ReplicaSnapshot back = ReplicaSnapshot.fromBytes(snapshot.toBytes());
        assertThat(back).usingRecursiveComparison().ignoringFields("batches").isEqualTo(snapshot);
        assertThat(back.batches().nextLong())
                .isEqualTo(random.nextLong()); // the random source continues where it was
    }

    private static ReplicaSnapshot snapshot(
            int replica, long adoptedRound, long tokens, float value, ReplayBuffer.Run... runs) {
        return new ReplicaSnapshot(
                replica,
                adoptedRound * 5 + 2,
                adoptedRound,
                -1,
                tokens,
                2f,
                new float[] {value},
                adoptedRound * 5 + 2,
                new float[] {value},
                new float[] {value},
                new Random(replica),
                List.of(runs));
    }

    @Test
    void mergedReplicasKeepEveryBufferedRunAndTrainedTokenAndTheNewestModel() {
        ReplayBuffer.Run a = new ReplayBuffer.Run("text-0", 0, new int[] {1, 2, 3});
        ReplayBuffer.Run b = new ReplayBuffer.Run("text-0", 32, new int[] {4, 5});
        ReplayBuffer.Run c = new ReplayBuffer.Run("text-1", 0, new int[] {6});
        ReplicaSnapshot merged =
                ReplicaSnapshot.merge(
                        List.of(snapshot(0, 7, 1000, 0.5f, a), snapshot(1, 8, 2000, 0.25f, b, c)));
        assertThat(merged.buffer()).containsExactly(a, b, c);
        assertThat(merged.tokensConsumed()).isEqualTo(3000);
        assertThat(merged.adoptedRound()).isEqualTo(8);
        assertThat(merged.globalStep()).isEqualTo(42);
        assertThat(merged.parameters()).containsExactly(0.25f);
        assertThat(merged.firstMoment()).containsExactly(0.25f);
        // equal rounds: the first one's model
        assertThat(
                        ReplicaSnapshot.merge(
                                        List.of(snapshot(0, 8, 1, 0.5f), snapshot(1, 8, 1, 0.25f)))
                                .parameters())
                .containsExactly(0.5f);
    }

    @Test
    void aGlobalModelRoundTrips() throws Exception {
        ReplicaSnapshot.Global global = new ReplicaSnapshot.Global(12, new float[] {1.5f, -2f});
        assertThat(ReplicaSnapshot.Global.fromBytes(global.toBytes()))
                .usingRecursiveComparison()
                .isEqualTo(global);
    }
}
