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
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.model.FloatArrays;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failures while the job runs on Kafka + a MiniCluster: a replica that throws, a broker that goes
 * away. The job restarts from its last checkpoint, and what it trained on and counted stays exact.
 */
class FaultToleranceTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(4)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static final int TOKENS_PER_STEP =
            TestConfigs.TINY_TRAINING.batchSize() * TestConfigs.TINY_MODEL.blockSize();

    private static EmbeddedKafka kafka;
    private static Vocabulary vocabulary;
    private static String corpus;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        vocabulary = Vocabulary.named("shakespeare");
        corpus = Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    /** Feeds the corpus from where the last feed stopped, a slice every 100 ms, until closed. */
    private static final class SteadyFeed implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicInteger fed;
        private final Thread thread;
        private volatile Exception failure;

        SteadyFeed(JobConfig config, int from, int slice) {
            fed = new AtomicInteger(from);
            thread =
                    new Thread(
                            () -> {
                                while (running.get()) {
                                    String text = corpus.substring(fed.get(), fed.get() + slice);
                                    try {
                                        TestJobs.feed(config, text);
                                        fed.addAndGet(slice);
                                        Thread.sleep(100);
                                    } catch (Exception e) {
                                        failure = e; // close() makes it the test's
                                        return;
                                    }
                                }
                            },
                            "steady-feed");
            thread.start();
        }

        /** Characters fed from the corpus start, once stopped. */
        int fed() {
            return fed.get();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
            if (failure != null) {
                throw new AssertionError(
                        "the steady feed failed after " + fed.get() + " characters", failure);
            }
        }
    }

    /**
     * Tokens fed in one partition cut into windows of block+1 tokens every block tokens: each at
     * position k * block, once, the held-out ones included.
     */
    private static void assertEveryWindowExactlyOnce(List<Long> positions, int tokens) {
        int width = TestConfigs.TINY_MODEL.blockSize() + 1;
        int stride = TestConfigs.TINY_MODEL.blockSize();
        int expected = (tokens - width) / stride + 1;
        assertThat(positions)
                .as("windows")
                .hasSize(expected)
                .doesNotHaveDuplicates()
                .allMatch(p -> p % stride == 0 && p >= 0 && p <= (long) (expected - 1) * stride);
    }

    /**
     * With streamed fragments (F = 2, K = 10) rounds come every K / F = 5 steps as without them at
     * K = 5, each carrying half the chunks; the restore must resend per fragment. With int8 deltas
     * too: a restored replica's first round of each fragment is float32 (a new generation, whose
     * global model the averager does not keep yet), the later ones deltas from that fragment's
     * previous round.
     */
    @ParameterizedTest(name = "{0} fragment(s), {1}")
    @CsvSource({"1, FP32", "2, FP32", "2, INT8"})
    void aReplicaFailureRestartsFromTheLastCheckpointAndLosesOrRepeatsNothing(
            int fragments, PayloadEncoding encoding, @TempDir Path dir) throws Exception {
        int failAt = 200;
        int syncEvery = 5 * fragments;
        int stepsPerRound = 5;
        JobConfig config =
                TestJobs.with(
                        TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix())
                                .withReplicas(r -> r.with(ReplicaConfig.COUNT, 2))
                                .withSync(
                                        s ->
                                                s.with(SyncConfig.EVERY, syncEvery)
                                                        .with(SyncConfig.FRAGMENTS, fragments)
                                                        .with(SyncConfig.ENCODING, encoding)
                                                        .with(SyncConfig.TIMEOUT_MS, 30_000L))
                                .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8))
                                .withCheckpoints(
                                        c ->
                                                c.with(CheckpointConfig.INTERVAL_MS, 300L)
                                                        .with(
                                                                CheckpointConfig.DIRECTORY,
                                                                dir.toUri().toString())),
                        20,
                        100,
                        0,
                        failAt);
        TestJobs.createTopics(config);
        TestJobs.feed(
                config, corpus.substring(0, 20_000)); // both replicas have text from the first step
        AtomicReference<CloseableIterator<Long>> windowResults = new AtomicReference<>();
        AtomicReference<CloseableIterator<TestJobs.Sent>> contributionResults =
                new AtomicReference<>();
        JobClient job =
                TestJobs.start(
                        config,
                        null,
                        loop -> {
                            // Collect sinks are exactly-once under exactly-once checkpoints: what a
                            // restore rolls back is never seen.
                            windowResults.set(
                                    loop.trainWindows()
                                            .union(loop.heldOutWindows())
                                            .map(TokenWindow::position)
                                            .collectAsync());
                            contributionResults.set(
                                    loop.contributions()
                                            .filter(c -> TestJobs.headsItsRound(c, fragments))
                                            .map(TestJobs.Sent::of)
                                            .collectAsync());
                        });
        TestJobs.Drained<Long> windows = TestJobs.drain(windowResults.get());
        TestJobs.Drained<TestJobs.Sent> contributions = TestJobs.drain(contributionResults.get());
        int fed;
        List<Reports.LossRecord> losses;
        try {
            try (SteadyFeed feed =
                    new SteadyFeed(
                            config, 20_000, 1_000)) { // text keeps arriving across the failure
                losses =
                        TestJobs.readLosses(
                                config, r -> r.generation() >= 1 && r.step() >= failAt + 60);
                feed.close();
                fed = feed.fed();
            }
            int expectedWindows = (fed - 17) / 16 + 1;
            assertEveryWindowExactlyOnce(
                    TestJobs.await(windows, w -> w.size() >= expectedWindows), fed);
            List<TestJobs.Sent> seen =
                    TestJobs.await(
                            contributions,
                            c -> c.stream().filter(x -> x.generation() == 1).count() >= 2 * 8);
            Map<String, float[]> globals = TestJobs.globalModels(config);

            // one restart: generation 1 follows generation 0, and the injected failure did not fire
            // again
            assertThat(losses).extracting(Reports.LossRecord::generation).containsOnly(0, 1);
            for (int replica = 0; replica < 2; replica++) {
                int r = replica;
                List<TestJobs.Sent> mine = seen.stream().filter(c -> c.replica() == r).toList();
                TestJobs.Sent firstAfter =
                        mine.stream().filter(c -> c.generation() == 1).findFirst().orElseThrow();
                TestJobs.Sent lastBefore =
                        mine.stream()
                                .filter(c -> c.generation() == 0)
                                .reduce((a, b) -> b)
                                .orElseThrow();
                // it resumed at its checkpointed step, before the failure: the steps since were
                // repeated
                assertThat(firstAfter.round())
                        .as("replica %d resumes", r)
                        .isBetween(lastBefore.round(), lastBefore.round() + 1)
                        .isLessThanOrEqualTo(failAt / stepsPerRound);
                for (int i = 1; i < mine.size(); i++) {
                    TestJobs.Sent previous = mine.get(i - 1);
                    TestJobs.Sent c = mine.get(i);
                    if (fragments == 1) {
                        assertThat(c.step()).isEqualTo(c.round() * stepsPerRound);
                    } else { // a round in flight at the checkpoint is resent from a later step
                        assertThat(c.step())
                                .isBetween(
                                        c.round() * stepsPerRound, (c.round() + 1) * stepsPerRound);
                    }
                    assertThat(c.tokens())
                            .as("trained tokens, counted once")
                            .isEqualTo(c.step() * TOKENS_PER_STEP);
                    // consecutive rounds; at the restore the round it was waiting for may be sent
                    // again
                    assertThat(c.round() - previous.round())
                            .as("replica %d after round %d", r, previous.round())
                            .isBetween(c.generation() == previous.generation() ? 1L : 0L, 1L);
                    // (with fragments a round starts from a local model with one fragment merged)
                    if (fragments == 1 && c.generation() == 1 && previous.generation() == 1) {
                        // trained from generation 1's average of the round before, never from a
                        // stale generation-0 one
                        float[] global = globals.get("1:" + (c.round() - 1));
                        assertThat(global)
                                .as("global round %d of generation 1", c.round() - 1)
                                .isNotNull();
                        assertThat(c.baseChecksum()).isEqualTo(FloatArrays.crc32(global));
                    }
                }
            }

            // validation loss after the restore no worse than before the failure (within 0.05; it
            // is still
            // falling over the up to eval_interval steps between the two records)
            Reports.LossRecord before =
                    losses.stream()
                            .filter(r -> r.generation() == 0)
                            .max(Comparator.comparingLong(Reports.LossRecord::step))
                            .orElseThrow();
            Reports.LossRecord after =
                    losses.stream()
                            .filter(r -> r.generation() == 1 && r.step() >= before.step())
                            .findFirst()
                            .orElseThrow();
            System.out.printf(
                    "failure at step %d: val loss %.4f at step %d before, %.4f at step %d after the"
                            + " restore%n",
                    failAt, before.valLoss(), before.step(), after.valLoss(), after.step());
            assertThat(after.valLoss()).isLessThan(before.valLoss() + 0.05f);
            assertThat(losses.get(losses.size() - 1).tokens())
                    .isEqualTo(2L * losses.get(losses.size() - 1).step() * TOKENS_PER_STEP);
        } finally {
            TestJobs.cancel(job);
            windowResults.get().close();
            contributionResults.get().close();
        }
    }

    @Test
    void aBrokerDownFor30SecondsStopsNothingAndLosesNoInput(@TempDir Path dir) throws Exception {
        JobConfig config =
                TestJobs.with(
                        TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix())
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
                                                                dir.toUri().toString())),
                        20,
                        100,
                        0,
                        0);
        TestJobs.createTopics(config);
        TestJobs.feed(config, corpus.substring(0, 20_000));
        AtomicReference<CloseableIterator<Long>> windowResults = new AtomicReference<>();
        JobClient job =
                TestJobs.start(
                        config,
                        null,
                        loop ->
                                windowResults.set(
                                        loop.trainWindows()
                                                .union(loop.heldOutWindows())
                                                .map(TokenWindow::position)
                                                .collectAsync()));
        TestJobs.Drained<Long> windows = TestJobs.drain(windowResults.get());
        try {
            List<Reports.LossRecord> before = TestJobs.readLosses(config, r -> r.step() >= 60);
            Reports.LossRecord lastBefore = before.get(before.size() - 1);
            long down = System.nanoTime();
            kafka.stop();
            Thread.sleep(30_000); // the outage, the only long wait of the suite
            kafka.restart();
            long up = System.nanoTime();
            TestJobs.feed(
                    config,
                    corpus.substring(
                            20_000, 40_000)); // text sent after the outage is trained on too
            List<Reports.LossRecord> losses =
                    TestJobs.readLosses(config, r -> r.step() >= lastBefore.step() + 100);
            long resumed = System.nanoTime();
            Reports.LossRecord last = losses.get(losses.size() - 1);
            System.out.printf(
                    "broker down %.1f s; step %d (val loss %.4f) before, step %d (val loss %.4f)"
                            + " %.1f s after it came back; generations %s%n",
                    (up - down) / 1e9,
                    lastBefore.step(),
                    lastBefore.valLoss(),
                    last.step(),
                    last.valLoss(),
                    (resumed - up) / 1e9,
                    losses.stream().map(Reports.LossRecord::generation).distinct().toList());

            assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
            assertThat(last.valLoss())
                    .as("the loss keeps falling")
                    .isLessThan(lastBefore.valLoss());
            int expectedWindows = (40_000 - 17) / 16 + 1;
            assertEveryWindowExactlyOnce(
                    TestJobs.await(windows, w -> w.size() >= expectedWindows), 40_000);
        } finally {
            kafka.restart(); // in case the test failed while it was down
            TestJobs.cancel(job);
            windowResults.get().close();
        }
    }
}
