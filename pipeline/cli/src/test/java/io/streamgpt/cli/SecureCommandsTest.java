package io.streamgpt.cli;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.config.TopicsConfig;

import org.apache.flink.core.execution.JobClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The commands against a secured broker (SASL_SSL + SCRAM-SHA-512, ACLs), each given the admin's
 * client config with {@code --kafka-config}: {@code acls --apply} gives a job's principal its ACLs,
 * the job runs as that principal, {@code feed} writes its text, {@code samples} and {@code
 * generate} read what the job writes. {@code submit} refuses a secret passed inline.
 */
class SecureCommandsTest {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.startSecure(0, null, null);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    /** {@code command} with the job's topic options and the admin's Kafka settings. */
    private static CliRun asAdmin(JobConfig config, String command, String... more) {
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(List.of("--bootstrap-servers", kafka.bootstrapServers()));
        args.addAll(List.of("--kafka-config", kafka.security().adminConfig().toString()));
        args.addAll(List.of(more));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void aclsFeedSamplesAndGenerateWorkWithAClientConfigAndTheJobRunsOnItsAcls(@TempDir Path dir)
            throws Exception {
        String prefix = TestJobs.prefix();
        String principal = "User:job-" + prefix;
        KafkaClientSettings job = kafka.addUser("job-" + prefix, "job-" + prefix + "-password");
        JobConfig config =
                TestConfigs.tiny(job, prefix)
                        .withReplicas(r -> r.with(ReplicaConfig.COUNT, 1))
                        .withSync(s -> s.with(SyncConfig.EVERY, 2))
                        .withEvaluation(e -> e.with(EvaluationConfig.SAMPLE_INTERVAL, 10))
                        .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8));
        TopicsConfig topics = config.topics();
        String[] topicOptions = {
            "--text-topics", topics.text().get(0),
            "--group-id", topics.groupId(),
            "--model-topic", topics.model(),
            "--metadata-topic", topics.metadata(),
            "--losses-topic", topics.losses(),
            "--samples-topic", topics.samples(),
            "--prompts-topic", topics.prompts(),
            "--answers-topic", topics.answers(),
            "--dead-letter-topic", topics.deadLetters()
        };

        CliRun printed = asAdmin(config, "acls", concat(topicOptions, "--principal", principal));
        assertThat(printed.exit()).as(printed.err()).isEqualTo(0);
        assertThat(printed.out())
                .contains(
                        "kafka-acls.sh --bootstrap-server "
                                + kafka.bootstrapServers()
                                + " --command-config "
                                + kafka.security().adminConfig()
                                + " --add --allow-principal "
                                + principal
                                + " --operation Read --operation Write --operation DescribeConfigs"
                                + " --operation Create --topic "
                                + topics.model(),
                        "--operation Read --group " + topics.groupId() + "-model");
        assertThat(printed.out().lines()).hasSize(11); // 8 topics and 3 groups, nothing else
        CliRun applied =
                asAdmin(config, "acls", concat(topicOptions, "--principal", principal, "--apply"));
        assertThat(applied.exit()).as(applied.err()).isEqualTo(0);
        // Read+Create on the text and prompts topics, Write+Create on 4 report topics, 4 on the
        // model topic, Read+Write+Create on the metadata topic, Read on 3 groups:
        // 2 + 2 + 8 + 4 + 3 + 3
        assertThat(applied.out()).contains("created 22 ACLs for " + principal);

        StreamingTrainerJob.createTopics(config); // as the job's principal: its CREATE ACLs
        Path text = dir.resolve("text.txt");
        Files.writeString(
                text,
                Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8)
                        .substring(0, 30_000));
        CliRun feed =
                asAdmin(
                        config,
                        "feed",
                        "--topic",
                        topics.text().get(0),
                        "--record-bytes",
                        "2048",
                        text.toString());
        assertThat(feed.exit()).as(feed.err()).isEqualTo(0);
        assertThat(feed.out()).containsPattern("sent \\d+ records to " + topics.text().get(0));

        JobClient running = TestJobs.start(config, null, loop -> {});
        try {
            CliRun samples = new CliRun(-1, "", "");
            long deadline = System.currentTimeMillis() + 120_000;
            while (!samples.out().contains("--- step ") && System.currentTimeMillis() < deadline) {
                Thread.sleep(1000);
                samples = asAdmin(config, "samples", "--samples-topic", topics.samples());
            }
            assertThat(samples.out())
                    .as(samples.err())
                    .containsPattern("--- step \\d+ \\(round \\d+\\) ---");

            CliRun generate =
                    asAdmin(
                            config,
                            "generate",
                            "--prompts-topic",
                            topics.prompts(),
                            "--answers-topic",
                            topics.answers(),
                            "--prompt",
                            "ROMEO:",
                            "--tokens",
                            "12",
                            "--timeout",
                            "60");
            assertThat(generate.exit()).as(generate.err()).isEqualTo(0);
            assertThat(generate.out().strip()).startsWith("ROMEO:");
            assertThat(generate.err()).contains("answered by the live model of round");
        } finally {
            TestJobs.cancel(running);
        }
    }

    @Test
    void submitRefusesASecretGivenInlineAndTheConfigNeverPrintsIt() {
        CliRun submit =
                CliRun.of(
                        "submit",
                        "--kafka-property",
                        "security.protocol=SASL_SSL",
                        "--kafka-property",
                        "sasl.jaas.config=ScramLoginModule required password=\"hunter2\";");
        assertThat(submit.exit()).isEqualTo(2);
        assertThat(submit.err())
                .contains("--kafka-property sasl.jaas.config holds a secret")
                .doesNotContain("hunter2");

        JobConfig config =
                JobConfig.defaults()
                        .withKafka(
                                k ->
                                        k.with(
                                                KafkaConfig.PROPERTIES,
                                                java.util.Map.of(
                                                        "sasl.jaas.config",
                                                        "... password=\"hunter2\";",
                                                        "ssl.enabled.protocols",
                                                        "TLSv1.2,TLSv1.3")));
        assertThat(config.describe())
                .contains("sasl.jaas.config=[hidden], ssl.enabled.protocols=TLSv1.2,TLSv1.3")
                .doesNotContain("hunter2");
        // one job argument per property, values with commas intact
        assertThat(config.toArguments())
                .contains(
                        "--kafka-property=sasl.jaas.config=... password=\"hunter2\";",
                        "--kafka-property=ssl.enabled.protocols=TLSv1.2,TLSv1.3");
        assertThat(JobConfig.fromArguments(config.toArguments().toArray(String[]::new)))
                .isEqualTo(config);
    }

    private static String[] concat(String[] first, String... more) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
