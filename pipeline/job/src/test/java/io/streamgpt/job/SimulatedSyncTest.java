package io.streamgpt.job;

import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.replica.SimulatedStep;
import io.streamgpt.model.Gpt;

import ai.djl.Device;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole job with simulated steps ({@code --simulated-step-ms}): each step of replica r shifts
 * every parameter by delta * (r + 1), delta = 2^-12, so with 2 replicas, K = 2 and plain SYNC
 * averaging every global model of round R is the initial model + R * 2 * delta * 1.5, exactly up to
 * float rounding: the sync path (chunks, averager, model topic, broadcast) changes nothing else.
 */
class SimulatedSyncTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static EmbeddedKafka kafka;
    private static String text;
    private static float[] initial;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        text =
                Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8)
                        .substring(0, 20_000);
        try (Gpt model =
                Gpt.create(
                        TestConfigs.TINY_MODEL, TestConfigs.TINY_TRAINING.seed(), Device.cpu())) {
            initial = model.parameterValues();
        }
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @ParameterizedTest
    @EnumSource(PayloadEncoding.class)
    void everyGlobalModelIsTheInitialOneShiftedByTheClosedForm(PayloadEncoding encoding)
            throws Exception {
        // the shift per round, K x delta x (r + 1) = 2/4096 or 4/4096, is exact in bf16, and in
        // int8 every value of a chunk is the same, so it maps to q = 127 exactly: compressed
        // rounds reach the same models up to float32 rounding of base + delta
        assertGlobalModelsFollowTheClosedForm(s -> s.with(SyncConfig.ENCODING, encoding), 1e-6);
    }

    @Test
    void twoModelSourceSubtasksDeliverTheSameGlobalModels() throws Exception {
        // the tiny model's 20 chunks spread over the model topic's 4 partitions, 2 per subtask:
        // each replica assembles every round from both subtasks' broadcasts
        assertGlobalModelsFollowTheClosedForm(
                s -> s.with(SyncConfig.MODEL_SOURCE_PARALLELISM, 2), 1e-6);
    }

    @Test
    void overlapReachesTheSameGlobalModelsWithOneRoundInFlight() throws Exception {
        // rounds take longer than K = 2 steps of 1 ms: each replica holds round r + 1 until round r
        // is back, then sends global_r + (local - sent_r) = global_r + its 2 steps, so round r + 1
        // averages to global_r + 3 / 4096 as in SYNC, whenever the merge happened
        assertGlobalModelsFollowTheClosedForm(
                s -> s.with(SyncConfig.MODE, SyncConfig.Mode.OVERLAP), 1e-6);
    }

    /** Runs 2 replicas x 10 simulated steps (5 rounds of K = 2) and checks each global model. */
    private static void assertGlobalModelsFollowTheClosedForm(
            UnaryOperator<SyncConfig> scheme, double tolerance) throws Exception {
        JobConfig config =
                TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix())
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, 2)
                                                .with(ReplicaConfig.MAX_STEPS, 10L)
                                                .with(ReplicaConfig.SIMULATED_STEP_MS, 1L))
                        .withSync(
                                s ->
                                        scheme.apply(
                                                s.with(SyncConfig.EVERY, 2)
                                                        .with(SyncConfig.TIMEOUT_MS, 30_000L)))
                        .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 4));
        TestJobs.createTopics(config);
        TestJobs.feed(config, text);
        JobClient job =
                TestJobs.start(
                        config,
                        null,
                        loop ->
                                assertThat(loop.globalModel().getParallelism())
                                        .as("model source subtasks")
                                        .isEqualTo(config.sync().modelSourceParallelism()));
        try {
            Map<String, float[]> models = Map.of();
            long deadline = System.currentTimeMillis() + 120_000;
            while (!models.containsKey("0:5") && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
                models = TestJobs.globalModels(config);
            }
            assertThat(models).containsKeys("0:1", "0:2", "0:3", "0:4", "0:5");
            for (long round = 1; round <= 5; round++) {
                float[] global = models.get("0:" + round);
                // R * K * delta * (N + 1) / 2 = R * 2 * 2^-12 * 1.5 = R * 3 / 4096
                double shift = round * 3.0 / 4096;
                assertThat(SimulatedStep.shiftAfter(round, 2, 2)).isEqualTo(shift);
                for (int i = 0; i < global.length; i++) {
                    assertThat((double) global[i])
                            .as("round %d, parameter %d", round, i)
                            .isCloseTo(
                                    initial[i] + shift,
                                    org.assertj.core.api.Assertions.within(tolerance));
                }
            }
        } finally {
            TestJobs.cancel(job);
        }
    }

    /**
     * F = 2, K = 4: a round every 2 steps, odd rounds carry the second half of the chunks, even
     * ones the first. Every step stays in the local model (the merge is global + (local - sent)),
     * so what a replica sends in round r is the initial model + r x 2 steps of its shift, and the
     * whole model as of round R holds in each half the average of its newest round r_f <= R:
     * initial + r_f x 2 x delta x 1.5. With int8 deltas every round from round 3 on (each
     * fragment's second round and later) is a delta from the fragment's previous round (r - 2);
     * every value of a chunk moves by the same shift, so q = 127 and the models match up to float32
     * rounding of base + delta (within the 1e-6 tolerance).
     */
    @ParameterizedTest
    @EnumSource(
            value = PayloadEncoding.class,
            names = {"FP32", "INT8"})
    void withTwoFragmentsEachHalfIsTheClosedFormOfItsNewestRound(PayloadEncoding encoding)
            throws Exception {
        JobConfig config =
                TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix())
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, 2)
                                                .with(ReplicaConfig.MAX_STEPS, 10L)
                                                .with(ReplicaConfig.SIMULATED_STEP_MS, 1L))
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, 4)
                                                .with(SyncConfig.FRAGMENTS, 2)
                                                .with(SyncConfig.ENCODING, encoding)
                                                .with(SyncConfig.TIMEOUT_MS, 30_000L))
                        .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 4));
        TestJobs.createTopics(config);
        TestJobs.feed(config, text);
        JobClient job = TestJobs.start(config, null, loop -> {});
        try {
            io.streamgpt.connectors.chunks.Fragments fragments =
                    io.streamgpt.connectors.chunks.Fragments.of(
                            2, initial.length, config.sync().chunkSize());
            int secondHalfChunks = fragments.endChunk(1) - fragments.firstChunk(1);
            long deadline = System.currentTimeMillis() + 120_000;
            while (TestJobs.globalChunksOfRound(config, 5) < secondHalfChunks) { // round 5: odd
                assertThat(System.currentTimeMillis()).as("round 5 in time").isLessThan(deadline);
                Thread.sleep(200);
            }
            int half = fragments.firstValue(1, config.sync().chunkSize());
            for (long round = 2; round <= 5; round++) {
                float[] whole = TestJobs.wholeModel(config, 0, round);
                long odd = round % 2 == 1 ? round : round - 1; // second half's newest round
                long even = round % 2 == 0 ? round : round - 1; // first half's
                for (int i = 0; i < whole.length; i++) {
                    long newest = i < half ? even : odd;
                    // r_f x K / F x delta x (N + 1) / 2 = r_f x 2 x 2^-12 x 1.5
                    double shift = SimulatedStep.shiftAfter(newest, 2, 2);
                    assertThat((double) whole[i])
                            .as("as of round %d, parameter %d (round %d)", round, i, newest)
                            .isCloseTo(
                                    initial[i] + shift,
                                    org.assertj.core.api.Assertions.within(1e-6));
                }
            }
        } finally {
            TestJobs.cancel(job);
        }
    }
}
