package io.streamgpt.job;

import io.streamgpt.job.sync.OuterOptimizer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobConfigTest {

    @Test
    void aValidConfigDescribesEveryField() {
        JobConfig config =
                TestConfigs.job(
                        "127.0.0.1:9092",
                        "t",
                        2,
                        10,
                        JobConfig.SyncMode.SYNC,
                        OuterOptimizer.AVERAGE,
                        0,
                        64,
                        1000,
                        0,
                        "");
        assertThat(config.describe())
                .contains("replicas", "syncEvery", "bootstrapServers", "127.0.0.1:9092");
        for (var component : JobConfig.class.getRecordComponents()) {
            assertThat(config.describe()).contains(component.getName());
        }
        assertThat(config.chunkCount(2001)).isEqualTo(3);
    }

    @Test
    void invalidFieldsAreAllReported() {
        JobConfig valid =
                TestConfigs.job(
                        "127.0.0.1:9092",
                        "t",
                        2,
                        10,
                        JobConfig.SyncMode.SYNC,
                        OuterOptimizer.AVERAGE,
                        0,
                        64,
                        1000,
                        0,
                        "");
        assertThatThrownBy(
                        () ->
                                new JobConfig(
                                        valid.model(),
                                        "shakespeare",
                                        0,
                                        0,
                                        JobConfig.SyncMode.SYNC,
                                        OuterOptimizer.AVERAGE,
                                        0.7,
                                        0.9,
                                        1000,
                                        2_000_000,
                                        1,
                                        "",
                                        List.of(),
                                        null,
                                        "yesterday",
                                        "g",
                                        "m",
                                        "l",
                                        "s",
                                        "p",
                                        "a",
                                        "d",
                                        0,
                                        JobConfig.Pacing.CONTINUOUS,
                                        1,
                                        -1,
                                        10,
                                        0,
                                        0,
                                        1,
                                        1,
                                        1,
                                        1,
                                        1,
                                        0,
                                        "leveldb",
                                        "",
                                        1,
                                        -1))
                .hasMessageContaining("replicas must be >= 1")
                .hasMessageContaining("sync_every must be >= 1")
                .hasMessageContaining("chunk_size")
                .hasMessageContaining("bootstrap_servers is required")
                .hasMessageContaining("either text topics or a text topic pattern")
                .hasMessageContaining("starting_offsets")
                .hasMessageContaining("max_steps")
                .hasMessageContaining("buffer_tokens")
                .hasMessageContaining("max_record_bytes")
                .hasMessageContaining("prompt_queue")
                .hasMessageContaining("stride")
                .hasMessageContaining("state_backend")
                .hasMessageContaining("fail_at_step");
    }
}
