package io.streamgpt.job;

import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.FloatArrays;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stop with a savepoint, restore with another number of replicas: a replica added starts from the
 * global model at the common round, a subtask left with two replicas' state keeps both buffers and
 * token counts, the averager closes rounds with the new count, and training goes on.
 */
class RescaleTest {

    private static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(4)
                            .setConfiguration(
                                    METRICS.addToConfiguration(LoopbackCluster.configuration()))
                            .build());

    private static final int SYNC_EVERY = 5;
    private static final long TOKENS_PER_STEP =
            TestConfigs.TINY_TRAINING.batchSize() * TestConfigs.TINY_MODEL.blockSize();

    private static EmbeddedKafka kafka;
    private static Vocabulary vocabulary;
    private static String corpus;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        vocabulary = Vocabulary.named("shakespeare");
        corpus =
                Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8)
                        .substring(0, 40_000);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static JobConfig config(String prefix, int replicas, long maxSteps, Path dir) {
        return config(prefix, replicas, maxSteps, dir, 1, PayloadEncoding.FP32);
    }

    /**
     * With F fragments, K = 5 F: a round every 5 steps either way; contributions in {@code
     * encoding}.
     */
    private static JobConfig config(
            String prefix,
            int replicas,
            long maxSteps,
            Path dir,
            int fragments,
            PayloadEncoding encoding) {
        return TestJobs.with(
                TestConfigs.tiny(kafka.bootstrapServers(), prefix)
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, replicas)
                                                .with(ReplicaConfig.MAX_STEPS, (long) maxSteps))
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, SYNC_EVERY * fragments)
                                                .with(SyncConfig.FRAGMENTS, fragments)
                                                .with(SyncConfig.ENCODING, encoding)
                                                .with(SyncConfig.TIMEOUT_MS, 30_000L))
                        .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8))
                        .withCheckpoints(
                                c ->
                                        c.with(CheckpointConfig.INTERVAL_MS, 500L)
                                                .with(
                                                        CheckpointConfig.DIRECTORY,
                                                        dir.resolve("checkpoints")
                                                                .toUri()
                                                                .toString())),
                20,
                4,
                maxSteps,
                0);
    }

    /**
     * Tokens in the replay buffers of a job's replicas, once each of {@code replicas} reports it.
     */
    private static long bufferedTokens(JobID job, int replicas, long capacity)
            throws InterruptedException {
        for (int attempt = 0; attempt < 600; attempt++) {
            Map<String, ?> gauges = METRICS.findMetrics(job, ".*replica\\.\\d+\\.buffer_fill");
            if (gauges.size() == replicas) {
                return gauges.values().stream()
                        .mapToLong(
                                g ->
                                        Math.round(
                                                ((Number) ((Gauge<?>) g).getValue()).doubleValue()
                                                        * capacity))
                        .sum();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the replicas' buffer_fill gauges did not appear");
    }

    @ParameterizedTest(name = "{0} -> {1} replicas, {2} fragment(s), {3}")
    @CsvSource({"2, 3, 1, FP32", "3, 2, 1, FP32", "2, 3, 2, FP32", "2, 3, 2, INT8"})
    void aJobRestoredWithAnotherReplicaCountContinuesFromTheSameModelAndKeepsEveryToken(
            int before, int after, int fragments, PayloadEncoding encoding, @TempDir Path dir)
            throws Exception {
        String prefix = TestJobs.prefix();
        JobConfig first = config(prefix, before, 60, dir, fragments, encoding);
        TestJobs.createTopics(first);
        TestJobs.feed(first, corpus.substring(0, 20_000));

        // generation 0: every replica trains exactly 60 steps (12 rounds), then the job stops with
        // a savepoint
        JobClient job = TestJobs.start(first, null, loop -> {});
        String savepoint;
        long buffered;
        try {
            List<Reports.LossRecord> losses = TestJobs.readLosses(first, r -> r.step() >= 60);
            assertThat(losses.get(losses.size() - 1).tokens())
                    .isEqualTo(before * 60 * TOKENS_PER_STEP);
            buffered = bufferedTokens(job.getJobID(), before, first.replicas().bufferTokens());
        } finally {
            savepoint =
                    job.stopWithSavepoint(
                                    false,
                                    dir.resolve("savepoints").toUri().toString(),
                                    SavepointFormatType.CANONICAL)
                            .get(120, TimeUnit.SECONDS);
        }

        JobConfig second = config(prefix, after, 120, dir, fragments, encoding);
        AtomicReference<CloseableIterator<TestJobs.Sent>> results = new AtomicReference<>();
        JobClient restored =
                TestJobs.start(
                        second,
                        savepoint,
                        loop ->
                                results.set(
                                        loop.contributions()
                                                .filter(c -> TestJobs.headsItsRound(c, fragments))
                                                .map(TestJobs.Sent::of)
                                                .collectAsync()));
        TestJobs.Drained<TestJobs.Sent> contributions = TestJobs.drain(results.get());
        try {
            // before any new text arrives, the buffers hold what they held, spread over the new
            // replicas
            assertThat(bufferedTokens(restored.getJobID(), after, second.replicas().bufferTokens()))
                    .isEqualTo(buffered);
            TestJobs.feed(
                    second,
                    corpus.substring(20_000)); // new text for every replica, the new ones too
            List<Reports.LossRecord> losses =
                    TestJobs.readLosses(second, r -> r.generation() == 1 && r.step() >= 120);
            List<TestJobs.Sent> seen =
                    TestJobs.await(
                            contributions,
                            c -> c.stream().filter(x -> x.round() == 24).count() == after);
            Map<String, float[]> globals = TestJobs.globalModels(second);

            long expectedTokens =
                    before * 60L; // what generation 0 trained on, then each replica's steps since
            for (int replica = 0; replica < after; replica++) {
                int r = replica;
                TestJobs.Sent firstAfter =
                        seen.stream().filter(c -> c.replica() == r).findFirst().orElseThrow();
                assertThat(firstAfter.generation()).isEqualTo(1);
                if (replica >= before) {
                    // a new replica: it trained K steps from the global model of the round it
                    // joined at
                    long joined = firstAfter.round() - 1;
                    assertThat(joined).isBetween(11L, 12L);
                    assertThat(firstAfter.step()).isEqualTo(firstAfter.round() * SYNC_EVERY);
                    assertThat(firstAfter.tokens()).isEqualTo(SYNC_EVERY * TOKENS_PER_STEP);
                    // with fragments: the newest round of each fragment up to the one it joined at
                    float[] joinedModel =
                            fragments == 1
                                    ? globals.get("0:" + joined)
                                    : TestJobs.wholeModel(second, 0, joined);
                    assertThat(firstAfter.baseChecksum()).isEqualTo(FloatArrays.crc32(joinedModel));
                    expectedTokens += 120 - joined * SYNC_EVERY;
                } else {
                    // an old replica goes on from step 60, with the tokens of the replicas it took
                    // over
                    int merged = replica == 0 ? Math.max(1, before - after + 1) : 1;
                    assertThat(firstAfter.round()).isBetween(12L, 13L);
                    assertThat(firstAfter.tokens())
                            .as("replica %d", r)
                            .isEqualTo((firstAfter.step() + (merged - 1) * 60L) * TOKENS_PER_STEP);
                    expectedTokens += 120 - 60;
                }
            }
            // int8: after each replica's first float32 round per fragment, deltas went out; fp32:
            // never a delta
            assertThat(seen.stream().anyMatch(TestJobs.Sent::compressed))
                    .isEqualTo(encoding != PayloadEncoding.FP32);
            // the averager closes rounds with the new count: every replica's loss in every round of
            // generation 1
            List<Reports.LossRecord> newGeneration =
                    losses.stream().filter(l -> l.generation() == 1).toList();
            assertThat(newGeneration)
                    .isNotEmpty()
                    .allSatisfy(
                            l ->
                                    assertThat(l.replicaTrainLoss())
                                            .hasSize(after)
                                            .doesNotContainNull());
            Reports.LossRecord last = newGeneration.get(newGeneration.size() - 1);
            assertThat(last.step()).isEqualTo(120);
            assertThat(last.tokens())
                    .as("no trained token dropped or counted twice")
                    .isEqualTo(expectedTokens * TOKENS_PER_STEP);
            assertThat(last.valLoss()).isLessThan(TestJobs.firstWithValLoss(losses).valLoss());
        } finally {
            TestJobs.cancel(restored);
            results.get().close();
        }
    }
}
