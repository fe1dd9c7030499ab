package io.streamgpt.job.replica;

import io.streamgpt.job.eval.ReplicaLineage;
import io.streamgpt.job.input.TokenWindow;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ReplicaSnapshotTest {

    /** A lineage that received one record (offset 4 of text-0 at 1,000 ms) and sealed round 12. */
    private static ReplicaLineage lineage() {
        ReplicaLineage lineage = new ReplicaLineage();
        lineage.received(new TokenWindow("text-0", 0, 0, new int[17], 5, 1_000));
        lineage.contributed(3, 12, 120, 1, 99_000);
        return lineage;
    }

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
                        List.of(new ReplayBuffer.Run("text-0", 64, new int[] {1, 2, 3, 4})),
                        lineage());
        ReplicaSnapshot back = ReplicaSnapshot.fromBytes(snapshot.toBytes());
        assertThat(back)
                .usingRecursiveComparison()
                .ignoringFields("batches", "lineage")
                .isEqualTo(snapshot);
        assertThat(back.batches().nextLong())
                .isEqualTo(random.nextLong()); // the random source continues where it was
        // the lineage came back too (compared by what it reports: its buffers have spare room):
        // round 12, sealed with the record of 1,000 ms, is reported once published at 3,000 ms
        assertThat(back.lineage().published(12, 3_000).freshnessMs()).containsExactly(2_000);
    }

    /**
     * A snapshot written before the lineage was checkpointed (version 1: the same fields, no
     * lineage at the end) restores with an empty lineage.
     */
    @Test
    void aVersionOneSnapshotRestoresWithAnEmptyLineage() throws Exception {
        ReplicaSnapshot snapshot = snapshot(0, 7, 1000, 0.5f);
        ByteArrayOutputStream lineage = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(lineage)) {
            snapshot.lineage().write(out);
        }
        byte[] current = snapshot.toBytes();
        byte[] v1 = Arrays.copyOf(current, current.length - lineage.size());
        ByteBuffer.wrap(v1).putInt(0, 1);

        ReplicaSnapshot back = ReplicaSnapshot.fromBytes(v1);
        assertThat(back.adoptedRound()).isEqualTo(7);
        assertThat(back.tokensConsumed()).isEqualTo(1000);
        assertThat(back.lineage().published(100, 0).reports()).isEmpty();
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
                List.of(runs),
                new ReplicaLineage());
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
