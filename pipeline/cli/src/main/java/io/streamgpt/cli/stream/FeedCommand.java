package io.streamgpt.cli.stream;

import io.streamgpt.cli.CommandFailure;
import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.kafka.TopicAdmin;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Sends a file, or standard input, to a text topic: large files stream. Every record is
 * acknowledged or the command fails with one line (exit code 1) naming how many of the records sent
 * were acknowledged; those stay on the topic, so a re-run after a failure sends them twice.
 */
@Command(
        name = "feed",
        mixinStandardHelpOptions = true,
        modelTransformer = KafkaOptions.class,
        description = "Send a text file or stdin to a text topic.")
public final class FeedCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", description = "File to send, or - for standard input.")
    String input;

    @Option(
            names = "--topic",
            defaultValue = "text",
            description = "Text topic. Default: ${DEFAULT-VALUE}.")
    String topic;

    @Option(
            names = "--record-bytes",
            defaultValue = "4096",
            description = "Approximate record size, cut at line ends. Default: ${DEFAULT-VALUE}.")
    int recordBytes;

    @Option(
            names = "--delivery-timeout",
            defaultValue = "120",
            description =
                    "Seconds a record may take to be acknowledged, retries included, before the"
                            + " feed fails. Default: ${DEFAULT-VALUE}.")
    long deliveryTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (deliveryTimeoutSeconds < 1) {
            throw new IllegalArgumentException(
                    "--delivery-timeout must be >= 1 s, got " + deliveryTimeoutSeconds);
        }
        if (recordBytes < 16 || recordBytes > 900_000) {
            throw new IllegalArgumentException(
                    "--record-bytes must be in [16, 900000] (Kafka's 1 MB limit), got "
                            + recordBytes);
        }
        boolean stdin = "-".equals(input);
        Path file = stdin ? null : Path.of(input);
        if (!stdin && !Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no file " + file);
        }
        long size = stdin ? -1 : Files.size(file);
        // a new text topic gets one partition: one token stream, windows in order
        for (String created :
                TopicAdmin.ensureTopics(
                        KafkaOptions.settings(spec),
                        List.of(new TopicAdmin.TopicSpec(topic, 1, Map.of())))) {
            spec.commandLine().getOut().println("created topic " + created);
        }
        try (InputStream in = stdin ? System.in : Files.newInputStream(file);
                TextFeeder feeder =
                        new TextFeeder(
                                KafkaOptions.settings(spec),
                                topic,
                                recordBytes,
                                Duration.ofSeconds(deliveryTimeoutSeconds));
                ProgressBar bar =
                        new ProgressBarBuilder()
                                .setTaskName("feed " + topic)
                                .setInitialMax(size)
                                .setStyle(ProgressBarStyle.ASCII)
                                .setUnit(" KB", 1024)
                                .showSpeed()
                                .build()) {
            long records;
            try {
                records = feeder.feed(in, bar::stepTo);
            } catch (TextFeeder.PartialFeedException e) {
                throw new CommandFailure("feed failed: " + e.getMessage(), e);
            }
            bar.setExtraMessage(records + " records");
            spec.commandLine().getOut().printf("sent %d records to %s%n", records, topic);
        }
        return 0;
    }
}
