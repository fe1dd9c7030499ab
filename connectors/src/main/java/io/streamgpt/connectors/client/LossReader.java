package io.streamgpt.connectors.client;

import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Reads the losses topic, for the {@code losses} command, tests and benchmarks. The job's other
 * evaluation records (val_data, prequential, lineage) are counted by kind; a record that is not the
 * job's (foreign, damaged) is counted and skipped, never a failure.
 */
public final class LossReader implements AutoCloseable {

    private final TopicReader reader;
    private final String topic;
    private long foreign;
    private final Map<String, Long> evaluations = new TreeMap<>();

    private LossReader(TopicReader reader, String topic) {
        this.reader = reader;
        this.topic = topic;
    }

    /** A reader of {@code topic} from its start, which can then follow it. */
    public static LossReader open(KafkaClientSettings kafka, String topic) {
        return new LossReader(TopicReader.open(kafka), topic);
    }

    /**
     * Every loss record on the topic at the time of the call.
     *
     * @throws IllegalStateException if Kafka does not answer or the topic does not exist
     */
    public List<Reports.LossRecord> readAll(Duration timeout) {
        return parse(reader.readAll(topic, timeout));
    }

    /** Loss records written since the last read, waiting at most {@code timeout}. */
    public List<Reports.LossRecord> poll(Duration timeout) {
        return parse(reader.poll(timeout));
    }

    /** Records skipped so far because they were not the job's (foreign, damaged). */
    public long foreign() {
        return foreign;
    }

    /** The job's evaluation records other than loss records read so far, by kind (sorted). */
    public Map<String, Long> evaluations() {
        return Collections.unmodifiableMap(new TreeMap<>(evaluations));
    }

    private List<Reports.LossRecord> parse(List<ConsumerRecord<byte[], byte[]>> records) {
        List<Reports.LossRecord> losses = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            EvalRecords.LossesTopicRecord read =
                    EvalRecords.LossesTopicRecord.parse(TopicReader.text(record));
            if (read.loss() != null) {
                losses.add(read.loss());
            } else if (read.kind() != null) {
                evaluations.merge(read.kind(), 1L, Long::sum);
            } else {
                foreign++;
            }
        }
        return losses;
    }

    /**
     * A loss record, or null for a record that is not one (an evaluation of another kind: val_data,
     * prequential, lineage; or a foreign record).
     */
    public static Reports.LossRecord parse(String json) {
        return EvalRecords.LossesTopicRecord.parse(json).loss();
    }

    @Override
    public void close() {
        reader.close();
    }

    /**
     * Loss records from the start of {@code topic} up to and including the first that matches
     * {@code until}.
     */
    public static List<Reports.LossRecord> readUntil(
            KafkaClientSettings kafka,
            String topic,
            Predicate<Reports.LossRecord> until,
            Duration timeout) {
        List<Reports.LossRecord> losses = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        try (KafkaConsumer<String, String> consumer =
                KafkaStreams.textConsumer(kafka, "streamgpt-reader")) {
            consumer.subscribe(List.of(topic));
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record :
                        consumer.poll(Duration.ofMillis(500))) {
                    Reports.LossRecord loss = parse(record.value());
                    if (loss == null) {
                        continue; // not a loss record
                    }
                    losses.add(loss);
                    if (until.test(loss)) {
                        return losses;
                    }
                }
            }
        }
        throw new IllegalStateException(
                "no matching loss record on "
                        + topic
                        + " within "
                        + timeout.toSeconds()
                        + " s; got "
                        + losses.size()
                        + (losses.isEmpty()
                                ? ""
                                : ", the last: " + Reports.toJson(losses.get(losses.size() - 1))));
    }

    /**
     * Every loss record on {@code topic} at the time of the call (a running job's later records are
     * not waited for).
     */
    public static List<Reports.LossRecord> readAll(
            KafkaClientSettings kafka, String topic, Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            return reader.readAll(topic, timeout).stream()
                    .map(r -> parse(TopicReader.text(r)))
                    .filter(Objects::nonNull)
                    .toList();
        }
    }

    /**
     * Every record of {@code kind} (an {@link EvalRecords} kind with the loss fields) on {@code
     * topic} at the time of the call.
     */
    public static List<EvalRecords.ModelLoss> readAll(
            KafkaClientSettings kafka, String topic, String kind, Duration timeout) {
        return readAll(kafka, topic, kind, EvalRecords.ModelLoss.class, timeout);
    }

    /**
     * Every record of {@code kind} on {@code topic} at the time of the call, as {@code type} (e.g.
     * {@link EvalRecords.Lineage}).
     */
    public static <T> List<T> readAll(
            KafkaClientSettings kafka, String topic, String kind, Class<T> type, Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            return reader.readAll(topic, timeout).stream()
                    .map(r -> EvalRecords.LossesTopicRecord.parse(TopicReader.text(r)))
                    .filter(r -> kind.equals(r.kind()))
                    .map(r -> r.as(type))
                    .filter(Objects::nonNull)
                    .toList();
        }
    }

    /** Records per partition {@code lineageOf} reads first, from the end of the topic. */
    static final int NEWEST_FIRST = 2_000;

    /**
     * The lineage record of {@code version} on {@code topic}, or else of the newest version before
     * it (a lineage record is written a moment after its version is published); empty when there is
     * none (a job of an older build). Records of another format that do not parse are skipped.
     *
     * <p>It reads the newest {@value #NEWEST_FIRST} records of each partition first, and the whole
     * topic only when they leave a doubt. One reporter writes lineage records in version order
     * (versions only grow, and a restore's generation is above the one it ends), so in a partition
     * whose newest records hold one not newer than {@code version}, no older record beats it; a
     * partition whose newest records hold none (an exported old version, or no lineage there) sends
     * it to the whole topic, and so does a best record of an older generation than {@code
     * version}'s (a topic reused by a new submission, whose generations start at 0 again).
     */
    public static Optional<EvalRecords.Lineage> lineageOf(
            KafkaClientSettings kafka, String topic, RoundId version, Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            LineageScan newest =
                    LineageScan.of(reader.readNewest(topic, NEWEST_FIRST, timeout), version);
            if (newest.settled()) {
                return Optional.ofNullable(newest.best());
            }
            return Optional.ofNullable(
                    LineageScan.of(reader.readAll(topic, timeout), version).best());
        }
    }

    /**
     * The best lineage record among {@code records} (the newest version not newer than the one
     * asked for), and whether every partition they came from had one such record.
     */
    private record LineageScan(EvalRecords.Lineage best, boolean settled) {

        static LineageScan of(List<ConsumerRecord<byte[], byte[]>> records, RoundId version) {
            EvalRecords.Lineage best = null;
            Set<Integer> partitions = new HashSet<>();
            Set<Integer> found = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> record : records) {
                partitions.add(record.partition());
                EvalRecords.LossesTopicRecord parsed =
                        EvalRecords.LossesTopicRecord.parse(TopicReader.text(record));
                EvalRecords.Lineage lineage =
                        EvalRecords.LINEAGE.equals(parsed.kind())
                                ? parsed.as(EvalRecords.Lineage.class)
                                : null;
                if (lineage == null || idOf(lineage).compareTo(version) > 0) {
                    continue;
                }
                found.add(record.partition());
                if (best == null || idOf(lineage).compareTo(idOf(best)) > 0) {
                    best = lineage;
                }
            }
            return new LineageScan(
                    best,
                    best != null
                            && best.generation() == version.generation()
                            && found.containsAll(partitions));
        }

        private static RoundId idOf(EvalRecords.Lineage lineage) {
            return new RoundId(lineage.generation(), lineage.round());
        }
    }
}
