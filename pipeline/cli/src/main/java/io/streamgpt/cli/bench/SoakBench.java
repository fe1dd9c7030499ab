package io.streamgpt.cli.bench;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.model.ModelPreset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * A long run of the job on the in-process stack with text arriving all the time (the corpus in a
 * loop), sampling the process's resident memory, heap, the latest checkpoint's size and duration
 * and the training progress: does anything grow that should not?
 */
@Command(
        name = "soak",
        mixinStandardHelpOptions = true,
        modelTransformer = JobOptions.class,
        description =
                "Run the job for --minutes on in-process Kafka + MiniCluster, fed continuously;"
                        + " print memory, checkpoint and loss samples and a summary as one JSON"
                        + " object.")
public final class SoakBench implements Callable<Integer> {

    private static final ObjectMapper JSON =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    @Spec CommandSpec spec;

    @Option(
            names = "--minutes",
            defaultValue = "30",
            description = "Length of the run. Default: ${DEFAULT-VALUE}.")
    int minutes;

    @Option(
            names = "--sample-seconds",
            defaultValue = "10",
            description = "Seconds between samples. Default: ${DEFAULT-VALUE}.")
    int sampleSeconds;

    @Option(
            names = "--warmup-minutes",
            defaultValue = "5",
            description =
                    "Memory is compared from the first sample after this (at most a third of the"
                            + " run). Default: ${DEFAULT-VALUE}.")
    double warmupMinutes;

    @Option(
            names = "--feed-kb-per-s",
            defaultValue = "20",
            description = "Text fed per second, the corpus in a loop. Default: ${DEFAULT-VALUE}.")
    int feedKilobytesPerSecond;

    @Option(
            names = "--data",
            description = "Corpus fed in a loop (default: the bundled tiny Shakespeare).")
    Path data;

    /**
     * One sample of the run. RSS minus the committed heap is what is not Java heap: libtorch's
     * tensors, thread stacks, metaspace, direct buffers; it tells a native leak from a heap the JVM
     * grew.
     */
    record Sample(
            double seconds,
            double rssMegabytes,
            double heapUsedMegabytes,
            double heapCommittedMegabytes,
            long restarts,
            long checkpointsCompleted,
            long checkpointsFailed,
            long checkpointBytes,
            long checkpointMillis,
            long step,
            long tokens,
            Float trainLoss,
            Float valLoss) {}

