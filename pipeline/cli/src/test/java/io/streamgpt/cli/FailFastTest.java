package io.streamgpt.cli;

import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.Vocabulary;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Invalid options and a Kafka that cannot serve the job fail before anything is created, fed or
 * trained: exit code 2 (1 for a Kafka that does not answer) and one line on stderr. (A wrongly
 * passing check would start the job: the timeout turns that into a failure.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FailFastTest {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    /** Exit code 2, one line on stderr that says {@code expected}, nothing started. */
    private static void assertFailsFast(CliRun r, String expected) {
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.err())
                .startsWith("streamgpt: ")
                .contains(expected)
                .endsWith(System.lineSeparator());
        assertThat(r.err().strip()).doesNotContain("\n");
        assertThat(r.out()).doesNotContain("Kafka broker").doesNotContain("running");
    }

    static Stream<Arguments> invalidOptions() {
        return Stream.of(
                Arguments.of(
                        List.of("--block-size", "-1"),
                        "invalid job config: model config: block-size must be >= 1, got -1"),
                Arguments.of(List.of("--batch-size", "-8"), "batch-size must be >= 1, got -8"),
                Arguments.of(
                        List.of("--n-embd", "30", "--n-head", "4"),
                        "n-embd (30) must be divisible by n-head (4)"),
                Arguments.of(
                        List.of("--replicas", "-2"),
                        "invalid job config: replicas must be >= 1, got -2"),
                Arguments.of(
                        List.of("--chunk-size", "-5"), "chunk-size must be in [1, 200000], got -5"),
                Arguments.of(
                        List.of("--buffer-tokens", "-1"), "buffer-tokens must be >= 2, got -1"),
                Arguments.of(
                        List.of("--max-record-bytes", "-1"),
                        "max-record-bytes must be >= 1, got -1"),
                Arguments.of(List.of("--sync-every", "0"), "sync-every must be >= 1, got 0"),
                Arguments.of(
                        List.of("--text-topics", "a,,b"), "text topic names must not be blank"),
                Arguments.of(
                        List.of("--text-topics", ""),
                        "give either text topics or a text topic pattern"),
                Arguments.of(
                        List.of("--text-topics", "streamgpt-model"),
                        "text topics must not be the job's own topics"),
                Arguments.of(
                        List.of(
                                "--bootstrap-servers",
                                "127.0.0.1:1",
                                "--preflight-timeout-ms",
                                "0"),
                        "--preflight-timeout-ms must be >= 1, got 0"));
    }

    @ParameterizedTest
    @MethodSource("invalidOptions")
    void anInvalidOptionFailsWithOneLine(List<String> options, String expected) {
        List<String> args = new ArrayList<>(List.of("local"));
        args.addAll(options);
        assertFailsFast(CliRun.of(args.toArray(String[]::new)), expected);
    }

    /**
     * An unreachable Kafka is a state of the world, not of the options: exit 1 (not 2), still one
     * line, naming the address and the option that points elsewhere (see ExitCodesTest).
     */
    @Test
    void anUnreachableKafkaFailsWithinTheTimeout() throws Exception {
        int closed = EmbeddedKafka.freePort();
        for (String[] args :
                List.of(
                        new String[] {
                            "127.0.0.1:" + closed,
                            "cannot reach Kafka at 127.0.0.1:" + closed + " within 1 s"
                        },
                        new String[] {
                            "no-such-host.invalid:9092",
                            "cannot reach Kafka at no-such-host.invalid:9092"
                        })) {
            CliRun r =
                    CliRun.of(
                            "local",
                            "--bootstrap-servers",
                            args[0],
                            "--preflight-timeout-ms",
                            "1000");
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.err())
                    .startsWith("streamgpt: " + args[1])
                    .contains("point --bootstrap-servers elsewhere");
            assertThat(r.err().strip()).doesNotContain("\n");
            assertThat(r.out()).doesNotContain("Kafka broker").doesNotContain("running");
        }
    }

    @Test
    void aModelTopicWithTooFewPartitionsFailsBeforeAnythingIsCreated() throws Exception {
        String prefix = prefix();
        createTopic(prefix + "-model", 1, Map.of());
        CliRun r =
                CliRun.of(
                        "local",
                        "--bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--model-topic",
                        prefix + "-model",
                        "--text-topics",
                        prefix + "-text",
                        "--averager-parallelism",
                        "2",
                        "--dead-letter-topic",
                        prefix + "-dead");
        assertFailsFast(
                r,
                "model topic "
                        + prefix
                        + "-model has 1 partition(s), fewer than averager_parallelism (2)");
        assertThat(topics())
                .doesNotContain(prefix + "-text", prefix + "-dead"); // nothing created, nothing fed
    }

    @Test
    void aModelTopicWhoseMessagesAreTooSmallForAChunkFails() throws Exception {
        String prefix = prefix();
        createTopic(prefix + "-model", 4, Map.of("max.message.bytes", "100000"));
        CliRun r =
                CliRun.of(
                        "local",
                        "--bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--model-topic",
                        prefix + "-model",
                        "--text-topics",
                        prefix + "-text",
                        "--chunk-size",
                        "131072");
        assertFailsFast(
                r,
                "model topic "
                        + prefix
                        + "-model takes messages of at most 100000 bytes (max.message.bytes),"
                        + " a model chunk of chunk-size 131072 needs 524");
        assertThat(topics()).doesNotContain(prefix + "-text");
    }

    @Test
    void aDamagedModelFileFailsGenerateWithOneLine(@TempDir Path dir) throws Exception {
        GptConfig config = new GptConfig(65, 16, 1, 2, 32, 0.0);
        Path file = dir.resolve("model.bin");
        ModelFile.save(
                file,
                new ModelFile.Contents(
                        config,
                        Vocabulary.named("shakespeare"),
                        ParameterLayout.of(config).initialValues(1),
                        10));
        assertThat(CliRun.of("generate", "--model", file.toString(), "--tokens", "3").exit())
                .isZero();

        byte[] bytes = Files.readAllBytes(file);
        byte[] flipped = bytes.clone();
        flipped[flipped.length / 2] ^= 0x10;
        Files.write(file, flipped);
        assertFailsFast(
                CliRun.of("generate", "--model", file.toString()),
                "cannot load the model: " + file + " is damaged: checksum mismatch");
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 3));
        assertFailsFast(
                CliRun.of("generate", "--model", file.toString()), "is damaged: checksum mismatch");
        Files.write(file, Arrays.copyOf(bytes, 10));
        assertFailsFast(
                CliRun.of("generate", "--model", file.toString()), "is not a streamgpt model file");
        assertFailsFast(
                CliRun.of("generate", "--model", dir.resolve("missing.bin").toString()),
                "no model file");
    }

    /**
     * Creates a topic and waits until the broker lists it (creation returns before every view of it
     * is updated).
     */
    private static void createTopic(String name, int partitions, Map<String, String> configs)
            throws InterruptedException {
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(new TopicAdmin.TopicSpec(name, partitions, configs)));
        while (!topics().contains(name)) {
            Thread.sleep(20);
        }
    }

    private static Set<String> topics() {
        try (Admin admin =
                Admin.create(
                        Map.of(
                                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                kafka.bootstrapServers()))) {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String prefix() {
        return "f" + UUID.randomUUID().toString().substring(0, 8);
    }
}
