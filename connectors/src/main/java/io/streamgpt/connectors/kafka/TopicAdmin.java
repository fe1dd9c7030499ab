package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Creates the topics streamgpt uses, once, with the settings they need. */
public final class TopicAdmin {

    /** A topic to create: name, partitions and topic configs (e.g. max.message.bytes). */
    public record TopicSpec(String name, int partitions, Map<String, String> configs) {}

    private TopicAdmin() {}

    /**
     * Creates the topics that do not exist yet (replication factor 1 on a one-broker cluster) and
     * returns the names of those it created.
     */
    public static List<String> ensureTopics(KafkaClientSettings kafka, List<TopicSpec> topics) {
        String bootstrapServers = kafka.bootstrapServers();
        Properties props = kafka.clientProperties();
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
            int brokers = admin.describeCluster().nodes().get(15, TimeUnit.SECONDS).size();
            short replication = (short) Math.min(3, brokers);
            List<NewTopic> missing = new ArrayList<>();
            for (TopicSpec t : topics) {
                if (!existing.contains(t.name())
                        && missing.stream().noneMatch(m -> m.name().equals(t.name()))) {
                    missing.add(
                            new NewTopic(t.name(), t.partitions(), replication)
                                    .configs(t.configs()));
                }
            }
            List<String> created = new ArrayList<>();
            for (var result : admin.createTopics(missing).values().entrySet()) {
                try {
                    result.getValue().get(30, TimeUnit.SECONDS);
                    created.add(result.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause()
                            instanceof TopicExistsException)) { // a concurrent creator won: fine
                        throw new IllegalStateException(
                                "could not create topic "
                                        + result.getKey()
                                        + " at "
                                        + bootstrapServers
                                        + ": "
                                        + e.getCause().getMessage(),
                                e);
                    }
                }
            }
            return created;
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "could not list topics at "
                            + bootstrapServers
                            + ": "
                            + e.getCause().getMessage(),
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException(
                    "Kafka at " + bootstrapServers + " did not answer within 15 s", e);
        }
    }
}
