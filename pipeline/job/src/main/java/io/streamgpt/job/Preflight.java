package io.streamgpt.job;

import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Checks, before a job starts, what would otherwise fail only once it runs: that Kafka answers, and
 * that an existing model topic can carry the job's model chunks. Each problem is an {@link
 * IllegalArgumentException} with one line (exit code 2 on the command line).
 *
 * <ul>
 *   <li>Kafka at {@code bootstrap_servers} answers within the timeout.
 *   <li>The model topic, if it exists, has at least {@code averager_parallelism} partitions. Chunks
 *       spread over the partitions by chunk index, and partitions are what the broker appends and
 *       serves in parallel: with fewer partitions than averager subtasks, the extra subtasks only
 *       queue behind each other on the topic, a sign that the two were not sized together.
 *   <li>The model topic, if it exists, takes messages ({@code max.message.bytes}, the topic's own
 *       setting or the broker's default) as large as one model chunk: {@code chunk_size} floats,
 *       one loss per replica, the chunk header and Kafka's record framing. A smaller limit would
 *       stop the job at its first sync round.
 * </ul>
 *
 * Missing topics are not errors here: {@link StreamingTrainerJob#createTopics} creates the job's
 * own topics with the settings they need, and the text topics it is told to read.
 */
public final class Preflight {

    /** How long the checks wait for Kafka by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /**
     * A record batch header (61 bytes) and one record's framing with its 4-byte key (at most 36),
     * rounded up.
     */
    static final int KAFKA_RECORD_OVERHEAD = 128;

    private Preflight() {}

    /**
     * Checks {@code config} against its Kafka, waiting at most {@link #DEFAULT_TIMEOUT} for each
     * answer.
     */
    public static void check(JobConfig config) {
        check(config, DEFAULT_TIMEOUT);
    }

    /** Checks {@code config} against its Kafka, waiting at most {@code timeout} for each answer. */
    public static void check(JobConfig config, Duration timeout) {
        try (Connection kafka = new Connection(config.kafka().clientSettings(), timeout)) {
            kafka.get(kafka.admin.describeCluster().nodes());
            checkModelTopic(kafka, config);
        }
    }

    /**
     * Checks the model topic only, if it exists: what {@link StreamingTrainerJob#createTopics} ends
     * with.
     */
    static void checkModelTopic(JobConfig config) {
        try (Connection kafka = new Connection(config.kafka().clientSettings(), DEFAULT_TIMEOUT)) {
            checkModelTopic(kafka, config);
        }
    }

    /** Bytes Kafka must accept in one message of the model topic. */
    static int modelMessageBytes(JobConfig config) {
        return ModelChunkFormat.serializedSize(config.sync().chunkSize(), config.replicas().count())
                + KAFKA_RECORD_OVERHEAD;
    }

    private static void checkModelTopic(Connection kafka, JobConfig config) {
        String topic = config.topics().model();
        if (!kafka.get(kafka.admin.listTopics().names()).contains(topic)) {
            return;
        }
        TopicDescription description =
                kafka.get(kafka.admin.describeTopics(List.of(topic)).topicNameValues().get(topic));
        int partitions = description.partitions().size();
        if (partitions < config.sync().averagerParallelism()) {
            throw new IllegalArgumentException(
                    "model topic "
                            + topic
                            + " has "
                            + partitions
                            + " partition(s), fewer than"
                            + " averager_parallelism ("
                            + config.sync().averagerParallelism()
                            + "): add partitions to it or lower"
                            + " the averager parallelism");
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config topicConfig =
                kafka.get(kafka.admin.describeConfigs(List.of(resource)).values().get(resource));
        ConfigEntry maxMessage = topicConfig.get("max.message.bytes");
        int needed = modelMessageBytes(config);
        if (maxMessage != null
                && maxMessage.value() != null
                && Long.parseLong(maxMessage.value()) < needed) {
            throw new IllegalArgumentException(
                    "model topic "
                            + topic
                            + " takes messages of at most "
                            + maxMessage.value()
                            + " bytes (max.message.bytes), a model chunk of chunk-size "
                            + config.sync().chunkSize()
                            + " needs "
                            + needed
                            + ": raise the topic's max.message.bytes or lower the chunk size");
        }
    }

    /**
     * An admin client that waits at most the timeout for any answer and turns every failure into
     * one line.
     */
    private static final class Connection implements AutoCloseable {
        private final String bootstrapServers;
        private final Duration timeout;
        private final Admin admin;

        Connection(KafkaClientSettings kafka, Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException(
                        "the Kafka timeout must be positive, got " + timeout.toMillis() + " ms");
            }
            this.bootstrapServers = kafka.bootstrapServers();
            this.timeout = timeout;
            String ms = String.valueOf(timeout.toMillis());
            Properties props = kafka.clientProperties();
            props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
            props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
            props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, ms);
            props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, ms);
            try {
                admin = Admin.create(props);
            } catch (KafkaException e) { // e.g. no resolvable bootstrap address
                throw new IllegalArgumentException(
                        "cannot reach Kafka at " + bootstrapServers + ": " + oneLine(e), e);
            }
        }

        <T> T get(KafkaFuture<T> future) {
            try {
                // the admin client gives up after the timeout; the extra second only guards against
                // a hang
                return future.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw unreachable(e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                    throw unreachable(e.getCause());
                }
                throw new IllegalArgumentException(
                        "Kafka at "
                                + bootstrapServers
                                + " refused a check: "
                                + oneLine(e.getCause()),
                        e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(
                        "interrupted while checking Kafka at " + bootstrapServers, e);
            }
        }

        private IllegalArgumentException unreachable(Throwable cause) {
            return new IllegalArgumentException(
                    "cannot reach Kafka at "
                            + bootstrapServers
                            + " within "
                            + seconds(timeout), // the CLI adds what to do about it
                    cause);
        }

        @Override
        public void close() {
            admin.close(
                    Duration.ZERO); // nothing is pending after a check: do not wait for calls given
            // up on
        }
    }

    private static String seconds(Duration timeout) {
        long ms = timeout.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s+", " ").strip();
    }
}
