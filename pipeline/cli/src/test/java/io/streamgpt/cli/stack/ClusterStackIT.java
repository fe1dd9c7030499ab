package io.streamgpt.cli.stack;

import io.streamgpt.cli.CliRun;
import io.streamgpt.cli.GrafanaDashboard;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.cluster.FlinkRest;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The system as users run it: {@code stack up} (a Kafka broker, a standalone Flink session cluster
 * and Prometheus, each its own process on 127.0.0.1), {@code submit} of the job jar with 2 replicas
 * on the cpu preset, {@code feed}, then losses, samples, Prometheus, stop with a savepoint, a
 * resubmission that continues from it, and {@code stack down} leaving nothing behind.
 */
class ClusterStackIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path runDir;

    private List<String> stackOptions;
    private ClusterStack.Settings settings;

    @BeforeEach
    void stackUp() throws Exception {
        stackOptions = stackOptions(runDir);
        CliRun up = CliRun.of(concat(List.of("stack", "up"), stackOptions));
        assertThat(up.exit()).as(up.err()).isEqualTo(0);
        settings = ClusterStack.startedIn(runDir).orElseThrow();
    }

    @AfterEach
    void stackDown() throws Exception {
        List<Long> pids =
                new ClusterStack(settings)
                        .status().stream().flatMap(s -> s.pid().stream()).toList();
        CliRun down =
                CliRun.of(
                        concat(List.of("stack", "down"), List.of("--run-dir", runDir.toString())));
        assertThat(down.exit()).as(down.err()).isEqualTo(0);
        assertThat(pids)
                .hasSize(4)
                .allSatisfy(
                        pid ->
                                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
                                        .as("process %d after down", pid)
                                        .isNotEqualTo(java.util.Optional.of(true)));
        for (int port :
                List.of(
                        settings.kafkaPort(),
                        settings.kafkaControllerPort(),
                        settings.flinkRestPort(),
                        settings.flinkRpcPort(),
                        settings.prometheusPort())) {
            assertThat(ClusterStack.portInUse(port)).as("port %d after down", port).isFalse();
        }
        for (int port : settings.reporterPortList()) {
            assertThat(ClusterStack.portInUse(port))
                    .as("reporter port %d after down", port)
                    .isFalse();
        }
    }

    @Test
    void submittedJobTrainsReportsToPrometheusAndResumesFromItsSavepoint() throws Exception {
        String flink = settings.flinkUrl();
        String kafka = settings.bootstrapServers();
        List<String> job =
                List.of(
                        "--flink",
                        flink,
                        "--bootstrap-servers",
                        kafka,
                        "--replicas",
                        "2",
                        "--preset",
                        "cpu",
                        "--text-topics",
                        "it-text",
                        "--sync-every",
                        "5",
                        "--eval-interval",
                        "10",
                        "--eval-iters",
                        "2",
                        "--sample-interval",
                        "20",
                        "--sample-tokens",
                        "40",
                        "--checkpoint-interval-ms",
                        "3000");
        // the first run also fails once at step 30 and restarts on the same TaskManager
        List<String> firstRun = concat(job, List.of("--fail-at-step", "30"));

        CliRun submitted = CliRun.of(concat(List.of("submit"), firstRun));
        assertThat(submitted.exit()).as(submitted.err()).isEqualTo(0);
        String jobId = match(submitted.out(), "job ([0-9a-f]{32}) submitted");
        FlinkRest rest = new FlinkRest(flink);
        awaitState(rest, jobId, "RUNNING");

        feedShakespeare(kafka, "corpus.txt", 0, 200_000);

        // a restart after the injected failure: libtorch, loaded once by the cluster's class
        // loader, serves it
        List<Reports.LossRecord> before =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() >= 1 && r.step() >= 50 && r.valLoss() != null,
                        Duration.ofMinutes(4));
        assertThat(before.get(before.size() - 1).trainLoss()).isLessThan(before.get(0).trainLoss());
        // text that arrives after the restart: the restored job had read the whole corpus before
        // it failed, and freshness (a dashboard panel) is only measured for records it trains on
        feedShakespeare(kafka, "more.txt", 200_000, 220_000);

        CliRun samples = CliRun.of("samples", "--bootstrap-servers", kafka, "--last", "1");
        assertThat(samples.exit()).as(samples.err()).isEqualTo(0);
        // a sample of at least 10 characters: newlines count (a sample may open with a short line)
        assertThat(samples.out())
                .containsPattern("--- step \\d+ \\(round \\d+\\) ---\\n(?s).{10,}");

        CliRun answer =
                CliRun.of(
                        "generate",
                        "--prompt",
                        "ROMEO:",
                        "--tokens",
                        "30",
                        "--temperature",
                        "0.8",
                        "--top-k",
                        "50",
                        "--bootstrap-servers",
                        kafka,
                        "--timeout",
                        "60");
        assertThat(answer.exit()).as(answer.err()).isEqualTo(0);
        assertThat(answer.out()).startsWith("ROMEO:").hasSizeGreaterThan("ROMEO:".length() + 20);
        assertThat(answer.err()).contains("answered by the live model of round");

        assertThat(prometheusSeries("flink_taskmanager_job_task_operator_val_loss"))
                .as("val loss in Prometheus")
                .isPositive();
        // every chart of the Grafana dashboard has data: the job has trained, restarted once,
        // checkpointed and answered a prompt by now
        everyDashboardQueryReturnsASeries();

        CliRun stopped =
                CliRun.of(
                        "stop",
                        jobId,
                        "--flink",
                        flink,
                        "--savepoint",
                        runDir.resolve("savepoints").toString());
        assertThat(stopped.exit()).as(stopped.err()).isEqualTo(0);
        String savepoint = match(stopped.out(), "savepoint (\\S+)");
        awaitState(rest, jobId, "FINISHED");
        List<Reports.LossRecord> all =
                LossReader.readAll(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        Duration.ofSeconds(30));
        long stepAtStop = all.stream().mapToLong(Reports.LossRecord::step).max().orElseThrow();
        int generationAtStop =
                all.stream().mapToInt(Reports.LossRecord::generation).max().orElseThrow();

        CliRun resumed = CliRun.of(concat(List.of("submit", "--from-savepoint", savepoint), job));
        assertThat(resumed.exit()).as(resumed.err()).isEqualTo(0);
        String resumedId = match(resumed.out(), "job ([0-9a-f]{32}) submitted");
        awaitState(rest, resumedId, "RUNNING");
        // a second job on the same TaskManager: libtorch, loaded once by the cluster's class
        // loader, serves it too
        List<Reports.LossRecord> after =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() > generationAtStop && r.step() > stepAtStop,
                        Duration.ofMinutes(3));
        Reports.LossRecord first =
                after.stream()
                        .filter(r -> r.generation() > generationAtStop)
                        .findFirst()
                        .orElseThrow();
        assertThat(first.step())
                .as("the resumed job continues the step count")
                .isGreaterThanOrEqualTo(stepAtStop - 10);

        CliRun cancelled = CliRun.of("cancel", resumedId, "--flink", flink);
        assertThat(cancelled.exit()).as(cancelled.err()).isEqualTo(0);
    }

    @Test
    void jobSurvivesAKilledTaskManagerOnAReplacement() throws Exception {
        String flink = settings.flinkUrl();
        String kafka = settings.bootstrapServers();
        feedShakespeare(kafka, "corpus.txt", 0, 200_000);
        CliRun submitted =
                CliRun.of(
                        "submit",
                        "--flink",
                        flink,
                        "--bootstrap-servers",
                        kafka,
                        "--replicas",
                        "2",
                        "--text-topics",
                        "it-text",
                        "--sync-every",
                        "5",
                        "--eval-interval",
                        "10",
                        "--eval-iters",
                        "2",
                        "--sample-tokens",
                        "0",
                        "--checkpoint-interval-ms",
                        "2000");
        assertThat(submitted.exit()).as(submitted.err()).isEqualTo(0);
        String jobId = match(submitted.out(), "job ([0-9a-f]{32}) submitted");
        FlinkRest rest = new FlinkRest(flink);
        awaitState(rest, jobId, "RUNNING");
        LossReader.readUntil(
                KafkaClientSettings.plaintext(kafka),
                "streamgpt-losses",
                r -> r.step() >= 60,
                Duration.ofMinutes(3));
        long checkpoints = rest.completedCheckpoints(jobId);
        long checkpointDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (rest.completedCheckpoints(jobId) <= checkpoints) { // a checkpoint past step 60
            assertThat(System.nanoTime())
                    .as("a checkpoint within 60 s")
                    .isLessThan(checkpointDeadline);
            Thread.sleep(200);
        }

        ClusterStack stack = new ClusterStack(settings);
        ProcessHandle taskManager = stack.taskManager(0).handle().orElseThrow();
        taskManager.destroyForcibly(); // kill -9
        taskManager.onExit().get();
        long stepAtKill =
                LossReader.readAll(
                                KafkaClientSettings.plaintext(kafka),
                                "streamgpt-losses",
                                Duration.ofSeconds(30))
                        .stream()
                        .mapToLong(Reports.LossRecord::step)
                        .max()
                        .orElseThrow();
        stack.startTaskManager(1);
        stack.awaitTaskManagers(1);

        // the job restarts from its last checkpoint on the replacement and trains on
        List<Reports.LossRecord> after =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() >= 1 && r.step() >= stepAtKill + 20,
                        Duration.ofMinutes(4));
        Reports.LossRecord firstAfter =
                after.stream().filter(r -> r.generation() >= 1).findFirst().orElseThrow();
        assertThat(firstAfter.step())
                .as("resumed at the checkpointed step, not from scratch")
                .isGreaterThanOrEqualTo(50);
        Reports.LossRecord lastBefore =
                after.stream()
                        .filter(r -> r.generation() == 0 && r.valLoss() != null)
                        .reduce((a, b) -> b)
                        .orElseThrow();
        Reports.LossRecord lastAfter = after.get(after.size() - 1);
        assertThat(lastAfter.valLoss())
                .as("val loss after recovery")
                .isLessThan(lastBefore.valLoss() + 0.05f);
        assertThat(rest.jobState(jobId)).isEqualTo("RUNNING");
        rest.cancel(jobId);
    }

    // ---------------------------------------------------------------- helpers

    private double prometheusSeries(String metric) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI query =
                URI.create(
                        settings.prometheusUrl()
                                + "/api/v1/query?query="
                                + URLEncoder.encode(metric, StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode reply =
                    JSON.readTree(
                            http.send(
                                            HttpRequest.newBuilder(query).build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .body());
            for (JsonNode series : reply.path("data").path("result")) {
                double value = series.path("value").path(1).asDouble(Double.NaN);
                if (!Double.isNaN(value)) {
                    return value;
                }
            }
            Thread.sleep(1000);
        }
        return Double.NaN;
    }

    /**
     * Feeds tiny Shakespeare's characters [from, to) to it-text, from a file named {@code name}.
     */
    private void feedShakespeare(String kafka, String name, int from, int to) throws Exception {
        Path text =
                Files.writeString(
                        runDir.resolve(name),
                        Files.readString(Paths.shakespeare()).substring(from, to));
        CliRun fed =
                CliRun.of(
                        "feed",
                        "--topic",
                        "it-text",
                        "--bootstrap-servers",
                        kafka,
                        text.toString());
        assertThat(fed.exit()).as(fed.err()).isEqualTo(0);
    }

    /**
     * Runs each query of the Grafana dashboard once against the stack's Prometheus: each must
     * return at least one series with a value (not NaN). Queries of recording rules may need an
     * evaluation more, so the empty ones are retried for at most 30 s.
     */
    private void everyDashboardQueryReturnsASeries() throws Exception {
        long start = System.nanoTime();
        JsonNode dashboard = GrafanaDashboard.read();
        List<GrafanaDashboard.Query> queries =
                GrafanaDashboard.queries(dashboard, GrafanaDashboard.VARIABLES);
        HttpClient http = HttpClient.newHttpClient();
        Map<GrafanaDashboard.Query, String> empty = new LinkedHashMap<>();
        List<GrafanaDashboard.Query> pending = queries;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        do {
            empty.clear();
            for (GrafanaDashboard.Query q : pending) {
                URI uri =
                        URI.create(
                                settings.prometheusUrl()
                                        + "/api/v1/query?query="
                                        + URLEncoder.encode(q.expr(), StandardCharsets.UTF_8));
                String body =
                        http.send(
                                        HttpRequest.newBuilder(uri).build(),
                                        HttpResponse.BodyHandlers.ofString())
                                .body();
                boolean hasValue = false;
                for (JsonNode series : JSON.readTree(body).path("data").path("result")) {
                    hasValue |= !Double.isNaN(series.path("value").path(1).asDouble(Double.NaN));
                }
                if (!hasValue) {
                    empty.put(q, body);
                }
            }
            pending = new ArrayList<>(empty.keySet());
            if (!pending.isEmpty()) {
                Thread.sleep(2000);
            }
        } while (!pending.isEmpty() && System.nanoTime() < deadline);
        assertThat(empty).as("dashboard queries without data").isEmpty();
        System.out.printf(
                "ClusterStackIT: %d dashboard panels, %d queries, each with data, in %.1f s%n",
                GrafanaDashboard.panels(dashboard).size(),
                queries.size(),
                (System.nanoTime() - start) / 1e9);
    }

    static void awaitState(FlinkRest rest, String jobId, String state) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String last = "?";
        while (System.nanoTime() < deadline) {
            last = rest.jobState(jobId);
            if (last.equals(state)) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("job " + jobId + " is " + last + ", not " + state);
    }

    /**
     * Options of a stack in {@code runDir} on free ports of 127.0.0.1, with small TaskManagers,
     * then {@code more}.
     */
    static List<String> stackOptions(Path runDir, String... more) throws IOException {
        int reporterBase = freeRange(4);
        List<String> options =
                new ArrayList<>(
                        List.of(
                                "--run-dir",
                                runDir.toString(),
                                "--kafka-port",
                                String.valueOf(EmbeddedKafka.freePort()),
                                "--kafka-controller-port",
                                String.valueOf(EmbeddedKafka.freePort()),
                                "--flink-port",
                                String.valueOf(EmbeddedKafka.freePort()),
                                "--flink-rpc-port",
                                String.valueOf(EmbeddedKafka.freePort()),
                                "--prometheus-port",
                                String.valueOf(EmbeddedKafka.freePort()),
                                "--reporter-ports",
                                reporterBase + "-" + (reporterBase + 3),
                                "--taskmanager-heap-mb",
                                "512",
                                "--taskmanager-native-mb",
                                "512"));
        options.addAll(List.of(more));
        return options;
    }

    static String match(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("'%s' in %s", regex, text).isTrue();
        return m.group(1);
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The first of {@code n} consecutive free ports. */
    static int freeRange(int n) {
        Random random = new Random();
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = 20_000 + random.nextInt(30_000);
            boolean free = true;
            for (int p = base; p < base + n && free; p++) {
                free = !ClusterStack.portInUse(p);
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no " + n + " consecutive free ports");
    }
}
