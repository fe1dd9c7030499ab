package io.streamgpt.cli;

import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
                    TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix())
                            .withReplicas(
                                    r ->
                                            r.with(ReplicaConfig.COUNT, 1)
                                                    .with(ReplicaConfig.MAX_STEPS, MAX_STEPS))
                            .withSync(
                                    s ->
                                            s.with(SyncConfig.EVERY, STEPS_PER_ROUND * fragments)
                                                    .with(SyncConfig.FRAGMENTS, fragments)
                                                    .with(SyncConfig.TIMEOUT_MS, 30_000L))
                            .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8));
            long lastRound = MAX_STEPS / STEPS_PER_ROUND;
            TestJobs.createTopics(config);
            TestJobs.feed(
                    config,
                    Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8)
                            .substring(0, 20_000)); // 20 steps of 8 x 16 tokens need 2,560
            JobClient job = TestJobs.start(config, null, loop -> {});
            try {
                // the loss record of step 20 (every 20 steps) comes from the last round's model
                TestJobs.readLosses(config, r -> r.step() >= MAX_STEPS);
                awaitTheLiveModelOfRound(config, lastRound);

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
                String[] live =
                        cli(
                                concat(
                                        new String[] {
                                            "generate",
                                            "--bootstrap-servers",
                                            config.kafka().bootstrapServers(),
                                            "--prompts-topic",
                                            config.topics().prompts(),
                                            "--answers-topic",
                                            config.topics().answers(),
                                            "--timeout",
                                            "30"
                                        },
                                        sampling));
                assertThat(live[0]).as(live[2]).isEqualTo("0");
                assertThat(live[2])
                        .contains(
                                "answered by the live model of round "
                                        + lastRound
                                        + " (step "
                                        + MAX_STEPS
                                        + ")");

                Path model = dir.resolve("model.bin");
                String[] export =
                        cli(
                                "export",
                                "--out",
                                model.toString(),
                                "--bootstrap-servers",
                                config.kafka().bootstrapServers(),
                                "--model-topic",
                                config.topics().model(),
                                "--model-secret",
                                config.topics().modelSecret(),
                                "--metadata-topic",
                                config.topics().metadata(),
                                "--sync-fragments",
                                String.valueOf(fragments)); // no model options
                assertThat(export[0]).as(export[2]).isEqualTo("0");
                assertThat(export[1])
                        .contains(
                                "exported round "
                                        + lastRound
                                        + " (generation 0, step "
                                        + MAX_STEPS
                                        + ", "
                                        + String.format("%,d", TestJobs.PARAMETERS)
                                        + " parameters)");

                String[] offline =
                        cli(
                                concat(
                                        new String[] {"generate", "--model", model.toString()},
                                        sampling));
                assertThat(offline[0]).as(offline[2]).isEqualTo("0");
                assertThat(offline[1].replace("\r", ""))
                        .startsWith("ROMEO:")
                        .hasSize(6 + 40 + 1)
                        .isEqualTo(live[1].replace("\r", ""));
            } finally {
                job.cancel().get(60, TimeUnit.SECONDS);
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

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String[] cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = StreamGpt.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {String.valueOf(exit), out.toString(), err.toString()};
    }
}
