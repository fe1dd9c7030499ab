package io.streamgpt.cli;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/** The streaming commands end to end: local (in-process Kafka + MiniCluster), feed, samples. */
class StreamingCommandsTest {

    private static final String[] TINY = JobArgs.tinyModel("--learning-rate", "3e-3");

    @Test
    void localTrainsShowsLossesAndSamplesAndStopsAtMaxSteps(@TempDir Path dir) throws Exception {
        Path corpus =
                Files.writeString(
                        dir.resolve("c.txt"),
                        Files.readString(Paths.shakespeare()).substring(0, 40_000));
        List<String> args =
                new java.util.ArrayList<>(
                        List.of(
                                "local",
                                "--data",
                                corpus.toString(),
                                "--max-steps",
                                "40",
                                "--sync-every",
                                "5",
                                "--eval-interval",
                                "20",
                                "--eval-iters",
                                "2",
                                "--sample-interval",
                                "20",
                                "--sample-tokens",
                                "30",
                                "--prometheus-ports",
                                "0",
                                "--checkpoint-dir",
                                dir.resolve("ck").toUri().toString()));
        args.addAll(List.of(TINY));
        CliRun r = CliRun.of(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isEqualTo(0);
        assertThat(r.out())
                .contains(
                        "Kafka broker (in-process) on 127.0.0.1:",
                        "streamgpt job config:",
                        "replicas")
                .containsPattern(
                        "step +40 \\| round +8 \\|.*train [0-9.]+ \\([0-9.]+, [0-9.]+\\) \\| val"
                                + " [0-9.]+")
                .contains("--- sample at step 20 ---", "stopped");
        // a clean stop without --keep-checkpoints leaves no checkpoint behind
        try (var left = Files.walk(dir.resolve("ck"))) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    /**
     * Digits, typographic quotes, CRLF line ends, emoji, Cyrillic and CJK: {@code local --data}
     * learns every character of the file in its own vocabulary, and with {@code --vocab bytes}
     * every byte; the live view says no character was unknown, and nothing is dead-lettered.
     */
    @Test
    void localLearnsEveryCharacterOfAMixedScriptCorpus(@TempDir Path dir) throws Exception {
        String lines =
                "In 2007 she said \u201cdon\u2019t\u201d \uD83D\uDE00 \u2014 3.14\r\n"
                        + "\u041F\u0440\u0438\u0432\u0435\u0442, \u043C\u0438\u0440!\r\n"
                        + "\u6F22\u5B57\u3068\u304B\u306A <https://example.org/a?b=1>\r\n";
        String text = lines.repeat(300); // 300 x 3 lines
        Path corpus = Files.writeString(dir.resolve("mixed.txt"), text);
        String normalized = text.replace("\r\n", "\n");
        long characters = normalized.codePointCount(0, normalized.length());
        long bytes = normalized.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            for (String vocab : new String[] {null, "bytes"}) {
                String prefix = vocab == null ? "own" : "bytes";
                List<String> args =
                        new java.util.ArrayList<>(
                                List.of(
                                        "local",
                                        "--data",
                                        corpus.toString(),
                                        "--bootstrap-servers",
                                        kafka.bootstrapServers(),
                                        "--text-topics",
                                        prefix + "-text",
                                        "--model-topic",
                                        prefix + "-model",
                                        "--dead-letter-topic",
                                        prefix + "-dead-letters",
                                        "--max-steps",
                                        "20",
                                        "--sync-every",
                                        "5",
                                        "--eval-interval",
                                        "10",
                                        "--eval-iters",
                                        "2",
                                        "--checkpoint-interval-ms",
                                        "0",
                                        "--prometheus-ports",
                                        "0"));
                if (vocab != null) {
                    args.addAll(List.of("--vocab", vocab));
                }
                args.addAll(List.of(TINY));
                CliRun r = CliRun.of(args.toArray(String[]::new));
                assertThat(r.exit()).as(r.err()).isEqualTo(0);
                // one token per character in its own vocabulary, one per UTF-8 byte in bytes
                assertThat(r.out())
                        .contains(
                                String.format(
                                        java.util.Locale.ROOT,
                                        "input: %,d characters in, %,d tokens | unknown characters"
                                                + " 0 (0.000%%)%n",
                                        characters,
                                        vocab == null ? characters : bytes));
                if (vocab == null) {
                    assertThat(r.out()).contains("vocabulary: the 51 characters of " + corpus);
                }
                try (io.streamgpt.connectors.kafka.TopicReader reader =
                        io.streamgpt.connectors.kafka.TopicReader.open(kafka.clientSettings())) {
                    assertThat(
                                    reader.readAll(
                                            prefix + "-dead-letters",
                                            java.time.Duration.ofSeconds(10)))
                            .isEmpty();
                }
            }
        }
    }

    @Test
    void feedSendsAFileAndSamplesPrintsTheNewest(@TempDir Path dir) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            String bootstrap = kafka.bootstrapServers();
            TopicAdmin.ensureTopics(
                    KafkaClientSettings.plaintext(bootstrap),
                    List.of(
                            new TopicAdmin.TopicSpec("text", 1, Map.of()),
                            new TopicAdmin.TopicSpec("samples", 1, Map.of())));
            Path file =
                    Files.writeString(
                            dir.resolve("f.txt"), "a line of text\n".repeat(2000)); // 30,000 bytes
            CliRun feed =
                    CliRun.of(
                            "feed",
                            "--topic",
                            "text",
                            "--bootstrap-servers",
                            bootstrap,
                            "--record-bytes",
                            "4096",
                            file.toString());
            assertThat(feed.exit()).as(feed.err()).isEqualTo(0);
            assertThat(feed.out()).contains("sent 8 records to text");

            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            props.put(
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
                for (int step = 100; step <= 400; step += 100) {
                    producer.send(
                                    new ProducerRecord<>(
                                            "samples",
                                            Reports.toJson(
                                                    new Reports.SampleRecord(
                                                            step,
                                                            step / 10,
                                                            0,
                                                            "text at " + step,
                                                            0L))))
                            .get();
                }
            }
            CliRun samples =
                    CliRun.of(
                            "samples",
                            "--samples-topic",
                            "samples",
                            "--bootstrap-server", // Kafka's own spelling is an alias
                            bootstrap,
                            "--last",
                            "2");
            assertThat(samples.exit()).as(samples.err()).isEqualTo(0);
            assertThat(samples.out())
                    .contains(
                            "--- step 300 (round 30) ---\ntext at 300",
                            "--- step 400 (round 40) ---")
                    .doesNotContain("step 200");
        }
    }
}
