package io.streamgpt.connectors.client;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.TopicReader;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Duration;
import java.util.List;
import java.util.TreeMap;

/**
 * Finds the newest complete global model on the model topic, for {@code export}. Only the topic's
 * tail is read: the last record of a partition tells how many chunks a round has, and the last
 * three rounds' worth of records of every partition hold at least one complete round (a partition
 * receives the same chunk indices every round). "Newest" is the highest {@link RoundId}: a restored
 * job writes a higher generation.
 */
public final class ModelTopicReader {

    /** A complete global model version. */
    public record Newest(RoundId version, long step, float[] parameters) {}

    private ModelTopicReader() {}

    /**
     * @throws IllegalStateException if the topic is missing, empty or holds no complete round
     */
    public static Newest newest(KafkaClientSettings kafka, String topic, Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            int chunkCount =
                    reader.readNewest(topic, 1, timeout).stream()
                            .map(r -> chunk(r))
                            .filter(c -> c != null)
                            .mapToInt(c -> c.slice().count())
                            .findFirst()
                            .orElse(0);
            if (chunkCount == 0) {
                throw new IllegalStateException(
                        "the model topic "
                                + topic
                                + " holds no model chunks: has the job completed a sync round?");
            }
            Newest newest = null;
            TreeMap<RoundId, Round> partial = new TreeMap<>();
            List<ConsumerRecord<byte[], byte[]>> tail =
                    reader.readNewest(topic, 3 * chunkCount, timeout);
            for (ConsumerRecord<byte[], byte[]> record : tail) {
                if (!(chunk(record) instanceof GlobalChunk chunk)) {
                    continue;
                }
                if (newest != null && chunk.version().compareTo(newest.version()) <= 0) {
                    continue;
                }
                Round round =
                        partial.computeIfAbsent(
                                chunk.version(), v -> new Round(chunk.slice().count()));
                if (round.add(chunk)) {
                    newest = new Newest(chunk.version(), round.step, round.concat());
                    partial.headMap(chunk.version(), true).clear();
                }
            }
            if (newest == null) {
                throw new IllegalStateException(
                        "no complete model round in the last records of " + topic);
            }
            return newest;
        }
    }

    private static ModelChunk chunk(ConsumerRecord<byte[], byte[]> record) {
        try {
            return record.value() == null ? null : ModelChunkFormat.deserialize(record.value());
        } catch (IllegalArgumentException e) {
            return null; // not a model chunk: skipped, as the job skips it
        }
    }

    /** The slices of one round as they arrive; its size is not known before it completes. */
    private static final class Round {
        private final float[][] values;
        private int missing;
        private long step;

        Round(int chunkCount) {
            values = new float[chunkCount][];
            missing = chunkCount;
        }

        /** Adds a chunk; true when the round is complete. */
        boolean add(GlobalChunk chunk) {
            Slice slice = chunk.slice();
            if (slice.count() != values.length) {
                return false; // a chunk of a differently cut model
            }
            if (values[slice.index()] == null) {
                values[slice.index()] = slice.values();
                missing--;
            }
            if (slice.index() == 0) {
                step = chunk.progress().step();
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
