package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.job.sync.OuterOptimizer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JobConfigTest {

    @Test
    void theDefaultsAreTheCpuPresetOnShakespeareWithTwoReplicasAtKTen() {
        JobConfig config = JobConfig.defaults();
        assertThat(config.model().nLayer()).isEqualTo(4);
        assertThat(config.model().vocabSize()).isEqualTo(65);
        assertThat(config.training().batchSize()).isEqualTo(12);
        assertThat(config.replicas().count()).isEqualTo(2);
        assertThat(config.sync().every()).isEqualTo(10);
        assertThat(config.kafka().bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(config.topics().text()).containsExactly("text");
        assertThat(config.stride()).isEqualTo(64); // 0 means block_size
        // 2001 parameters in chunks of 1000: 1000 + 1000 + 1
        assertThat(
                        config.withSync(s -> s.with(SyncConfig.CHUNK_SIZE, 1000))
                                .sync()
                                .chunkCount(2001))
                .isEqualTo(3);
    }

    @Test
    void aTestChangesOneSettingWithAWither() {
        JobConfig config =
                JobConfig.defaults()
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, 5)
                                                .with(SyncConfig.MODE, SyncConfig.Mode.OVERLAP));
        assertThat(config.sync().every()).isEqualTo(5);
        assertThat(config.sync().mode()).isEqualTo(SyncConfig.Mode.OVERLAP);
        assertThat(config.sync().chunkSize()).isEqualTo(JobConfig.defaults().sync().chunkSize());
    }

    @Test
    void argumentsRoundTrip() {
        JobConfig config =
                JobConfig.parse(
                        Map.of(
                                "preset", "reference",
                                "n-layer", "2",
                                "replicas", "3",
                                "outer-optimizer", "nesterov",
                                "text-topic-pattern", "logs-.*",
                                "checkpoint-dir", "file:///tmp/c"));
        assertThat(config.model().nLayer()).isEqualTo(2);
        assertThat(config.model().nEmbd()).isEqualTo(384);
        assertThat(config.training().batchSize()).isEqualTo(64);
        assertThat(config.sync().outerOptimizer()).isEqualTo(OuterOptimizer.NESTEROV);
        assertThat(config.topics().text()).isEmpty(); // a pattern replaces the default list
        assertThat(JobConfig.fromArguments(config.toArguments().toArray(String[]::new)))
                .isEqualTo(config);
        assertThat(config.describe()).contains("replicas", "3", "sync-every", "outer-optimizer");
        for (Param<?> param : config.settings().keySet()) {
            assertThat(config.describe()).contains(param.name());
        }
    }

    @Test
    void invalidSettingsAreAllReportedInOneMessage() {
        assertThatThrownBy(
                        () ->
                                JobConfig.parse(
                                        Map.of(
                                                "replicas", "0",
                                                "sync-every", "0",
                                                "chunk-size", "2000000",
                                                "bootstrap-servers", " ",
                                                "starting-offsets", "yesterday",
                                                "max-steps", "-1",
                                                "max-record-bytes", "0",
                                                "prompt-queue", "0",
                                                "state-backend", "leveldb",
                                                "fail-at-step", "-1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid job config: ")
                .hasMessageContaining("replicas must be >= 1, got 0")
                .hasMessageContaining("sync-every must be >= 1, got 0")
                .hasMessageContaining("chunk-size must be in [1, 200000], got 2000000")
                .hasMessageContaining("bootstrap-servers must be non-empty")
                .hasMessageContaining(
                        "starting-offsets must be earliest, committed, latest or"
                                + " timestamp:EPOCH_MS, got yesterday")
                .hasMessageContaining("max-steps must be >= 0, got -1")
                .hasMessageContaining("max-record-bytes must be >= 1")
                .hasMessageContaining("prompt-queue must be >= 1")
                .hasMessageContaining("state-backend must be one of hashmap, rocksdb, got leveldb")
                .hasMessageContaining("fail-at-step must be >= 0");
        assertThatThrownBy(() -> JobConfig.parse(Map.of("buffer-tokens", "64", "stride", "100")))
                .hasMessageContaining("buffer-tokens must exceed block-size, got 64")
                .hasMessageContaining("stride must be in [1, block-size + 1], got 100");
        assertThatThrownBy(() -> JobConfig.parse(Map.of("text-topics", "streamgpt-model")))
                .hasMessageContaining("text topics must not be the job's own topics");
        assertThatThrownBy(() -> JobConfig.fromArguments("--no-such=1"))
                .hasMessage("unknown job setting --no-such");
    }

    @Test
    void streamedFragmentsMustDivideKFitTheModelsChunksAndSendFloat32() {
        assertThat(JobConfig.parse(Map.of("sync-fragments", "5")).sync().stepsPerRound())
                .as("K = 10 in 5 fragments: a round every 2 steps")
                .isEqualTo(2);
        assertThatThrownBy(() -> JobConfig.parse(Map.of("sync-fragments", "3")))
                .hasMessageContaining("sync-fragments (3) must divide sync-every (10)");
        assertThatThrownBy(
                        () ->
                                JobConfig.parse(
                                        Map.of("sync-fragments", "10", "chunk-size", "200000")))
                .as("the cpu preset's ~0.8M parameters are 5 chunks of 200,000")
                .hasMessageContaining("sync-fragments must not exceed the model's");
        assertThat(
                        JobConfig.parse(Map.of("sync-fragments", "2", "sync-encoding", "INT8"))
                                .sync()
                                .fragments())
                .as("fragments send compressed deltas too")
                .isEqualTo(2);
    }

    @Test
    void everySectionRecordHasOneSettingPerComponentInOrder() {
        List<Class<? extends Record>> records =
                List.of(
                        KafkaConfig.class,
                        TopicsConfig.class,
                        ReplicaConfig.class,
                        SyncConfig.class,
                        InputConfig.class,
                        EvaluationConfig.class,
                        ServingConfig.class,
                        CheckpointConfig.class,
                        FaultConfig.class);
        for (Class<? extends Record> type : records) {
            assertThat(io.streamgpt.config.Params.defaults(type, paramsOf(type)))
                    .as(type.getSimpleName() + " defaults")
                    .isNotNull();
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Param<?>> paramsOf(Class<?> type) {
        try {
            return (List<Param<?>>) type.getField("PARAMS").get(null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
