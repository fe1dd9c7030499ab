package io.streamgpt.embedded;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one) inside this JVM, listening
 * on 127.0.0.1 only: what {@code streamgpt local} and the tests run against. It can be stopped and
 * started again on the same ports and log directory, as a broker outage.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private final KafkaConfig config;
    private final Path dataDir;
    private final boolean ownsDataDir;
    private final String bootstrapServers;
    private KafkaRaftServer server; // null while stopped

    private EmbeddedKafka(
            KafkaConfig config, Path dataDir, boolean ownsDataDir, String bootstrapServers) {
        this.config = config;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
        this.bootstrapServers = bootstrapServers;
    }

    /**
     * Starts a broker on {@code port} (0 picks a free one) with its log in {@code dataDir} (null: a
     * temporary directory, deleted on close).
     */
    public static EmbeddedKafka start(int port, Path dataDir) throws IOException {
        boolean temporary = dataDir == null;
        Path dir =
                temporary
                        ? Files.createTempDirectory("streamgpt-kafka")
                        : Files.createDirectories(dataDir);
        int brokerPort = port == 0 ? freePort() : port;
        int controllerPort = freePort();
        Properties p = brokerProperties(brokerPort, controllerPort, dir);
        format(dir);
        EmbeddedKafka kafka =
                new EmbeddedKafka(
                        new KafkaConfig(p, false), dir, temporary, "127.0.0.1:" + brokerPort);
        kafka.restart();
        return kafka;
    }

    /**
     * A single-node KRaft broker + controller on 127.0.0.1 with its log in {@code dir}: also the
     * stack's broker.
     */
    public static Properties brokerProperties(int brokerPort, int controllerPort, Path dir) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put(
                "listeners",
                "PLAINTEXT://127.0.0.1:"
                        + brokerPort
                        + ",CONTROLLER://127.0.0.1:"
                        + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dir.toString());
        // one broker: every internal topic has a single replica
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        return p;
    }

    /**
     * Formats {@code dir} as the log and metadata directory of a new cluster; a formatted one is
     * left as it is.
     */
    public static void format(Path dir) throws IOException {
        try {
            new Formatter()
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .addDirectory(dir.toString())
                    .setMetadataLogDirectory(dir.toString())
                    .setControllerListenerName("CONTROLLER")
                    .setIgnoreFormatted(true)
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .run();
        } catch (Exception e) {
            throw new IOException("could not format the Kafka log directory " + dir, e);
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Shuts the broker down, keeping its ports and log for {@link #restart}; clients see an outage.
     */
    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
    }

    /** Starts the broker (again) on the same ports and log directory; returns once it answers. */
    public synchronized void restart() throws IOException {
        if (server != null) {
            return;
        }
        KafkaRaftServer started = new KafkaRaftServer(config, Time.SYSTEM);
        started.startup();
        server = started;
        try (Admin admin =
                Admin.create(
                        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            stop();
            throw new IOException("embedded Kafka did not come up on " + bootstrapServers, e);
        }
    }

    @Override
    public void close() {
        stop();
        if (ownsDataDir) {
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A port that is free on 127.0.0.1 now (for servers of this machine's tests and tools). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
