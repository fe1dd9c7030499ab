package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * Checkpoints of the job.
 *
 * @param intervalMs checkpoint interval; 0 disables checkpointing
 * @param stateBackend hashmap or rocksdb
 * @param directory checkpoint storage URI; empty keeps checkpoints where the cluster says
 */
public record CheckpointConfig(long intervalMs, String stateBackend, String directory)
        implements Serializable {

    public static final Param<Long> INTERVAL_MS =
            Param.ofLong(
                            "checkpoint-interval-ms",
                            "Checkpoint interval; 0 disables checkpoints.",
                            30_000L)
                    .atLeast(0);
    public static final Param<String> STATE_BACKEND =
            Param.ofString("state-backend", "hashmap or rocksdb.", "hashmap")
                    .oneOf("hashmap", "rocksdb");
    public static final Param<String> DIRECTORY =
            Param.ofString(
                    "checkpoint-dir",
                    "Checkpoint storage URI, e.g. file:///var/streamgpt/checkpoints; empty: the"
                            + " cluster's.",
                    "");

    public static final List<Param<?>> PARAMS = List.of(INTERVAL_MS, STATE_BACKEND, DIRECTORY);

    public CheckpointConfig {
        Params.require(
                "checkpoint config", Params.errors(PARAMS, intervalMs, stateBackend, directory));
    }

    public static CheckpointConfig defaults() {
        return Params.defaults(CheckpointConfig.class, PARAMS);
    }

    public <T> CheckpointConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    public boolean hasDirectory() {
        return directory != null && !directory.isBlank();
    }
}
