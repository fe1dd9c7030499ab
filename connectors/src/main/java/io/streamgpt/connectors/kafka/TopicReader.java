package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a topic as it is at the time of the call, for the tools outside the job ({@code samples},
 * {@code export}, benchmarks, tests): all of it, or the newest records of each partition. Records
 * written after the call started are not waited for, so a job that keeps writing never keeps a read
 * going.
 *
 * <pre>{@code
 * try (TopicReader reader = TopicReader.open(KafkaClientSettings.plaintext("127.0.0.1:9092"))) {
 *     for (ConsumerRecord<byte[], byte[]> r : reader.readNewest("streamgpt-samples", 5, Duration.ofSeconds(10))) {
 *         System.out.println(TopicReader.text(r));
 *     }
 * }
 * }</pre>
 */
public final class TopicReader implements AutoCloseable {

    private final String bootstrapServers;
    private final KafkaConsumer<byte[], byte[]> consumer;

    private TopicReader(String bootstrapServers, KafkaConsumer<byte[], byte[]> consumer) {
        this.bootstrapServers = bootstrapServers;
        this.consumer = consumer;
    }

    /** A reader of a fresh consumer group that commits nothing. */
    public static TopicReader open(KafkaClientSettings kafka) {
        return new TopicReader(
                kafka.bootstrapServers(), KafkaStreams.bytesConsumer(kafka, "streamgpt-reader"));
    }

    /**
     * Every record of {@code topic}, partition by partition, up to its end at the time of the call.
     */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic, Duration timeout) {
        return read(topic, Integer.MAX_VALUE, timeout);
    }

    /** The newest {@code perPartition} records of each partition of {@code topic}. */
    public List<ConsumerRecord<byte[], byte[]>> readNewest(
            String topic, int perPartition, Duration timeout) {
        return read(topic, perPartition, timeout);
    }

    private List<ConsumerRecord<byte[], byte[]>> read(
            String topic, long perPartition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<TopicPartition> partitions = partitions(topic, timeout);
        consumer.assign(partitions);
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
        for (TopicPartition p : partitions) {
            consumer.seek(p, Math.max(begin.get(p), end.get(p) - perPartition));
        }
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "could not read "
                                + topic
                                + " at "
                                + bootstrapServers
                                + " within "
                                + timeout.toSeconds()
                                + " s");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset()
                        < end.get(new TopicPartition(record.topic(), record.partition()))) {
                    records.add(record);
                }
            }
        }
        return records;
    }

    /**
     * Records written after the last read's end, waiting at most {@code timeout}: how {@code
     * samples --follow} goes on from the newest records.
     */
    public List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        consumer.poll(timeout).forEach(records::add);
        return records;
    }

    /** The partitions of {@code topic}; a missing topic or a silent Kafka is one line. */
    public List<TopicPartition> partitions(String topic, Duration timeout) {
        List<PartitionInfo> infos;
        try {
            infos = consumer.partitionsFor(topic, timeout);
        } catch (TimeoutException e) {
            throw new IllegalStateException(
                    "Kafka at "
                            + bootstrapServers
                            + " did not answer within "
                            + timeout.toSeconds()
                            + " s");
        }
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("no topic " + topic + " at " + bootstrapServers);
        }
        return infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    }

    /** A record's value as UTF-8 text (empty for none). */
    public static String text(ConsumerRecord<byte[], byte[]> record) {
        return record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
    }

    /**
     * Makes a read or poll in progress on another thread end with Kafka's {@code WakeupException}:
     * how a following reader is stopped.
     */
    public void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close();
    }
}
