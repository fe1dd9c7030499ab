package io.streamgpt.connectors.kafka;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.records.PromptRecord;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.connectors.records.TopicRecord;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Kafka sources and sinks of the streamgpt job: text and prompts in, model chunks around,
 * reports and answers out.
 */
public final class KafkaStreams {

    private KafkaStreams() {}

    /**
     * Text records of a topic list or pattern. {@code startingOffsets}: earliest, committed (from
     * the earliest where the group has none), latest, or timestamp:EPOCH_MS.
     */
    public static KafkaSource<TextRecord> textSource(
            KafkaClientSettings kafka,
            List<String> topics,
            String topicPattern,
            String startingOffsets,
            String groupId) {
        var builder =
                KafkaSource.<TextRecord>builder()
                        .setProperties(kafka.clientProperties())
                        .setGroupId(groupId)
                        .setStartingOffsets(offsets(startingOffsets))
                        .setDeserializer(new TextDeserializer())
                        .setProperty("partition.discovery.interval.ms", "10000")
                        .setProperty("max.partition.fetch.bytes", String.valueOf(16 << 20));
        if (topicPattern != null && !topicPattern.isBlank()) {
            builder.setTopicPattern(Pattern.compile(topicPattern));
        } else {
            builder.setTopics(topics);
        }
        return builder.build();
    }

    /**
     * Model chunks from the model topic, from its end: chunks of earlier runs are not replayed.
     * Only chunks signed with the key at {@code secretLocation} pass (see {@link
     * ModelChunkRecords}).
     */
    public static KafkaSource<GlobalChunk> modelSource(
            KafkaClientSettings kafka, String topic, String secretLocation, String groupId) {
        return modelSource(kafka, topic, secretLocation, groupId, OffsetsInitializer.latest());
    }

    /** Verified model chunks from the model topic, from the given offsets. */
    public static KafkaSource<GlobalChunk> modelSource(
            KafkaClientSettings kafka,
            String topic,
            String secretLocation,
            String groupId,
            OffsetsInitializer startingOffsets) {
        Properties client = kafka.clientProperties();
        return KafkaSource.<GlobalChunk>builder()
                .setProperties(client)
                // the operating system's socket buffers unless the user set them: see modelSink
                .setProperty(
                        "receive.buffer.bytes", client.getProperty("receive.buffer.bytes", "-1"))
                .setGroupId(groupId)
                .setTopics(topic)
                .setStartingOffsets(startingOffsets)
                .setDeserializer(new ModelChunkRecords.Verifier(secretLocation))
                // a sync round waits on this fetch: answer at once rather than after the default
                // 500 ms
                .setProperty("fetch.max.wait.ms", "5")
                .setProperty("max.partition.fetch.bytes", String.valueOf(8 << 20))
                .build();
    }

    /**
     * Prompt requests, from the end of the topic: prompts are requests, not history. After a
     * restore the source resumes from its checkpointed offsets, so requests sent meanwhile are
     * answered (or expire, see PromptRequest's timeout).
     */
    public static KafkaSource<PromptRecord> promptSource(
            KafkaClientSettings kafka, String topic, String groupId) {
        return KafkaSource.<PromptRecord>builder()
                .setProperties(kafka.clientProperties())
                .setGroupId(groupId)
                .setTopics(topic)
                .setStartingOffsets(OffsetsInitializer.latest())
                .setDeserializer(new PromptDeserializer())
                // someone is waiting for the answer: do not sit on a fetch for the default 500 ms
                .setProperty("fetch.max.wait.ms", "20")
                .build();
    }