    @Override
    public Integer call() throws Exception {
        if (minutes < 1 || sampleSeconds < 1 || feedKilobytesPerSecond < 1 || warmupMinutes < 0) {
            throw new IllegalArgumentException(
                    "--minutes, --sample-seconds and --feed-kb-per-s must be >= 1, --warmup-minutes"
                            + " >= 0");
        }
        if (JobOptions.arguments(spec).containsKey(KafkaConfig.BOOTSTRAP_SERVERS.name())) {
            throw new IllegalArgumentException(
                    "bench soak runs its own in-process Kafka broker: --bootstrap-servers is not"
                            + " used");
        }
        PrintWriter log = spec.commandLine().getErr();
        Map<String, String> arguments = new LinkedHashMap<>(JobOptions.arguments(spec));
        JobConfig.parse(arguments); // validate every option before starting anything
        byte[] corpus = Files.readAllBytes(data != null ? data : Paths.shakespeare());
        Path checkpoints = null;
        if (!arguments.containsKey(CheckpointConfig.DIRECTORY.name())) {
            checkpoints = Files.createTempDirectory("streamgpt-soak");
            arguments.put(CheckpointConfig.DIRECTORY.name(), checkpoints.toUri().toString());
        }
        JobConfig config;
        List<Sample> samples = new ArrayList<>();
        long fedBytes;
        String finalStatus;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            arguments.put(KafkaConfig.BOOTSTRAP_SERVERS.name(), kafka.bootstrapServers());
            config = JobConfig.parse(arguments);
            StreamingTrainerJob.createTopics(config);
            int restPort = EmbeddedKafka.freePort();
            try (LoopFeed feed = new LoopFeed(config, corpus, feedKilobytesPerSecond * 1024);
                    LossFollower losses = new LossFollower(config)) {
                JobClient client = LocalStack.startJob(config, null, restPort);
                try {
                    sample(client, restPort, losses, samples, log);
                } finally {
                    finalStatus = client.getJobStatus().get(10, TimeUnit.SECONDS).name();
                    client.cancel().get(60, TimeUnit.SECONDS);
                }
                fedBytes = feed.sent();
            }
        } finally {
            if (checkpoints != null) {
                deleteTree(checkpoints);
            }
        }
        ObjectNode result = JSON.createObjectNode();
        result.put("minutes", minutes);
        result.put("replicas", config.replicas().count());
        result.put(
                "preset",
                arguments.getOrDefault(ModelPreset.PARAM.name(), ModelPreset.PARAM.defaultValue()));
        result.put("sample_seconds", sampleSeconds);
        result.put("fed_bytes", fedBytes);
        result.put("job_status_at_end", finalStatus);
        result.set("summary", summary(samples, Math.min(warmupMinutes * 60, minutes * 20.0)));
        result.set("samples", JSON.valueToTree(samples));
        spec.commandLine().getOut().println(JSON.writeValueAsString(result));
        return 0;
    }

    private void sample(
            JobClient client,
            int restPort,
            LossFollower losses,
            List<Sample> samples,
            PrintWriter log)
            throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String jobUri = "http://127.0.0.1:" + restPort + "/jobs/" + client.getJobID();
        URI checkpointStats = URI.create(jobUri + "/checkpoints");
        URI restarts = URI.create(jobUri + "/metrics?get=numRestarts");
        long start = System.nanoTime();
        long end = start + TimeUnit.MINUTES.toNanos(minutes);
        for (long next = start + TimeUnit.SECONDS.toNanos(sampleSeconds);
                next <= end;
                next += TimeUnit.SECONDS.toNanos(sampleSeconds)) {
            TimeUnit.NANOSECONDS.sleep(next - System.nanoTime());
            if (client.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                log.println("the job ended: " + client.getJobStatus().get());
                return;
            }
            JsonNode stats = get(http, checkpointStats);
            long restartCount = get(http, restarts).path(0).path("value").asLong();
            JsonNode latest = stats.path("latest").path("completed");
            Reports.LossRecord loss = losses.latest.get();
            Sample s =
                    new Sample(
                            round((System.nanoTime() - start) / 1e9),
                            round(rssKilobytes() / 1024.0),
                            round(heapUsedBytes() / 1048576.0),
                            round(heapCommittedBytes() / 1048576.0),
                            restartCount,
                            stats.path("counts").path("completed").asLong(),
                            stats.path("counts").path("failed").asLong(),
                            latest.path("state_size").asLong(),
                            latest.path("end_to_end_duration").asLong(),
                            loss == null ? 0 : loss.step(),
                            loss == null ? 0 : loss.tokens(),
                            loss == null ? null : loss.trainLoss(),
                            loss == null ? null : loss.valLoss());
            samples.add(s);
            log.println(JSON.writeValueAsString(s));
        }
    }

    /** RSS after warm-up vs at the end, heap, checkpoint maxima, training progress. */
    static ObjectNode summary(List<Sample> samples, double warmupSeconds) {
        ObjectNode summary = JSON.createObjectNode();
        if (samples.isEmpty()) {
            return summary;
        }
        Sample warm =
                samples.stream()
                        .filter(s -> s.seconds() >= warmupSeconds)
                        .findFirst()
                        .orElse(samples.get(samples.size() - 1));
        Sample last = samples.get(samples.size() - 1);
        List<Sample> afterWarmup = samples.subList(samples.indexOf(warm), samples.size());
        summary.put("warmup_seconds", warm.seconds());
        summary.put("rss_mb_after_warmup", warm.rssMegabytes());
        summary.put("rss_mb_end", last.rssMegabytes());
        summary.put(
                "rss_mb_max",
                samples.stream().mapToDouble(Sample::rssMegabytes).max().orElseThrow());
        summary.put(
                "rss_change_pct",
                round(100 * (last.rssMegabytes() - warm.rssMegabytes()) / warm.rssMegabytes()));
        double nativeWarm = warm.rssMegabytes() - warm.heapCommittedMegabytes();
        double nativeEnd = last.rssMegabytes() - last.heapCommittedMegabytes();
        summary.put("rss_minus_heap_mb_after_warmup", round(nativeWarm));
        summary.put("rss_minus_heap_mb_end", round(nativeEnd));
        summary.put(
                "rss_minus_heap_change_pct", round(100 * (nativeEnd - nativeWarm) / nativeWarm));
        summary.put("heap_committed_mb_after_warmup", warm.heapCommittedMegabytes());
        summary.put("heap_committed_mb_end", last.heapCommittedMegabytes());
        summary.put("heap_used_mb_after_warmup", warm.heapUsedMegabytes());
        summary.put("heap_used_mb_end", last.heapUsedMegabytes());
        summary.put(
                "heap_used_mb_max_after_warmup",
                afterWarmup.stream().mapToDouble(Sample::heapUsedMegabytes).max().orElseThrow());
        summary.put("restarts", last.restarts());
        summary.put("checkpoints_completed", last.checkpointsCompleted());
        summary.put("checkpoints_failed", last.checkpointsFailed());
        summary.put(
                "checkpoint_bytes_max",
                samples.stream().mapToLong(Sample::checkpointBytes).max().orElseThrow());
        summary.put("checkpoint_bytes_end", last.checkpointBytes());
        summary.put(
                "checkpoint_ms_max",
                samples.stream().mapToLong(Sample::checkpointMillis).max().orElseThrow());
        summary.put("steps", last.step());
        summary.put("tokens", last.tokens());
        Sample firstLoss =
                samples.stream().filter(s -> s.valLoss() != null).findFirst().orElse(null);
        if (firstLoss != null) {
            summary.put("loss_start_step", firstLoss.step());
            summary.put("val_loss_start", firstLoss.valLoss());
            summary.put("train_loss_start", firstLoss.trainLoss());
            summary.put("val_loss_end", last.valLoss());
            summary.put("train_loss_end", last.trainLoss());
        }
        return summary;
    }

    /**
     * A Flink REST resource as JSON; empty when the request fails (a sample without it, not the end
     * of the run).
     */
    private static JsonNode get(HttpClient http, URI uri) {
        try {
            HttpResponse<String> response =
                    http.send(
                            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                            HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200
                    ? JSON.readTree(response.body())
                    : JSON.createObjectNode();
        } catch (IOException e) {
            return JSON.createObjectNode();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return JSON.createObjectNode();
        }
    }

    /** VmRSS of this process, from /proc/self/status (Linux); 0 elsewhere. */
    static long rssKilobytes() throws IOException {
        Path status = Path.of("/proc/self/status");
        return Files.exists(status) ? rssKilobytes(Files.readAllLines(status)) : 0;
    }

    static long rssKilobytes(List<String> statusLines) {
        return statusLines.stream()
                .filter(l -> l.startsWith("VmRSS:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")))
                .findFirst()
                .orElse(0);
    }

    private static long heapCommittedBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
    }

    private static long heapUsedBytes() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static double round(double value) {
        return Math.round(value * 10) / 10.0;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /**
     * Feeds the corpus into the first text topic at a steady rate, from its start again at its end.
     */
    private static final class LoopFeed implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicLong sent = new AtomicLong();
        private final Thread thread;

        LoopFeed(JobConfig config, byte[] corpus, int bytesPerSecond) {
            int slice = Math.max(1, bytesPerSecond / 10);
            thread =
                    new Thread(
                            () -> {
                                try (TextFeeder feeder =
                                        new TextFeeder(
                                                config.kafka().clientSettings(),
                                                config.topics().text().get(0),
                                                4096)) {
                                    int offset = 0;
                                    long next = System.nanoTime();
                                    while (running.get()) {
                                        int end = Math.min(corpus.length, offset + slice);
                                        feeder.feed(
                                                new ByteArrayInputStream(
                                                        Arrays.copyOfRange(corpus, offset, end)),
                                                n -> {});
                                        sent.addAndGet(end - offset);
                                        offset = end == corpus.length ? 0 : end;
                                        next += 100_000_000L;
                                        TimeUnit.NANOSECONDS.sleep(next - System.nanoTime());
                                    }
                                } catch (IOException | InterruptedException e) {
                                    // stopped, or the broker went away at the end
                                }
                            },
                            "soak-feed");
            thread.setDaemon(true);
            thread.start();
        }

        long sent() {
            return sent.get();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }

    /** Follows the losses topic, keeping the newest record. */
    private static final class LossFollower implements AutoCloseable {
        final AtomicReference<Reports.LossRecord> latest = new AtomicReference<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        LossFollower(JobConfig config) {
            thread =
                    new Thread(
                            () -> {
                                try (KafkaConsumer<String, String> consumer =
                                        KafkaStreams.textConsumer(
                                                config.kafka().clientSettings(), "soak")) {
                                    consumer.subscribe(List.of(config.topics().losses()));
                                    while (running.get()) {
                                        for (ConsumerRecord<String, String> record :
                                                consumer.poll(Duration.ofMillis(500))) {
                                            Reports.LossRecord loss =
                                                    EvalRecords.lossRecordOrNull(record.value());
                                            if (loss != null) { // not another kind
                                                latest.set(loss);
                                            }
                                        }
                                    }
                                }
                            },
                            "soak-losses");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join(10_000);
        }
    }
}
