package io.streamgpt.connectors.client;

import io.streamgpt.connectors.chunks.ModelChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.kafka.KafkaStreams;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Finds the newest complete global model on the model topic, for {@code export}. Only the topic's
 * tail is read: the last record of a partition tells how many chunks a round has, and the last
 * three rounds' worth of records of every partition hold at least one complete round (a partition
 * receives the same chunk indices every round). "Newest" is the highest (generation, round): a
 * restored job writes a higher generation.
 */
public final class ModelTopicReader {

    /** A complete global model version. */
    public record Newest(int generation, long round, long step, float[] parameters) {}

    private record Version(int generation, long round) {}

    private static final Comparator<Version> ORDER =
            Comparator.comparingInt(Version::generation).thenComparingLong(Version::round);

    private ModelTopicReader() {}

    /**
     * @throws IllegalStateException if the topic is missing, empty or holds no complete round
     */
    public static Newest newest(String bootstrapServers, String topic, Duration timeout) {
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        try (KafkaConsumer<byte[], byte[]> consumer =
                KafkaStreams.bytesConsumer(bootstrapServers, "streamgpt-export")) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, timeout);
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
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
            List<TopicPartition> partitions =
                    infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);

            int chunkCount = lastChunkCount(consumer, partitions, begin, end, deadline);
            if (chunkCount == 0) {
                throw new IllegalStateException(
                        "the model topic "
                                + topic
                                + " holds no model chunks: has the job completed a sync round?");
            }
            for (TopicPartition p : partitions) {
                consumer.seek(p, Math.max(begin.get(p), end.get(p) - 3L * chunkCount));
            }
            Newest newest = null;
            TreeMap<Version, Slices> partial = new TreeMap<>(ORDER);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException(
                            "reading the model topic "
                                    + topic
                                    + " took longer than "
                                    + timeout.toSeconds()
                                    + " s");
                }
                for (ConsumerRecord<byte[], byte[]> record :
                        consumer.poll(Duration.ofMillis(500))) {
                    if (record.offset()
                            >= end.get(new TopicPartition(record.topic(), record.partition()))) {
                        continue; // written after we started: the tail we read is fixed
                    }
                    ModelChunk chunk = chunk(record.value());
                    if (chunk == null || chunk.kind() != ModelChunk.Kind.GLOBAL) {
                        continue;
                    }
                    Version version = new Version(chunk.generation(), chunk.round());
                    if (newest != null
                            && ORDER.compare(
                                            version,
                                            new Version(newest.generation(), newest.round()))
                                    <= 0) {
                        continue;
                    }
                    Slices slices =
                            partial.computeIfAbsent(version, v -> new Slices(chunk.chunkCount()));
                    if (slices.add(chunk)) {
                        newest =
                                new Newest(
                                        version.generation(),
                                        version.round(),
                                        slices.step,
                                        slices.concat());
                        partial.headMap(version, true).clear();
                    }
                }
            }
            if (newest == null) {
                throw new IllegalStateException(
                        "no complete model round in the last records of " + topic);
            }
            return newest;
        }
    }

    /**
     * The chunk count of the last decodable chunk at the end of any partition; 0 if there is none.
     */
    private static int lastChunkCount(
            KafkaConsumer<byte[], byte[]> consumer,
            List<TopicPartition> partitions,
            Map<TopicPartition, Long> begin,
            Map<TopicPartition, Long> end,
            long deadline) {
        List<TopicPartition> filled =
                partitions.stream().filter(p -> end.get(p) > begin.get(p)).toList();
        if (filled.isEmpty()) {
            return 0;
        }
        filled.forEach(p -> consumer.seek(p, end.get(p) - 1));
        int read = 0;
        while (read < filled.size() && System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                read++;
                ModelChunk chunk = chunk(record.value());
                if (chunk != null) {
                    return chunk.chunkCount();
                }
            }
        }
        return 0;
    }

    private static ModelChunk chunk(byte[] value) {
        try {
            return value == null ? null : ModelChunkFormat.deserialize(value);
        } catch (IllegalArgumentException e) {
            return null; // not a model chunk: skipped, as the job skips it
        }
    }

    /** The chunks of one round as they arrive; repeated chunks (redelivery) count once. */
    private static final class Slices {
        private final float[][] values;
        private int missing;
        private long step;

        Slices(int chunkCount) {
            values = new float[chunkCount][];
            missing = chunkCount;
        }

        /** Adds a chunk; true when the round is complete. */
        boolean add(ModelChunk chunk) {
            if (chunk.chunkCount() != values.length) {
                return false; // a chunk of a differently cut model
            }
            if (values[chunk.chunk()] == null) {
                values[chunk.chunk()] = chunk.values();
                missing--;
            }
            if (chunk.chunk() == 0) {
                step = chunk.step();
            }
            return missing == 0;
        }

        float[] concat() {
            int size = 0;
            for (float[] v : values) {
                size += v.length;
            }
            float[] all = new float[size];
            int at = 0;
            for (float[] v : values) {
                System.arraycopy(v, 0, all, at, v.length);
                at += v.length;
            }
            return all;
        }
    }
}
