package io.streamgpt.connectors.kafka;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.ModelChunkRejections;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.connectors.chunks.ModelChunkTypeInfo;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.Iterator;

/**
 * Model chunks as signed Kafka records: the value is {@link ModelChunkFormat}'s, the header {@value
 * ModelLoopAuthenticator#HEADER} its HMAC. A reader verifies the tag before it parses anything, so
 * a record that does not come from a holder of the job's key costs one HMAC and a counter.
 */
public final class ModelChunkRecords {

    private static final Logger LOG = LoggerFactory.getLogger(ModelChunkRecords.class);

    /** What the model source counts: the reasons decided before a chunk reaches a reader. */
    public static final Reason[] SOURCE_REASONS = {
        Reason.UNSIGNED, Reason.BAD_SIGNATURE, Reason.MALFORMED, Reason.NOT_GLOBAL
    };

    private ModelChunkRecords() {}

    /** {@code chunk} as a record of {@code topic}, keyed by its index, signed. */
    public static ProducerRecord<byte[], byte[]> signed(
            String topic, GlobalChunk chunk, Long timestamp, ModelLoopAuthenticator signer) {
        byte[] value = ModelChunkFormat.serialize(chunk);
        RecordHeaders headers = new RecordHeaders();
        headers.add(ModelLoopAuthenticator.HEADER, signer.sign(topic, value));
        return new ProducerRecord<>(
                topic,
                null,
                timestamp,
                ByteBuffer.allocate(4).putInt(chunk.chunk()).array(),
                value,
                headers);
    }

    /**
     * The chunk of {@code record} if exactly one tag verifies its value and the value parses, else
     * null with the reason counted in {@code rejections} (and logged at the 1st, 2nd, 4th, ... of
     * each reason, so a flood of forgeries cannot flood the log).
     */
    public static ModelChunk verified(
            ConsumerRecord<byte[], byte[]> record,
            ModelLoopAuthenticator verifier,
            ModelChunkRejections rejections) {
        Iterator<Header> tags = record.headers().headers(ModelLoopAuthenticator.HEADER).iterator();
        Header tag = tags.hasNext() ? tags.next() : null;
        if (tag == null || tags.hasNext() || record.value() == null) {
            return reject(record, Reason.UNSIGNED, rejections, "no single HMAC header");
        }
        if (!verifier.verifies(record.topic(), record.value(), tag.value())) {
            return reject(record, Reason.BAD_SIGNATURE, rejections, "HMAC does not verify");
        }
        try {
            return ModelChunkFormat.deserialize(record.value());
        } catch (IllegalArgumentException e) {
            return reject(record, Reason.MALFORMED, rejections, e.getMessage());
        }
    }

    private static ModelChunk reject(
            ConsumerRecord<byte[], byte[]> record,
            Reason reason,
            ModelChunkRejections rejections,
            String why) {
        long n = rejections.reject(reason);
        if (ModelChunkRejections.worthLogging(n)) {
            LOG.warn(
                    "dropping model topic record {}-{}@{}: {} ({} dropped for this reason so"
                            + " far)",
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    why,
                    n);
        }
        return null;
    }

    /** The model sink's serializer: signs each chunk with the key at {@code secretLocation}. */
    static final class Signer implements KafkaRecordSerializationSchema<GlobalChunk> {
        private final String topic;
        private final String secretLocation;
        private transient ModelLoopAuthenticator signer;

        Signer(String topic, String secretLocation) {
            this.topic = topic;
            this.secretLocation = secretLocation;
        }

        @Override
        public void open(
                SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
            signer = ModelLoopAuthenticator.fromSecret(secretLocation);
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                GlobalChunk chunk, KafkaSinkContext context, Long timestamp) {
            return signed(topic, chunk, timestamp, signer);
        }
    }

    /**
     * The model source's deserializer: only global chunks whose tag verifies under the key at
     * {@code secretLocation} go on; the rest are counted by reason.
     */
    static final class Verifier implements KafkaRecordDeserializationSchema<GlobalChunk> {
        private final String secretLocation;
        private transient ModelLoopAuthenticator verifier;
        private transient ModelChunkRejections rejections;

        Verifier(String secretLocation) {
            this.secretLocation = secretLocation;
        }

        @Override
        public void open(DeserializationSchema.InitializationContext context) {
            verifier = ModelLoopAuthenticator.fromSecret(secretLocation);
            rejections =
                    new ModelChunkRejections().bindTo(context.getMetricGroup(), SOURCE_REASONS);
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<GlobalChunk> out) {
            ModelChunk chunk = verified(record, verifier, rejections);
            if (chunk instanceof GlobalChunk global) {
                out.collect(global);
            } else if (chunk != null) {
                reject(record, Reason.NOT_GLOBAL, rejections, "a contribution, not a global chunk");
            }
        }

        @Override
        public TypeInformation<GlobalChunk> getProducedType() {
            return ModelChunkTypeInfo.GLOBAL_CHUNK;
        }
    }
}