    /**
     * Model chunks to the model topic, keyed by chunk index so chunks spread over partitions, each
     * signed with the key at {@code secretLocation}.
     */
    public static KafkaSink<GlobalChunk> modelSink(
            KafkaClientSettings kafka, String topic, String secretLocation) {
        Properties client = kafka.clientProperties();
        return KafkaSink.<GlobalChunk>builder()
                .setKafkaProducerConfig(client)
                // unless the user set them, the operating system's socket buffers (-1: Linux grows
                // them with the traffic) instead of Kafka's 128 KB (producer) and 64 KB (consumer):
                // a round moves tens of MB through one connection, and with Kafka's buffers 43 MB
                // took 600-800 ms from send to receive on a 2-core machine, 440-570 ms with the
                // system's (docs/scaling.md)
                .setProperty("send.buffer.bytes", client.getProperty("send.buffer.bytes", "-1"))
                .setRecordSerializer(new ModelChunkRecords.Signer(topic, secretLocation))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setProperty("linger.ms", "0")
                .setProperty("max.request.size", String.valueOf(4 << 20))
                .build();
    }

    /** Each record's value to the record's own topic. */
    public static KafkaSink<TopicRecord> topicRecordSink(KafkaClientSettings kafka) {
        return KafkaSink.<TopicRecord>builder()
                .setKafkaProducerConfig(kafka.clientProperties())
                .setRecordSerializer(
                        (KafkaRecordSerializationSchema<TopicRecord>)
                                (record, context, timestamp) ->
                                        new ProducerRecord<>(
                                                record.topic(),
                                                null,
                                                timestamp,
                                                record.key() == null
                                                        ? null
                                                        : record.key()
                                                                .getBytes(StandardCharsets.UTF_8),
                                                record.value().getBytes(StandardCharsets.UTF_8)))
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setProperty("linger.ms", "0")
                .build();
    }

    /**
     * A consumer of UTF-8 records for readers outside the job (live view, samples, tests): a fresh
     * group, from the earliest offset, committing nothing.
     */
    public static KafkaConsumer<String, String> textConsumer(
            KafkaClientSettings kafka, String groupPrefix) {
        Properties props = readerProperties(kafka, groupPrefix);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(props);
    }

    /** As {@link #textConsumer}, for binary records of up to 8 MB (model chunks). */
    public static KafkaConsumer<byte[], byte[]> bytesConsumer(
            KafkaClientSettings kafka, String groupPrefix) {
        Properties props = readerProperties(kafka, groupPrefix);
        props.put(
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 << 20));
        return new KafkaConsumer<>(props);
    }

    private static Properties readerProperties(KafkaClientSettings kafka, String groupPrefix) {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, groupPrefix + "-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return props;
    }

    @SuppressWarnings("deprecation") // the connector still takes Kafka's OffsetResetStrategy
    static OffsetsInitializer offsets(String spec) {
        if (spec.startsWith("timestamp:")) {
            return OffsetsInitializer.timestamp(
                    Long.parseLong(spec.substring("timestamp:".length())));
        }
        return switch (spec) {
            case "earliest" -> OffsetsInitializer.earliest();
            case "latest" -> OffsetsInitializer.latest();
            case "committed" -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            default ->
                    throw new IllegalArgumentException(
                            "starting offsets must be earliest, committed, latest or"
                                    + " timestamp:EPOCH_MS, got "
                                    + spec);
        };
    }

    static final class TextDeserializer implements KafkaRecordDeserializationSchema<TextRecord> {
        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<TextRecord> out) {
            out.collect(
                    new TextRecord(
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            record.value() == null ? new byte[0] : record.value(),
                            record.timestamp()));
        }

        @Override
        public TypeInformation<TextRecord> getProducedType() {
            return TypeInformation.of(TextRecord.class);
        }
    }

    static final class PromptDeserializer
            implements KafkaRecordDeserializationSchema<PromptRecord> {
        @Override
        public void deserialize(
                ConsumerRecord<byte[], byte[]> record, Collector<PromptRecord> out) {
            out.collect(
                    new PromptRecord(
                            record.topic(),
                            record.partition(),
                            record.offset(),
                            record.timestamp(),
                            record.value() == null ? new byte[0] : record.value()));
        }

        @Override
        public TypeInformation<PromptRecord> getProducedType() {
            return TypeInformation.of(PromptRecord.class);
        }
    }
}
