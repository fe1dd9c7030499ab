package io.streamgpt.connectors.client;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.kafka.TopicReader;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The compacted metadata topic: one {@link ModelMetadata} record per model topic, keyed by its
 * name. Every read of metadata goes through {@link #read}, the one place to authenticate it.
 */
public final class ModelMetadataTopic {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private ModelMetadataTopic() {}

    /**
     * The topic's spec: one partition, compacted, so the newest record per key is kept for ever.
     */
    public static TopicAdmin.TopicSpec spec(String metadataTopic) {
        return new TopicAdmin.TopicSpec(metadataTopic, 1, Map.of("cleanup.policy", "compact"));
    }

    /**
     * Publishes {@code metadata} under its model topic on the metadata topic, which the caller made
     * with {@link #spec} (with the job's other topics, in one admin call).
     *
     * @throws IllegalArgumentException if the topic already describes a different model (shape or
     *     vocabulary) for that model topic: its chunks would be read as this job's
     */
    public static void publish(
            KafkaClientSettings kafka, String metadataTopic, ModelMetadata metadata) {
        Optional<ModelMetadata> existing =
                read(kafka, metadataTopic, metadata.modelTopic(), TIMEOUT);
        if (existing.isPresent() && !existing.get().sameModel(metadata)) {
            throw new IllegalArgumentException(
                    "the model topic "
                            + metadata.modelTopic()
                            + " holds another job's model ("
                            + existing.get()
                                    .mismatch(metadata.config(), metadata.vocabulary())
                                    .replace("(given)", "(this job)")
                                    .replace("(the job's)", "(on the topic)")
                            + ", by "
                            + metadataTopic
                            + "): give this job another --model-topic, or delete both topics");
        }
        try (TextFeeder feeder = new TextFeeder(kafka, metadataTopic, 1024)) {
            feeder.sendAndWait(
                    metadata.modelTopic().getBytes(StandardCharsets.UTF_8),
                    metadata.toJson(),
                    TIMEOUT);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not publish the model metadata to " + metadataTopic, e);
        }
    }

    /**
     * The newest metadata of {@code modelTopic}; empty if there is none (or the metadata topic is
     * missing).
     *
     * @throws IllegalStateException if Kafka does not answer, or the newest record is not metadata
     *     this build reads
     */
    public static Optional<ModelMetadata> read(
            KafkaClientSettings kafka, String metadataTopic, String modelTopic, Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> records;
        try (TopicReader reader = TopicReader.open(kafka)) {
            try {
                records = reader.readAll(metadataTopic, timeout);
            } catch (IllegalStateException e) {
                if (e.getMessage().startsWith("no topic ")) {
                    return Optional.empty();
                }
                throw e;
            }
        }
        ConsumerRecord<byte[], byte[]> newest = null;
        byte[] key = modelTopic.getBytes(StandardCharsets.UTF_8);
        for (ConsumerRecord<byte[], byte[]> record : records) {
            if (java.util.Arrays.equals(key, record.key())) {
                newest = record.value() == null ? null : record; // null: a deleted entry
            }
        }
        if (newest == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(ModelMetadata.fromJson(newest.value()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(
                    "the metadata of "
                            + modelTopic
                            + " on "
                            + metadataTopic
                            + ": "
                            + e.getMessage());
        }
    }
}
