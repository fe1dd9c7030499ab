package io.streamgpt.cli;

import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.SafetensorsModel;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The model file {@code export} writes is the live model: a job that has stopped at {@code
 * --max-steps} answers a prompt through the prompts topic with exactly the text that {@code
 * generate --model} prints from the exported file, for the same prompt, sampler settings and seed.
 *
 * <p>Both paths run the same code on the same values: the responder and the command each build a
 * {@link io.streamgpt.model.Generator} session with the KV cache on the round's flat parameter
 * vector (the file stores it as float32, bit for bit), and draw from a {@link
 * io.streamgpt.model.Sampler} seeded with the request's seed. The tiny model's matrices (32 wide)
 * are far below libtorch's intra-op parallel grain, so the thread count cannot change a sum's order
 * here; the test asserts the strings equal, not merely similar.
 *
 * <p>The file also names what the model trained on: the lineage {@code export} reads from the
 * losses topic, checked against the three records fed.
 */
class ExportMatchesLiveModelTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static final long MAX_STEPS = 20;
    private static final int STEPS_PER_ROUND = 2;

    /**
     * With 2 streamed fragments (K = 4: a round every 2 steps, each half the chunks) the live model
     * and the export are both the newest round of each fragment put together: rounds 10 and 9.
     */
    @ParameterizedTest(name = "{0} fragment(s)")
    @ValueSource(ints = {1, 2})
    void generateFromTheExportedFileMatchesTheLiveAnswerOfTheSameRound(
            int fragments, @TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            // one replica, a round every 2 steps, stopping at step 20: the last round is 20 / 2 =
            // 10
            JobConfig config =
                    TestConfigs.synced(
                                    kafka.bootstrapServers(),
                                    TestJobs.prefix(),
                                    1,
                                    STEPS_PER_ROUND * fragments)
                            .withReplicas(r -> r.with(ReplicaConfig.MAX_STEPS, MAX_STEPS))
                            .withSync(s -> s.with(SyncConfig.FRAGMENTS, fragments));
            long lastRound = MAX_STEPS / STEPS_PER_ROUND;
            TestJobs.createTopics(config);
            // three records of 2,000 characters at offsets 0, 1, 2: 6,000 tokens, windows of 17
            // every 16 tokens, the last at 373 x 16 = 5,968 (not held out: 373 % 10 != 9), ending
            // at token 5,985 and completed by record 2, so the Kafka next offset is 3
            String text = Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8);
            String textPartition = config.topics().text().get(0) + "-0";
            try (TextFeeder feeder =
                    new TextFeeder(
                            config.kafka().clientSettings(), config.topics().text().get(0), 2000)) {
                for (int r = 0; r < 3; r++) {
                    feeder.sendAndWait(
                            null,
                            text.substring(2000 * r, 2000 * (r + 1))
                                    .getBytes(StandardCharsets.UTF_8),
                            Duration.ofSeconds(30));
                }
            } // 20 steps of 8 x 16 tokens need 2,560
            JobClient job = TestJobs.start(config, null, loop -> {});
            try {
                // the loss record of step 20 (every 20 steps) comes from the last round's model
                TestJobs.readLosses(config, r -> r.step() >= MAX_STEPS);
                awaitTheLiveModelOfRound(config, lastRound);
                awaitTheLineageOfRound(config, lastRound);

                String[] sampling = {
                    "--prompt",
                    "ROMEO:",
                    "--tokens",
                    "40",
                    "--temperature",
                    "0.8",
                    "--top-k",
                    "10",
                    "--seed",
                    "42"
                }; // 40 tokens after 6: past block 16, so the cached window restarts too
                CliRun live = CliRun.of(JobArgs.generateLive(config, sampling));
                assertThat(live.exit()).as(live.err()).isEqualTo(0);
                assertThat(live.err())
                        .contains(
                                "answered by the live model of round "
                                        + lastRound
                                        + " (step "
                                        + MAX_STEPS
                                        + ")");

                Path model = dir.resolve("model.bin");
                // no model options and no --sync-fragments: the job's metadata gives them
                CliRun export = CliRun.of(JobArgs.export(config, model));
                assertThat(export.exit()).as(export.err()).isEqualTo(0);
                // 1 replica x 20 steps x batch 8 x block 16 = 2,560 tokens
                Map<String, Object> lineage = ModelFile.lineage(model);
                assertThat(lineage)
                        .containsEntry("generation", 0)
                        .containsEntry("round", (int) lastRound)
                        .containsEntry("step", (int) MAX_STEPS)
                        .containsEntry("tokens", 1 * 20 * 8 * 16)
                        .containsEntry("input_offsets", Map.of(textPartition, 3))
                        .containsEntry("token_offsets", Map.of(textPartition, 5985))
                        .doesNotContainKey("lineage_round"); // the exported version's own
                assertThat(export.out()).contains("lineage: 2,560 tokens trained");
                Path safetensors = dir.resolve("model.safetensors");
                List<String> exportSafetensorsArgs = JobArgs.export(config, safetensors);
                exportSafetensorsArgs.addAll(
                        List.of(
                                "--format",
                                "safetensors",
                                "--sync-fragments",
                                String.valueOf(fragments)));
                CliRun exportSafetensors = CliRun.of(exportSafetensorsArgs); // the job's F: taken
                assertThat(exportSafetensors.exit()).as(exportSafetensors.err()).isEqualTo(0);
                List<String> wrongFragments = JobArgs.export(config, dir.resolve("wrong.bin"));
                wrongFragments.addAll(List.of("--sync-fragments", String.valueOf(fragments + 1)));
                CliRun refused = CliRun.of(wrongFragments);
                assertThat(refused.exit()).isEqualTo(2);
                assertThat(refused.err())
                        .contains(
                                "--sync-fragments "
                                        + (fragments + 1)
                                        + " does not match the job's model on "
                                        + config.topics().model()
                                        + ": its metadata says "
                                        + fragments);
                assertThat(SafetensorsModel.lineage(safetensors)).isEqualTo(lineage);
                // and import carries it into the model file it writes, as export wrote it
                Path imported = dir.resolve("imported.bin");
                CliRun importRun =
                        CliRun.of(
                                "import",
                                "--from",
                                safetensors.toString(),
                                "--out",
                                imported.toString());
                assertThat(importRun.exit()).as(importRun.err()).isEqualTo(0);
                assertThat(importRun.out()).contains("lineage: 2,560 tokens trained");
                assertThat(ModelFile.lineage(imported)).isEqualTo(lineage);
                assertThat(export.out())
                        .contains(
                                "exported round "
                                        + lastRound
                                        + " (generation 0, step "
                                        + MAX_STEPS
                                        + ", "
                                        + String.format("%,d", TestJobs.PARAMETERS)
                                        + " parameters)");

                CliRun offline =
                        CliRun.of(
                                concat(
                                        new String[] {"generate", "--model", model.toString()},
                                        sampling));
                assertThat(offline.exit()).as(offline.err()).isEqualTo(0);
                assertThat(offline.out().replace("\r", ""))
                        .startsWith("ROMEO:")
                        .hasSize(6 + 40 + 1)
                        .isEqualTo(live.out().replace("\r", ""));
            } finally {
                TestJobs.cancel(job);
            }
        }
    }

    /**
     * Asks until the responder answers with {@code round}: it reads the model topic on its own, so
     * it may adopt the last round a moment after the evaluator did.
     */
    private static void awaitTheLiveModelOfRound(JobConfig config, long round) throws Exception {
        try (PromptClient client =
                new PromptClient(
                        config.kafka().clientSettings(),
                        config.topics().prompts(),
                        config.topics().answers(),
                        Duration.ofSeconds(10))) {
            Reports.Answer answer = null;
            for (int attempt = 0; attempt < 40; attempt++) {
                answer =
                        client.ask(new PromptRequest("round-" + attempt, "A", 1, 1.0, 0, 1, 30_000))
                                .get(60, TimeUnit.SECONDS);
                if (answer.error() == null && answer.modelRound() == round) {
                    return;
                }
                Thread.sleep(250);
            }
            throw new AssertionError("the live model never reached round " + round + ": " + answer);
        }
    }

    /** Waits for the lineage record of {@code round}: it follows the round's publication. */
    private static void awaitTheLineageOfRound(JobConfig config, long round) throws Exception {
        for (int attempt = 0; attempt < 120; attempt++) {
            var lineage =
                    LossReader.lineageOf(
                            config.kafka().clientSettings(),
                            config.topics().losses(),
                            new RoundId(0, round),
                            Duration.ofSeconds(10));
            if (lineage.isPresent() && lineage.get().round() == round) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no lineage record of round " + round);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
