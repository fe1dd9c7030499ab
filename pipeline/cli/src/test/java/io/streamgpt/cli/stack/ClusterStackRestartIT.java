package io.streamgpt.cli.stack;

import io.streamgpt.cli.CliRun;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.cluster.FlinkRest;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static io.streamgpt.cli.stack.ClusterStackIT.awaitState;
import static io.streamgpt.cli.stack.ClusterStackIT.concat;
import static io.streamgpt.cli.stack.ClusterStackIT.match;
import static io.streamgpt.cli.stack.ClusterStackIT.stackOptions;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stack as a user lives with it, over days: {@code stack up}, {@code submit}, {@code feed},
 * {@code stop} with a savepoint, {@code stack down}, then {@code stack up} again on the same run
 * directory (the same broker cluster with its topics and records, Prometheus with its series, the
 * savepoint to resume from), and a TaskManager and Prometheus that died ({@code kill -9}, their pid
 * files left behind): {@code stack up} starts only those again and the job continues.
 */
class ClusterStackRestartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "restart-text";
    private static final List<String> TOPICS =
            List.of(TEXT, "streamgpt-model", "streamgpt-losses", "streamgpt-samples");

    @TempDir Path runDir;

    @AfterEach
    void stackDown() throws Exception {
        Optional<ClusterStack.Settings> started = ClusterStack.startedIn(runDir);
        CliRun down =
                CliRun.of(
                        concat(List.of("stack", "down"), List.of("--run-dir", runDir.toString())));
        assertThat(down.exit()).as(down.err()).isEqualTo(0);
        if (started.isPresent()) {
            assertNothingRuns(started.get(), List.of());
        }
    }

    @Test
    void theStackComesBackWithItsDataAndItsJobAfterDownAndAfterDeadServices() throws Exception {
        List<String> stackOptions = stackOptions(runDir, "--taskmanagers", "2", "--slots", "1");
        long t0 = System.nanoTime();
        CliRun up = CliRun.of(concat(List.of("stack", "up"), stackOptions));
        assertThat(up.exit()).as(up.err()).isEqualTo(0);
        ClusterStack.Settings settings = ClusterStack.startedIn(runDir).orElseThrow();
        log("first up", t0);
        String flink = settings.flinkUrl();
        String kafka = settings.bootstrapServers();
        FlinkRest rest = new FlinkRest(flink);
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
                        TEXT,
                        "--sync-every",
                        "5",
                        "--eval-interval",
                        "10",
                        "--eval-iters",
                        "2",
                        "--sample-interval",
                        "20",
                        "--sample-tokens",
                        "30",
                        "--checkpoint-interval-ms",
                        "2000");

        // ---- day 1: submit, feed, train, stop with a savepoint, stack down
        CliRun submitted = CliRun.of(concat(List.of("submit"), job));
        assertThat(submitted.exit()).as(submitted.err()).isEqualTo(0);
        String jobId = match(submitted.out(), "job ([0-9a-f]{32}) submitted");
        awaitState(rest, jobId, "RUNNING");
        Path corpus =
                Files.writeString(
                        runDir.resolve("corpus.txt"),
                        Files.readString(Paths.shakespeare()).substring(0, 100_000));
        CliRun fed =
                CliRun.of("feed", "--topic", TEXT, "--bootstrap-servers", kafka, corpus.toString());
        assertThat(fed.exit()).as(fed.err()).isEqualTo(0);
        LossReader.readUntil(
                KafkaClientSettings.plaintext(kafka),
                "streamgpt-losses",
                r -> r.step() >= 40 && r.valLoss() != null,
                Duration.ofMinutes(4));
        double seriesAt = prometheusSeriesTime("up");
        assertThat(seriesAt).as("a scrape in Prometheus").isPositive();

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
        log("day 1 trained and stopped", t0);

        String clusterId = clusterId(kafka);
        assertThat(Files.readString(runDir.resolve("kafka/cluster.id")).trim())
                .isEqualTo(clusterId);
        String meta = Files.readString(runDir.resolve("kafka/data/meta.properties"));
        Map<String, Long> offsets = endOffsets(kafka);
        assertThat(offsets)
                .as("records in every topic")
                .allSatisfy((t, n) -> assertThat(n).isPositive());
        List<Reports.LossRecord> losses =
                LossReader.readAll(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        Duration.ofSeconds(30));
        long stepAtStop = losses.stream().mapToLong(Reports.LossRecord::step).max().orElseThrow();
        int generationAtStop =
                losses.stream().mapToInt(Reports.LossRecord::generation).max().orElseThrow();
        CliRun samples = CliRun.of("samples", "--bootstrap-servers", kafka, "--last", "1");
        assertThat(samples.exit()).as(samples.err()).isEqualTo(0);
        assertThat(samples.out()).containsPattern("--- step \\d+ \\(round \\d+\\) ---");

        List<Long> pids = pids(settings);
        CliRun down =
                CliRun.of(
                        concat(List.of("stack", "down"), List.of("--run-dir", runDir.toString())));
        assertThat(down.exit()).as(down.err()).isEqualTo(0);
        assertNothingRuns(settings, pids);
        log("day 1 down; flink/tmp holds " + listing(runDir.resolve("flink/tmp")), t0);

        // ---- day 2: a plain `stack up` brings the same stack back, with its data
        CliRun again = CliRun.of("stack", "up", "--run-dir", runDir.toString());
        assertThat(again.exit()).as(again.err()).isEqualTo(0);
        assertThat(again.out()).doesNotContain("already running");
        for (String service :
                List.of("kafka", "jobmanager", "taskmanager-1", "taskmanager-2", "prometheus")) {
            assertThat(again.out()).contains("started " + service + " (pid");
        }
        assertThat(ClusterStack.startedIn(runDir)).contains(settings);
        log("second up", t0);
        assertThat(clusterId(kafka)).as("the same Kafka cluster").isEqualTo(clusterId);
        assertThat(Files.readString(runDir.resolve("kafka/data/meta.properties"))).isEqualTo(meta);
        assertThat(endOffsets(kafka)).as("every topic with its records").isEqualTo(offsets);
        assertThat(
                        LossReader.readAll(
                                KafkaClientSettings.plaintext(kafka),
                                "streamgpt-losses",
                                Duration.ofSeconds(30)))
                .usingRecursiveFieldByFieldElementComparator()
                .containsExactlyElementsOf(losses);
        CliRun samplesAgain = CliRun.of("samples", "--bootstrap-servers", kafka, "--last", "1");
        assertThat(samplesAgain.out()).isEqualTo(samples.out());
        assertThat(prometheusResultsAt("up", seriesAt))
                .as("yesterday's series in Prometheus' storage")
                .isPositive();

        CliRun resumed = CliRun.of(concat(List.of("submit", "--from-savepoint", savepoint), job));
        assertThat(resumed.exit()).as(resumed.err()).isEqualTo(0);
        String resumedId = match(resumed.out(), "job ([0-9a-f]{32}) submitted");
        awaitState(rest, resumedId, "RUNNING");
        List<Reports.LossRecord> after =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() > generationAtStop && r.step() >= stepAtStop + 20,
                        Duration.ofMinutes(4));
        Reports.LossRecord first =
                after.stream()
                        .filter(r -> r.generation() > generationAtStop)
                        .findFirst()
                        .orElseThrow();
        assertThat(first.step())
                .as("the resumed job continues at the saved step")
                .isBetween(stepAtStop - 10, stepAtStop + 10);
        log(
                "resumed from the savepoint at step "
                        + first.step()
                        + " (stopped at "
                        + stepAtStop
                        + ")",
                t0);

        int generationResumed =
                after.stream().mapToInt(Reports.LossRecord::generation).max().orElseThrow();

        // ---- a TaskManager and Prometheus die; `stack up` starts only those again
        long checkpoints = rest.completedCheckpoints(resumedId);
        long checkpointDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (rest.completedCheckpoints(resumedId) <= checkpoints) {
            assertThat(System.nanoTime())
                    .as("a checkpoint within 60 s")
                    .isLessThan(checkpointDeadline);
            Thread.sleep(200);
        }
        ClusterStack stack = new ClusterStack(settings);
        Map<String, Long> survivors = new TreeMap<>();
        for (ManagedProcess service :
                List.of(stack.kafka(), stack.jobManager(), stack.taskManager(0))) {
            survivors.put(service.name(), service.handle().orElseThrow().pid());
        }
        for (ManagedProcess dead : List.of(stack.taskManager(1), stack.prometheus())) {
            ProcessHandle process = dead.handle().orElseThrow();
            process.destroyForcibly(); // kill -9: its pid file stays
            process.onExit().get(30, TimeUnit.SECONDS);
            assertThat(runDir.resolve(dead.name() + ".pid")).exists();
        }
        long stepAtKill =
                LossReader.readAll(
                                KafkaClientSettings.plaintext(kafka),
                                "streamgpt-losses",
                                Duration.ofSeconds(30))
                        .stream()
                        .mapToLong(Reports.LossRecord::step)
                        .max()
                        .orElseThrow();
        Path deadTmp = runDir.resolve("flink/tmp/taskmanager-2");
        List<String> leftovers = entries(deadTmp);
        assertThat(leftovers).as("what the killed TaskManager left in its tmp dir").isNotEmpty();
        CliRun repaired = CliRun.of("stack", "up", "--run-dir", runDir.toString());
        assertThat(repaired.exit()).as(repaired.err()).isEqualTo(0);
        survivors.forEach(
                (name, pid) ->
                        assertThat(repaired.out())
                                .contains(name + " already running (pid " + pid + ")"));
        assertThat(repaired.out())
                .contains("started taskmanager-2 (pid")
                .contains("started prometheus (pid");
        log("third up (taskmanager-2 and prometheus again)", t0);
        assertThat(entries(deadTmp))
                .as("the dead TaskManager's leftovers, removed before it starts again")
                .doesNotContainAnyElementsOf(leftovers);
        List<Reports.LossRecord> continued =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() > generationResumed && r.step() >= stepAtKill + 20,
                        Duration.ofMinutes(4));
        Reports.LossRecord firstAfterKill =
                continued.stream()
                        .filter(r -> r.generation() > generationResumed)
                        .findFirst()
                        .orElseThrow();
        assertThat(firstAfterKill.step())
                .as("restarted from its checkpoint, not from scratch")
                .isGreaterThanOrEqualTo(stepAtStop);
        assertThat(rest.jobState(resumedId)).as("the same job continues").isEqualTo("RUNNING");
        assertThat(prometheusResultsAt("up", seriesAt))
                .as("Prometheus' storage after a kill -9")
                .isPositive();
        for (var survivor : survivors.entrySet()) {
            assertThat(ProcessHandle.of(survivor.getValue()).map(ProcessHandle::isAlive))
                    .as(survivor.getKey() + " kept running")
                    .contains(true);
        }
        log(
                "job continued at step "
                        + firstAfterKill.step()
                        + " (killed at "
                        + stepAtKill
                        + ")",
                t0);
        log(
                "after kill -9 of taskmanager-2, flink/tmp holds "
                        + listing(runDir.resolve("flink/tmp")),
                t0);

        // ---- `stack down` with the job running: it names the job's last checkpoint to resume from
        long checkpointsNow = rest.completedCheckpoints(resumedId);
        long deadlineNow = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (rest.completedCheckpoints(resumedId) <= checkpointsNow) {
            assertThat(System.nanoTime()).as("a checkpoint within 60 s").isLessThan(deadlineNow);
            Thread.sleep(200);
        }
        CliRun downRunning = CliRun.of("stack", "down", "--run-dir", runDir.toString());
        assertThat(downRunning.exit()).as(downRunning.err()).isEqualTo(0);
        String checkpoint =
                match(
                        downRunning.out(),
                        "job "
                                + resumedId
                                + " was running and is gone with the cluster: resume it after"
                                + " `stack up` with `streamgpt submit --from-savepoint (\\S+)`");
        assertThat(Path.of(checkpoint).resolve("_metadata")).exists();
        CliRun upAgain = CliRun.of("stack", "up", "--run-dir", runDir.toString());
        assertThat(upAgain.exit()).as(upAgain.err()).isEqualTo(0);
        assertThat(upAgain.out()).doesNotContain("already running");
        CliRun fromCheckpoint =
                CliRun.of(concat(List.of("submit", "--from-savepoint", checkpoint), job));
        assertThat(fromCheckpoint.exit()).as(fromCheckpoint.err()).isEqualTo(0);
        String thirdId = match(fromCheckpoint.out(), "job ([0-9a-f]{32}) submitted");
        awaitState(rest, thirdId, "RUNNING");
        int generationContinued =
                continued.stream().mapToInt(Reports.LossRecord::generation).max().orElseThrow();
        List<Reports.LossRecord> third =
                LossReader.readUntil(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        r -> r.generation() > generationContinued,
                        Duration.ofMinutes(4));
        Reports.LossRecord firstOfThird =
                third.stream()
                        .filter(r -> r.generation() > generationContinued)
                        .findFirst()
                        .orElseThrow();
        assertThat(firstOfThird.step())
                .as("resumed from the checkpoint `down` named")
                .isGreaterThanOrEqualTo(firstAfterKill.step());
        log("resumed from " + checkpoint + " at step " + firstOfThird.step(), t0);

        // ---- Kafka and the JobManager die (kill -9) under the running job: `stack up` brings
        // them back with the data (the job is gone with the JobManager: no HA)
        List<Reports.LossRecord> lossesBeforeCrash =
                LossReader.readAll(
                        KafkaClientSettings.plaintext(kafka),
                        "streamgpt-losses",
                        Duration.ofSeconds(30));
        Map<String, Long> offsetsBeforeCrash = endOffsets(kafka);
        Map<String, Long> taskManagers = new TreeMap<>();
        for (ManagedProcess service : List.of(stack.taskManager(0), stack.taskManager(1))) {
            taskManagers.put(service.name(), service.handle().orElseThrow().pid());
        }
        for (ManagedProcess dead : List.of(stack.kafka(), stack.jobManager())) {
            ProcessHandle process = dead.handle().orElseThrow();
            process.destroyForcibly();
            process.onExit().get(30, TimeUnit.SECONDS);
        }
        CliRun recovered = CliRun.of("stack", "up", "--run-dir", runDir.toString());
        assertThat(recovered.exit()).as(recovered.err()).isEqualTo(0);
        assertThat(recovered.out())
                .contains("started kafka (pid")
                .contains("started jobmanager (pid")
                .contains("prometheus already running");
        taskManagers.forEach(
                (name, pid) ->
                        assertThat(recovered.out())
                                .contains(name + " already running (pid " + pid + ")"));
        log("fifth up (kafka and jobmanager after kill -9)", t0);
        assertThat(clusterId(kafka))
                .as("the same Kafka cluster after a crash")
                .isEqualTo(clusterId);
        assertThat(endOffsets(kafka))
                .as("no record lost in the crash")
                .allSatisfy(
                        (topic, end) ->
                                assertThat(end)
                                        .isGreaterThanOrEqualTo(offsetsBeforeCrash.get(topic)));
        assertThat(
                        LossReader.readAll(
                                KafkaClientSettings.plaintext(kafka),
                                "streamgpt-losses",
                                Duration.ofSeconds(30)))
                .usingRecursiveFieldByFieldElementComparator()
                .startsWith(lossesBeforeCrash.toArray(Reports.LossRecord[]::new));
        log(
                "after kill -9 of the jobmanager, flink/tmp holds "
                        + listing(runDir.resolve("flink/tmp"))
                        + "; flink/uploads holds "
                        + listing(runDir.resolve("flink/uploads")),
                t0);
    }

    @Test
    void aServiceThatCannotStartIsOneLineNamingItAndItsLog() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CliRun up =
                    CliRun.of(
                            "stack",
                            "up",
                            "--run-dir",
                            runDir.toString(),
                            "--kafka-port",
                            String.valueOf(EmbeddedKafka.freePort()),
                            "--kafka-controller-port",
                            String.valueOf(taken.getLocalPort()),
                            "--flink-port",
                            String.valueOf(EmbeddedKafka.freePort()),
                            "--flink-rpc-port",
                            String.valueOf(EmbeddedKafka.freePort()),
                            "--no-prometheus");
            assertThat(up.exit()).as(up.out() + up.err()).isEqualTo(1);
            assertThat(up.err().strip())
                    .startsWith("streamgpt: kafka exited during start")
                    .contains(runDir.resolve("logs/kafka.log").toString())
                    .doesNotContain("\n")
                    .doesNotContain("\tat ");
            assertThat(up.out()).contains("started kafka").doesNotContain("jobmanager");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void log(String what, long since) {
        System.out.printf(
                "[restart IT] %s after %d s%n",
                what, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - since));
    }

    private static List<Long> pids(ClusterStack.Settings settings) {
        return new ClusterStack(settings).status().stream().flatMap(s -> s.pid().stream()).toList();
    }

    private static void assertNothingRuns(ClusterStack.Settings settings, List<Long> pids) {
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
                    .as("process %d after down", pid)
                    .isNotEqualTo(Optional.of(true));
        }
        List<Integer> ports =
                new ArrayList<>(
                        List.of(
                                settings.kafkaPort(),
                                settings.kafkaControllerPort(),
                                settings.flinkRestPort(),
                                settings.flinkRpcPort(),
                                settings.prometheusPort()));
        ports.addAll(settings.reporterPortList());
        for (int port : ports) {
            assertThat(ClusterStack.portInUse(port)).as("port %d after down", port).isFalse();
        }
        assertThat(pids(settings)).as("services running after down").isEmpty();
    }

    private static String listing(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return "nothing";
        }
        try (Stream<Path> files = Files.walk(dir, 2)) {
            return files.filter(p -> !p.equals(dir))
                    .map(p -> dir.relativize(p).toString())
                    .sorted()
                    .collect(Collectors.joining(" "));
        }
    }

    private static List<String> entries(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Admin admin(String kafka) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka));
    }

    private static String clusterId(String kafka) throws Exception {
        try (Admin admin = admin(kafka)) {
            return admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        }
    }

    /** Topic: the sum of its partitions' end offsets. */
    private static Map<String, Long> endOffsets(String kafka) throws Exception {
        try (Admin admin = admin(kafka)) {
            Map<String, TopicDescription> topics =
                    admin.describeTopics(TOPICS).allTopicNames().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
            topics.values()
                    .forEach(
                            t ->
                                    t.partitions()
                                            .forEach(
                                                    p ->
                                                            latest.put(
                                                                    new TopicPartition(
                                                                            t.name(),
                                                                            p.partition()),
                                                                    OffsetSpec.latest())));
            Map<String, Long> sums = new TreeMap<>();
            admin.listOffsets(latest)
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, info) -> sums.merge(tp.topic(), info.offset(), Long::sum));
            return sums;
        }
    }

    /** The evaluation time of the first sample of {@code query} Prometheus has (NaN if none). */
    private double prometheusSeriesTime(String query) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode series : prometheusQuery(query, null).path("data").path("result")) {
                double time = series.path("value").path(0).asDouble(Double.NaN);
                if (!Double.isNaN(time)) {
                    return time;
                }
            }
            Thread.sleep(1000);
        }
        return Double.NaN;
    }

    /** How many series {@code query} has at {@code time} (Prometheus' time, seconds). */
    private int prometheusResultsAt(String query, double time) throws Exception {
        return prometheusQuery(query, time).path("data").path("result").size();
    }

    private ClusterStack.Settings settings() throws Exception {
        return ClusterStack.startedIn(runDir).orElseThrow();
    }

    private JsonNode prometheusQuery(String query, Double time) throws Exception {
        URI uri =
                URI.create(
                        settings().prometheusUrl()
                                + "/api/v1/query?query="
                                + URLEncoder.encode(query, StandardCharsets.UTF_8)
                                + (time == null ? "" : "&time=" + time));
        return JSON.readTree(
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(uri).build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body());
    }
}
