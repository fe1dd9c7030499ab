package io.streamgpt.cli;

import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.embedded.EmbeddedKafka;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code feed} loses nothing silently against a real broker: a topic that refuses every record, and
 * a broker that goes away part way through, both end in a failure that names how many records were
 * acknowledged.
 */
class FeedLossTest {

    /** 16 lines of 64 bytes: exactly one record of 1024 bytes, cut at its last newline. */
    private static final String RECORD = ("x".repeat(63) + "\n").repeat(16);

    @Test
    void aFeedFailsWithTheCountOfAcknowledgedRecordsWhenSendsFail(@TempDir Path dir)
            throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(0, null);
        try {
            String bootstrap = kafka.bootstrapServers();
            // a topic that takes no message over 512 bytes: each 1024-byte record is refused
            TopicAdmin.ensureTopics(
                    kafka.clientSettings(),
                    List.of(
                            new TopicAdmin.TopicSpec(
                                    "small", 1, Map.of("max.message.bytes", "512"))));
            Path file = Files.writeString(dir.resolve("three.txt"), RECORD.repeat(3));
            CliRun tooBig =
                    CliRun.of(
                            "feed",
                            "--topic",
                            "small",
                            "--bootstrap-servers",
                            bootstrap,
                            "--record-bytes",
                            "1024",
                            file.toString());
            assertThat(tooBig.exit()).isEqualTo(1);
            assertThat(tooBig.err().strip())
                    .startsWith(
                            "streamgpt: feed failed: only 0 of 3 records were acknowledged by"
                                    + " topic small; the feed stopped at the first failed send:")
                    .doesNotContain("\n");
            assertThat(tooBig.out()).doesNotContain("sent ");

            // 10 records acknowledged, then the broker stops and 5 more are sent
            TopicAdmin.ensureTopics(
                    kafka.clientSettings(), List.of(new TopicAdmin.TopicSpec("text", 1, Map.of())));
            PipedOutputStream writer = new PipedOutputStream();
            PipedInputStream in = new PipedInputStream(writer, 1 << 16);
            TextFeeder feeder =
                    new TextFeeder(kafka.clientSettings(), "text", 1024, Duration.ofSeconds(3));
            CompletableFuture<Long> feed =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    return feeder.feed(in, sent -> {});
                                } catch (java.io.IOException e) {
                                    throw new java.util.concurrent.CompletionException(e);
                                }
                            });
            writer.write(RECORD.repeat(10).getBytes(StandardCharsets.UTF_8));
            writer.flush();
            long deadline = System.currentTimeMillis() + 30_000;
            try (TopicReader reader = TopicReader.open(kafka.clientSettings())) {
                while (reader.readAll("text", Duration.ofSeconds(10)).size() < 10
                        && System.currentTimeMillis() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(reader.readAll("text", Duration.ofSeconds(10))).hasSize(10);
            }
            kafka.close();
            kafka = null;
            writer.write(RECORD.repeat(5).getBytes(StandardCharsets.UTF_8));
            writer.close();
            // exactly the 10 acknowledged; of the 5 after the stop, the feed stops at the first
            // that fails: when the send itself fails (no metadata) at the 11th, when the
            // delivery times out after all 5 were handed to the producer at the 15th
            assertThatThrownBy(() -> feed.get(60, TimeUnit.SECONDS))
                    .cause()
                    .isInstanceOf(TextFeeder.PartialFeedException.class)
                    .hasMessageMatching(
                            "(?s)only 10 of 1[1-5] records were acknowledged by topic text; .*");
            feeder.close();
        } finally {
            if (kafka != null) {
                kafka.close();
            }
        }
    }
}
