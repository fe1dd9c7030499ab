package io.streamgpt.job.replica;

import io.streamgpt.job.input.TokenWindow;

import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

import java.util.Arrays;

/**
 * Sends training windows to replicas: runs of {@code runWindows} consecutive windows of a partition
 * go to the same replica (so its buffer holds long contiguous text), and the key of replica i is
 * chosen so that Flink's key-group hashing places it on subtask i: exactly one replica per subtask.
 */
public final class ReplicaRouter implements KeySelector<TokenWindow, Integer> {

    private final int[] keys;
    private final int runWindows;

    public ReplicaRouter(int replicas, int maxParallelism, int runWindows) {
        this.keys = keysForSubtasks(replicas, maxParallelism);
        this.runWindows = runWindows;
    }

    /** keys[i] is a key that Flink assigns to subtask i of an operator with this parallelism. */
    static int[] keysForSubtasks(int parallelism, int maxParallelism) {
        int[] keys = new int[parallelism];
        Arrays.fill(keys, -1);
        int found = 0;
        for (int candidate = 0; found < parallelism; candidate++) {
            int subtask =
                    KeyGroupRangeAssignment.assignKeyToParallelOperator(
                            candidate, maxParallelism, parallelism);
            if (keys[subtask] < 0) {
                keys[subtask] = candidate;
                found++;
            }
        }
        return keys;
    }

    int replicaOf(TokenWindow window) {
        long run = window.index() / runWindows;
        return (int) Math.floorMod(window.source().hashCode() + run, (long) keys.length);
    }

    @Override
    public Integer getKey(TokenWindow window) {
        return keys[replicaOf(window)];
    }
}
