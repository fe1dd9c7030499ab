package io.streamgpt.job;

import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole job on a real in-JVM Kafka broker and a Flink MiniCluster, with a tiny model. */
class StreamingTrainerTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(4)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static EmbeddedKafka kafka;
    private static Vocabulary vocabulary;
    private static byte[] corpus;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        vocabulary = Vocabulary.named("shakespeare");
        String text = Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8);
        corpus = text.substring(0, 60_000).getBytes(StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static JobConfig prepare(JobConfig config) throws Exception {
        StreamingTrainerJob.createTopics(config);
        TopicAdmin.ensureTopics(
                config.kafka().clientSettings(),
                List.of(new TopicAdmin.TopicSpec(config.topics().text().get(0), 1, Map.of())));
        try (TextFeeder feeder =
                new TextFeeder(
                        config.kafka().clientSettings(), config.topics().text().get(0), 2048)) {
            feeder.feed(new ByteArrayInputStream(corpus), sent -> {});
        }
        return config;
    }

    private static String prefix() {
        return "t" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void lossFallsAndSyncedReplicasStayBitwiseEqual() throws Exception {
        JobConfig config =
                prepare(
                        TestConfigs.tiny(kafka.bootstrapServers(), prefix())
                                .withReplicas(
                                        r ->
                                                r.with(ReplicaConfig.COUNT, 2)
                                                        .with(ReplicaConfig.MAX_STEPS, 100L))
                                .withSync(
                                        s ->
                                                s.with(SyncConfig.EVERY, 1)
                                                        .with(SyncConfig.TIMEOUT_MS, 30_000L))
                                .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8)));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamingTrainerJob.Loop loop = StreamingTrainerJob.wire(env, config);
        CloseableIterator<String> bases =
                loop.contributions()
                        .filter(c -> c.chunk() == 0)
                        .map(c -> c.round() + ":" + c.replica() + ":" + c.baseChecksum())
                        .collectAsync();
        JobClient job = env.executeAsync("sync test");
        try {
            List<Reports.LossRecord> losses = readLosses(config, r -> r.step() >= 100);
            Map<Long, Map<Integer, Long>> baseByRound = new HashMap<>();
            while (baseByRound.size() < 100
                    || baseByRound.values().stream().anyMatch(m -> m.size() < 2)) {
                String[] f = bases.next().split(":");
                baseByRound
                        .computeIfAbsent(Long.parseLong(f[0]), r -> new HashMap<>())
                        .put(Integer.parseInt(f[1]), Long.parseLong(f[2]));
                if (baseByRound.size() >= 100
                        && baseByRound.get(100L) != null
                        && baseByRound.get(100L).size() == 2) {
                    break;
                }
            }
            // one replica per subtask, both training
            assertThat(baseByRound.get(1L).keySet()).containsExactlyInAnyOrder(0, 1);
            // K=1, sync, plain averaging: every round starts from the same parameters on both
            // replicas
            for (long round = 1; round <= 100; round++) {
                Map<Integer, Long> base = baseByRound.get(round);
                assertThat(base).as("round %d", round).hasSize(2);
                assertThat(base.get(0)).as("round %d", round).isEqualTo(base.get(1));
            }
            assertThat(baseByRound.get(2L).get(0)).isNotEqualTo(baseByRound.get(1L).get(0));

            Reports.LossRecord first = TestJobs.firstWithValLoss(losses);
            Reports.LossRecord last = losses.get(losses.size() - 1);
            assertThat(last.step()).isEqualTo(100);
            assertThat(last.valLoss())
                    .isLessThan(first.valLoss() - 0.2f)
                    .isLessThan((float) Math.log(65) - 1.0f);
            assertThat(last.replicaTrainLoss()).hasSize(2).doesNotContainNull();
            assertThat(last.tokens()).isEqualTo(2L * 100 * 8 * 16);
        } finally {
            TestJobs.cancel(job);
            bases.close();
        }
    }

    @Test
    void aStarvedReplicaDoesNotStallTraining() throws Exception {
        // every window goes to one replica: the other never sees data
        JobConfig config =
                prepare(
                        TestConfigs.tiny(kafka.bootstrapServers(), prefix())
                                .withReplicas(
                                        r ->
                                                r.with(ReplicaConfig.COUNT, 2)
                                                        .with(ReplicaConfig.MAX_STEPS, 60L))
                                .withSync(
                                        s ->
                                                s.with(SyncConfig.EVERY, 5)
                                                        .with(SyncConfig.TIMEOUT_MS, 300L))
                                .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 1_000_000)));
        JobClient job = startJob(config, null);
        try {
            List<Reports.LossRecord> losses = readLosses(config, r -> r.step() >= 60);
            Reports.LossRecord last = losses.get(losses.size() - 1);
            assertThat(last.step()).isEqualTo(60);
            assertThat(last.replicaTrainLoss()).hasSize(2).containsOnlyOnce((Float) null);
            assertThat(last.valLoss()).isLessThan(TestJobs.firstWithValLoss(losses).valLoss());
        } finally {
            TestJobs.cancel(job);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hashmap", "rocksdb"})
    void aJobRestoredFromASavepointContinuesItsStepsAndLoss(String stateBackend, @TempDir Path dir)
            throws Exception {
        JobConfig config =
                prepare(
                        TestConfigs.tiny(kafka.bootstrapServers(), prefix())
                                .withReplicas(r -> r.with(ReplicaConfig.COUNT, 2))
                                .withSync(
                                        s ->
                                                s.with(SyncConfig.EVERY, 5)
                                                        .with(SyncConfig.TIMEOUT_MS, 30_000L))
                                .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8))
                                .withCheckpoints(
                                        c ->
                                                c.with(CheckpointConfig.INTERVAL_MS, 500L)
                                                        .with(
                                                                CheckpointConfig.DIRECTORY,
                                                                dir.resolve("checkpoints")
                                                                        .toUri()
                                                                        .toString())
                                                        .with(
                                                                CheckpointConfig.STATE_BACKEND,
                                                                stateBackend)));
        JobClient job = startJob(config, null);
        String savepoint;
        Reports.LossRecord before;
        try {
            List<Reports.LossRecord> losses = readLosses(config, r -> r.step() >= 80);
            before = losses.get(losses.size() - 1);
        } finally {
            savepoint =
                    job.stopWithSavepoint(
                                    false,
                                    dir.resolve("savepoints").toUri().toString(),
                                    SavepointFormatType.CANONICAL)
                            .get(120, TimeUnit.SECONDS);
        }
        JobClient restored = startJob(config, savepoint);
        try {
            // the restored job writes generation 1 (the old one may still have written a record
            // while stopping)
            List<Reports.LossRecord> after = readLosses(config, r -> r.generation() >= 1);
            Reports.LossRecord first = after.get(after.size() - 1);
            assertThat(first.generation()).isEqualTo(1);
            assertThat(first.step()).isGreaterThan(before.step());
            assertThat(first.tokens()).isGreaterThan(before.tokens());
            assertThat(first.valLoss())
                    .isLessThan(before.valLoss() + 0.25f)
                    .isLessThan((float) Math.log(65) - 0.8f);
        } finally {
            TestJobs.cancel(restored);
        }
    }

    private static JobClient startJob(JobConfig config, String restoreFrom) throws Exception {
        Configuration conf = StreamingTrainerJob.configuration(config);
        if (restoreFrom != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(2);
        StreamingTrainerJob.enableCheckpointing(env, config);
        StreamingTrainerJob.build(env, config);
        return env.executeAsync("restore test");
    }

    static List<Reports.LossRecord> readLosses(
            JobConfig config, Predicate<Reports.LossRecord> until) {
        return LossReader.readUntil(
                config.kafka().clientSettings(),
                config.topics().losses(),
                until,
                Duration.ofSeconds(180));
    }
}
