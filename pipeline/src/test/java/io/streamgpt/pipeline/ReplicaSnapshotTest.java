package io.streamgpt.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReplicaSnapshotTest {

    @Test
    void roundTripsEveryField() throws Exception {
        Random random = new Random(42);
        random.nextInt();
        ReplicaSnapshot snapshot = new ReplicaSnapshot(1, 120, 12, -1, 99_000, 1.5f, new float[] {1, 2, 3}, 120,
                new float[] {0.1f, 0.2f, 0.3f}, new float[] {4, 5, 6}, random,
                List.of(new ReplayBuffer.Run("text-0", 64, new int[] {1, 2, 3, 4})));
        ReplicaSnapshot back = ReplicaSnapshot.fromBytes(snapshot.toBytes());
        assertThat(back).usingRecursiveComparison().ignoringFields("batches").isEqualTo(snapshot);
        assertThat(back.batches().nextLong()).isEqualTo(random.nextLong()); // the random source continues where it was
    }
}
