package io.streamgpt.job.replica;

import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.input.TokenWindow;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReplicaRouterTest {

    @Test
    void replicaKeysLandOnTheirOwnSubtask() {
        for (int replicas = 1; replicas <= 16; replicas++) {
            int[] keys =
                    ReplicaRouter.keysForSubtasks(
                            replicas, StreamingTrainerJob.REPLICA_MAX_PARALLELISM);
            for (int i = 0; i < replicas; i++) {
                assertThat(
                                KeyGroupRangeAssignment.assignKeyToParallelOperator(
                                        keys[i],
                                        StreamingTrainerJob.REPLICA_MAX_PARALLELISM,
                                        replicas))
                        .isEqualTo(i);
            }
        }
    }

    @Test
    void runsOfConsecutiveWindowsGoToOneReplicaAndRunsRotate() {
        ReplicaRouter router = new ReplicaRouter(3, 128, 4);
        int[] replicaOfWindow = new int[24];
        for (int w = 0; w < replicaOfWindow.length; w++) {
            replicaOfWindow[w] =
                    router.replicaOf(new TokenWindow("text-0", w * 16L, w, new int[17]));
        }
        for (int run = 0; run < 6; run++) {
            for (int w = run * 4; w < run * 4 + 4; w++) {
                assertThat(replicaOfWindow[w]).isEqualTo(replicaOfWindow[run * 4]);
            }
            if (run > 0) {
                assertThat(replicaOfWindow[run * 4])
                        .isEqualTo((replicaOfWindow[(run - 1) * 4] + 1) % 3);
            }
        }
    }
}
