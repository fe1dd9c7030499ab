package io.streamgpt.cli.stack;

import io.streamgpt.cli.CliRun;
import io.streamgpt.cli.CommandFailure;
import io.streamgpt.embedded.EmbeddedKafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a broker directory and a run directory keep across starts, without the stack: the cluster id
 * of a formatted Kafka directory (an in-JVM broker comes back with its topics), the refusal of
 * another cluster's or node's directory in one line, and the one-line failures of {@code stack}
 * about its own files.
 */
class StackRestartTest {

    @TempDir Path tmp;

    @Test
    void aBrokerStartedAgainOnItsDirectoryKeepsItsClusterIdTopicsAndRecords() throws Exception {
        Path dir = tmp.resolve("kafka");
        String clusterId;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, dir)) {
            clusterId = clusterId(kafka);
            try (Admin admin = admin(kafka)) {
                admin.createTopics(List.of(new NewTopic("kept", 1, (short) 1)))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            try (KafkaProducer<String, String> producer = producer(kafka)) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>("kept", "record " + i)).get();
                }
            }
        }
        String meta = Files.readString(dir.resolve("meta.properties"));
        assertThat(meta).contains("cluster.id=" + clusterId);

        // the second start used to fail: the formatter checked the directory against a new id
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, dir)) {
            assertThat(clusterId(kafka)).isEqualTo(clusterId);
            assertThat(readAll(kafka, "kept"))
                    .containsExactly(
                            "record 0",
                            "record 1",
                            "record 2",
                            "record 3",
                            "record 4",
                            "record 5",
                            "record 6",
                            "record 7",
                            "record 8",
                            "record 9");
        }
        assertThat(Files.readString(dir.resolve("meta.properties"))).isEqualTo(meta);
        assertThat(dir).as("a given directory is kept on close").isDirectory();
    }

    @Test
    void formatKeepsAFormattedDirectoryAndRefusesAnotherClusterOrNode() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        String id = EmbeddedKafka.format(dir);
        assertThat(EmbeddedKafka.clusterIdOf(dir)).contains(id);
        assertThat(EmbeddedKafka.format(dir)).isEqualTo(id);
        assertThat(EmbeddedKafka.format(dir, Optional.of(id))).isEqualTo(id);

        assertThatThrownBy(() -> EmbeddedKafka.format(dir, Optional.of("AAAAAAAAAAAAAAAAAAAAAA")))
                .isInstanceOf(EmbeddedKafka.ForeignLogDirectoryException.class)
                .hasMessageContaining("holds cluster " + id)
                .hasMessageContaining("not this stack's cluster AAAAAAAAAAAAAAAAAAAAAA")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));

        Path meta = dir.resolve("meta.properties");
        Files.writeString(meta, Files.readString(meta).replace("node.id=1", "node.id=2"));
        assertThatThrownBy(() -> EmbeddedKafka.start(0, dir))
                .isInstanceOf(EmbeddedKafka.ForeignLogDirectoryException.class)
                .hasMessageContaining("belongs to node 2 of cluster " + id)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));

        Files.writeString(meta, "not a meta.properties file\n");
        assertThatThrownBy(() -> EmbeddedKafka.format(dir))
                .isInstanceOf(EmbeddedKafka.ForeignLogDirectoryException.class)
                .hasMessageContaining("cannot read")
                .hasMessageContaining(meta.toString())
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void theStackRecordsItsClusterIdAndKeepsItAcrossStarts() throws Exception {
        Path kafkaDir = Files.createDirectories(tmp.resolve("run/kafka"));
        Path data = Files.createDirectories(kafkaDir.resolve("data"));
        String id = ClusterStack.formatKafka(kafkaDir, data);
        assertThat(Files.readString(kafkaDir.resolve("cluster.id")).trim()).isEqualTo(id);
        String meta = Files.readString(data.resolve("meta.properties"));
        assertThat(ClusterStack.formatKafka(kafkaDir, data)).isEqualTo(id);
        assertThat(Files.readString(data.resolve("meta.properties"))).isEqualTo(meta);

        // a run directory from before cluster.id was recorded: its directory's id is adopted
        Files.delete(kafkaDir.resolve("cluster.id"));
        assertThat(ClusterStack.formatKafka(kafkaDir, data)).isEqualTo(id);
        assertThat(Files.readString(kafkaDir.resolve("cluster.id")).trim()).isEqualTo(id);

        // the Kafka data deleted by hand: formatted again, as the same cluster
        deleteTree(data);
        Files.createDirectories(data);
        assertThat(ClusterStack.formatKafka(kafkaDir, data)).isEqualTo(id);
        assertThat(EmbeddedKafka.clusterIdOf(data)).contains(id);

        // another stack's Kafka directory copied in
        deleteTree(data);
        Path other = Files.createDirectories(tmp.resolve("other"));
        String otherId = EmbeddedKafka.format(other);
        Files.move(other, data);
        assertThatThrownBy(() -> ClusterStack.formatKafka(kafkaDir, data))
                .isInstanceOf(CommandFailure.class)
                .hasMessageStartingWith("kafka: the Kafka log directory " + data)
                .hasMessageContaining("holds cluster " + otherId)
                .hasMessageContaining("not this stack's cluster " + id);
    }

    @Test
    void stackUpOnAnotherClustersKafkaDirectoryIsOneLineAndExit1() throws Exception {
        Path runDir = tmp.resolve("run");
        Path data = Files.createDirectories(runDir.resolve("kafka/data"));
        String otherId = EmbeddedKafka.format(data);
        Files.writeString(runDir.resolve("kafka/cluster.id"), "AAAAAAAAAAAAAAAAAAAAAA\n");

        CliRun up = CliRun.of(upArgs(runDir));
        assertThat(up.exit()).as(up.err()).isEqualTo(1);
        assertThat(up.err().strip())
                .startsWith("streamgpt: kafka: the Kafka log directory " + data)
                .contains("holds cluster " + otherId)
                .doesNotContain("\n")
                .doesNotContain("\tat ");
        assertThat(runDir.resolve("kafka.pid")).as("nothing started").doesNotExist();
        assertThat(Files.readString(runDir.resolve("kafka/cluster.id")).trim())
                .isEqualTo("AAAAAAAAAAAAAAAAAAAAAA");
    }

    @Test
    void anUnreadableStackJsonIsOneLineAndExit1() throws Exception {
        Path runDir = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(runDir.resolve("stack.json"), "{\"home\": \"/x\", \"kafkaPort\": ");
        for (String command : List.of("status", "down")) {
            CliRun result = CliRun.of("stack", command, "--run-dir", runDir.toString());
            assertThat(result.exit()).as(command + ": " + result.err()).isEqualTo(1);
            assertThat(result.err().strip())
                    .startsWith("streamgpt: cannot read the stack settings " + runDir)
                    .doesNotContain("\n");
        }
        CliRun up = CliRun.of(upArgs(runDir));
        assertThat(up.exit()).as(up.err()).isEqualTo(1);
        assertThat(up.err().strip()).startsWith("streamgpt: cannot read the stack settings");
    }

    @Test
    void upWithOtherSettingsWhileTheStackRunsIsRefusedAndKeepsStackJson() throws Exception {
        Path runDir = Files.createDirectories(tmp.resolve("run"));
        // a "broker" of this run directory: a process whose command line names it
        Process fake = new ProcessBuilder("sh", "-c", "sleep 60", runDir.toString()).start();
        try {
            Files.writeString(runDir.resolve("kafka.pid"), fake.pid() + "\n");
            List<String> first = upArgs(runDir);
            ClusterStack.Settings recorded = settings(first);
            new com.fasterxml.jackson.databind.ObjectMapper()
                    .writeValue(runDir.resolve("stack.json").toFile(), recorded);
            String before = Files.readString(runDir.resolve("stack.json"));

            List<String> other = new ArrayList<>(first);
            int port = other.indexOf("--kafka-port") + 1;
            other.set(port, String.valueOf(EmbeddedKafka.freePort()));
            CliRun up = CliRun.of(other);
            assertThat(up.exit()).as(up.err()).isEqualTo(1);
            assertThat(up.err().strip())
                    .startsWith("streamgpt: the stack in " + runDir + " runs (kafka)")
                    .contains("kafkaPort " + recorded.kafkaPort() + " (given " + other.get(port))
                    .doesNotContain("\n");
            assertThat(Files.readString(runDir.resolve("stack.json"))).isEqualTo(before);
        } finally {
            fake.destroyForcibly().waitFor();
        }
    }

    @Test
    void lastErrorReportsTheRootCauseOfTheLatestStartOnly() throws Exception {
        Path runDir = Files.createDirectories(tmp.resolve("run"));
        ManagedProcess service = new ManagedProcess("svc", runDir);
        service.start(
                List.of(
                        "sh",
                        "-c",
                        "echo 'java.lang.IllegalStateException: old'; exit 1",
                        runDir.toString()),
                Map.of());
        awaitExit(service);
        service.start(
                List.of(
                        "sh",
                        "-c",
                        "echo '[x] ERROR Exiting (kafka.Kafka$)'; echo 'java.io.IOException: top';"
                                + " echo '\tat a.b.C(C.java:1)'; echo 'Caused by:"
                                + " java.net.BindException: Address already in use'; exit 1",
                        runDir.toString()),
                Map.of());
        awaitExit(service);
        assertThat(service.lastError())
                .contains("Caused by: java.net.BindException: Address already in use");
        service.start(List.of("sh", "-c", "echo fine; exit 1", runDir.toString()), Map.of());
        awaitExit(service);
        assertThat(service.lastError()).as("nothing of the earlier starts").isEmpty();
    }

    @Test
    void downNamesTheNewestCompletedCheckpointAndUpEmptiesOnlyTheStartingProcesssTmpDir()
            throws Exception {
        Path runDir = Files.createDirectories(tmp.resolve("run"));
        ClusterStack stack = new ClusterStack(settings(upArgs(runDir)));
        String job = "0123456789abcdef0123456789abcdef";
        assertThat(stack.latestCheckpoint(job)).isEmpty();
        Path checkpoints = Files.createDirectories(runDir.resolve("flink/checkpoints/" + job));
        for (String chk : List.of("chk-3", "chk-12", "chk-9")) {
            Files.createDirectories(checkpoints.resolve(chk));
            Files.writeString(checkpoints.resolve(chk).resolve("_metadata"), "x");
        }
        Files.createDirectories(checkpoints.resolve("chk-13")); // in progress: no _metadata
        Files.createDirectories(checkpoints.resolve("shared"));
        assertThat(stack.latestCheckpoint(job)).contains(checkpoints.resolve("chk-12"));

        Path tm = Files.createDirectories(runDir.resolve("flink/tmp/taskmanager-1/tm_x/blobs"));
        Files.writeString(tm.resolve("blob"), "left by a killed TaskManager");
        Files.writeString(runDir.resolve("flink/tmp/taskmanager-1/flink-rpc.jar"), "x");
        Path jm = Files.createDirectories(runDir.resolve("flink/tmp/jobmanager/jm_y"));
        Path fresh = stack.freshTmpDir(stack.taskManager(0));
        assertThat(fresh).isEqualTo(runDir.resolve("flink/tmp/taskmanager-1")).isEmptyDirectory();
        assertThat(jm).as("another process's tmp dir").isDirectory();
    }

    // ---------------------------------------------------------------- helpers

    private List<String> upArgs(Path runDir) throws Exception {
        return List.of(
                "stack",
                "up",
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
                "--no-prometheus");
    }

    private static ClusterStack.Settings settings(List<String> upArgs) {
        return new ClusterStack.Settings(
                Path.of(System.getProperty("streamgpt.home", "..")),
                Path.of(value(upArgs, "--run-dir")),
                Integer.parseInt(value(upArgs, "--kafka-port")),
                Integer.parseInt(value(upArgs, "--kafka-controller-port")),
                Integer.parseInt(value(upArgs, "--flink-port")),
                Integer.parseInt(value(upArgs, "--flink-rpc-port")),
                9090,
                "9249-9259",
                1,
                2,
                768,
                1024,
                false,
                false);
    }

    private static String value(List<String> args, String option) {
        return args.get(args.indexOf(option) + 1);
    }

    private static void awaitExit(ManagedProcess service) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (service.running() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(service.running()).isFalse();
    }

    private static String clusterId(EmbeddedKafka kafka) throws Exception {
        try (Admin admin = admin(kafka)) {
            return admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        }
    }

    private static Admin admin(EmbeddedKafka kafka) {
        return Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    private static KafkaProducer<String, String> producer(EmbeddedKafka kafka) {
        return new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(),
                new StringSerializer());
    }

    private static List<String> readAll(EmbeddedKafka kafka, String topic) {
        TopicPartition partition = new TopicPartition(topic, 0);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(
                        Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                        new StringDeserializer(),
                        new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (consumer.position(partition) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }

    private static void deleteTree(Path dir) throws Exception {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
