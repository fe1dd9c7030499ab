package io.streamgpt.embedded;

import io.streamgpt.connectors.kafka.KafkaClientSettings;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.properties.MetaProperties;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real single-node Kafka broker (KRaft, broker and controller in one) inside this JVM, listening
 * on 127.0.0.1 only: what {@code streamgpt local} and the tests run against. It can be stopped and
 * started again on the same ports and log directory, as a broker outage.
 *
 * <p>{@link #startSecure} runs it as a secured cluster runs (see {@link BrokerSecurity}): SASL_SSL
 * with SCRAM-SHA-512 and a certificate made at start, KRaft's {@code StandardAuthorizer} with ACLs;
 * {@link #clientSettings()} is then the super user's, and {@link #addUser} and {@link #allow} make
 * principals with just the rights a test gives them.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private final KafkaConfig config;
    private final Path dataDir;
    private final boolean ownsDataDir;
    private final String bootstrapServers;
    private final BrokerSecurity security; // null: plaintext, no authorizer
    private final Path securityDir; // deleted on close when the broker made it
    private KafkaRaftServer server; // null while stopped

    private EmbeddedKafka(
            KafkaConfig config,
            Path dataDir,
            boolean ownsDataDir,
            String bootstrapServers,
            BrokerSecurity security,
            Path securityDir) {
        this.config = config;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
        this.bootstrapServers = bootstrapServers;
        this.security = security;
        this.securityDir = securityDir;
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
                        new KafkaConfig(p, false),
                        dir,
                        temporary,
                        "127.0.0.1:" + brokerPort,
                        null,
                        null);
        kafka.restart();
        return kafka;
    }

    /**
     * Starts a secured broker (SASL_SSL + SCRAM-SHA-512, TLS, ACLs: see {@link BrokerSecurity}) on
     * {@code port} (0: a free one), its log in {@code dataDir} and its certificate, passwords and
     * client configs in {@code securityDir} (null for either: a temporary directory, deleted on
     * close).
     */
    public static EmbeddedKafka startSecure(int port, Path dataDir, Path securityDir)
            throws IOException {
        boolean temporary = dataDir == null;
        Path dir =
                temporary
                        ? Files.createTempDirectory("streamgpt-kafka")
                        : Files.createDirectories(dataDir);
        Path secrets =
                securityDir == null
                        ? Files.createTempDirectory("streamgpt-kafka-security")
                        : securityDir;
        BrokerSecurity security = BrokerSecurity.in(secrets);
        int brokerPort = port == 0 ? freePort() : port;
        int controllerPort = freePort();
        Properties p =
                security.brokerProperties(
                        brokerProperties(brokerPort, controllerPort, dir),
                        brokerPort,
                        controllerPort);
        format(dir, Optional.empty(), security.scramArguments());
        EmbeddedKafka kafka =
                new EmbeddedKafka(
                        new KafkaConfig(p, false),
                        dir,
                        temporary,
                        "127.0.0.1:" + brokerPort,
                        security,
                        securityDir == null ? secrets : null);
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
        p.put("node.id", String.valueOf(NODE_ID));
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
        // the operating system's socket buffers (which Linux grows with the traffic) rather than
        // Kafka's 100 KB: every sync round moves tens of MB through one connection each way
        p.put("socket.send.buffer.bytes", "-1");
        p.put("socket.receive.buffer.bytes", "-1");
        return p;
    }

    /** The node id of streamgpt's single-node broker, in every directory it formats. */
    public static final int NODE_ID = 1;

    /**
     * A Kafka log directory that belongs to another cluster or another node than the one it is
     * started for: its message is one line that says which and what to do.
     */
    public static final class ForeignLogDirectoryException extends IOException {
        public ForeignLogDirectoryException(String message) {
            super(message);
        }
    }

    /**
     * Formats {@code dir} as the log and metadata directory of a new cluster and returns its
     * cluster id; a formatted one is left as it is and its cluster id returned, so that a broker
     * comes back with its topics on every start after the first.
     */
    public static String format(Path dir) throws IOException {
        return format(dir, Optional.empty());
    }

    /**
     * Like {@link #format(Path)}; a new directory gets {@code expectedClusterId} (when given, else
     * a random one). A formatted directory of another node than {@link #NODE_ID}, or of another
     * cluster than {@code expectedClusterId}, is refused with a {@link
     * ForeignLogDirectoryException}.
     */
    public static String format(Path dir, Optional<String> expectedClusterId) throws IOException {
        return format(dir, expectedClusterId, List.of());
    }

    /**
     * Like {@link #format(Path, Optional)}, with SCRAM credentials for the first metadata ({@code
     * MECHANISM=[name=USER,password=PASSWORD]} each, as {@code kafka-storage format --add-scram}).
     */
    public static String format(
            Path dir, Optional<String> expectedClusterId, List<String> scramArguments)
            throws IOException {
        Optional<String> existing = clusterIdOf(dir);
        if (existing.isPresent()) {
            if (expectedClusterId.isPresent() && !expectedClusterId.get().equals(existing.get())) {
                throw new ForeignLogDirectoryException(
                        "the Kafka log directory "
                                + dir
                                + " holds cluster "
                                + existing.get()
                                + ", not this stack's cluster "
                                + expectedClusterId.get()
                                + ": it comes from another run directory; move it away (an empty"
                                + " one is formatted) or use that run directory");
            }
            return existing.get(); // formatted on an earlier start: keep its topics
        }
        String clusterId = expectedClusterId.orElseGet(() -> Uuid.randomUuid().toString());
        try {
            new Formatter()
                    .setNodeId(NODE_ID)
                    .setClusterId(clusterId)
                    .addDirectory(dir.toString())
                    .setMetadataLogDirectory(dir.toString())
                    .setControllerListenerName("CONTROLLER")
                    .setIgnoreFormatted(false)
                    .setScramArguments(scramArguments)
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .run();
        } catch (Exception e) {
            throw new IOException(
                    "could not format the Kafka log directory " + dir + ": " + e.getMessage(), e);
        }
        return clusterId;
    }

    /**
     * The cluster id {@code dir}'s meta.properties records, empty when the directory is not
     * formatted yet; a directory of another node than {@link #NODE_ID}, or one whose
     * meta.properties cannot be read, is refused.
     */
    public static Optional<String> clusterIdOf(Path dir) throws IOException {
        if (!Files.exists(dir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME))) {
            return Optional.empty();
        }
        MetaPropertiesEnsemble ensemble;
        try {
            ensemble =
                    new MetaPropertiesEnsemble.Loader()
                            .addLogDirs(List.of(dir.toString()))
                            .addMetadataLogDir(dir.toString())
                            .load();
        } catch (IOException | RuntimeException e) {
            throw new ForeignLogDirectoryException(
                    "cannot read "
                            + dir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME)
                            + " ("
                            + e.getMessage()
                            + "): not a Kafka log directory streamgpt can start");
        }
        MetaProperties properties = ensemble.logDirProps().get(dir.toString());
        if (properties == null || properties.clusterId().isEmpty()) {
            throw new ForeignLogDirectoryException(
                    "cannot read the cluster id of "
                            + dir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME)
                            + ": not a Kafka log directory streamgpt can start");
        }
        OptionalInt nodeId = properties.nodeId();
        if (nodeId.isEmpty() || nodeId.getAsInt() != NODE_ID) {
            throw new ForeignLogDirectoryException(
                    "the Kafka log directory "
                            + dir
                            + " belongs to node "
                            + (nodeId.isPresent() ? String.valueOf(nodeId.getAsInt()) : "?")
                            + " of cluster "
                            + properties.clusterId().get()
                            + ", not to streamgpt's single-node broker (node "
                            + NODE_ID
                            + "): it is another cluster's; use an empty directory");
        }
        return properties.clusterId();
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * What a client of this broker is made from: plaintext, or for a secured broker the super
     * user's client config file.
     */
    public KafkaClientSettings clientSettings() {
        return security == null
                ? KafkaClientSettings.plaintext(bootstrapServers)
                : new KafkaClientSettings(
                        bootstrapServers, security.adminConfig().toString(), Map.of());
    }

    /** The secured broker's files, or null for a plaintext one. */
    public BrokerSecurity security() {
        return security;
    }

    /**
     * Adds (or changes) SCRAM user {@code user} and returns client settings that authenticate as
     * it, through a client config file next to the admin's; the user may do nothing until {@link
     * #allow} gives it rights.
     */
    public KafkaClientSettings addUser(String user, String password) throws IOException {
        requireSecure();
        try (Admin admin = Admin.create(clientSettings().clientProperties())) {
            admin.alterUserScramCredentials(
                            List.of(
                                    new UserScramCredentialUpsertion(
                                            user,
                                            new ScramCredentialInfo(
                                                    ScramMechanism.SCRAM_SHA_512, 8192),
                                            password)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("could not add SCRAM user " + user + ": " + e.getMessage(), e);
        }
        Path file =
                security.writeClientConfig(
                        security.directory().resolve("client-" + user + ".properties"),
                        user,
                        password);
        return new KafkaClientSettings(bootstrapServers, file.toString(), Map.of());
    }

    /** Creates ACLs, as the super user. */
    public void allow(Collection<AclBinding> acls) throws IOException {
        requireSecure();
        try (Admin admin = Admin.create(clientSettings().clientProperties())) {
            admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("could not create ACLs: " + e.getMessage(), e);
        }
    }

    private void requireSecure() {
        if (security == null) {
            throw new IllegalStateException("a plaintext broker has no users: use startSecure");
        }
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
        try (Admin admin = Admin.create(clientSettings().clientProperties())) {
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
            delete(dataDir);
        }
        if (securityDir != null) {
            delete(securityDir);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A port that is free on 127.0.0.1 now (for servers of this machine's tests and tools). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
