package io.streamgpt.connectors.client;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Reads the losses topic, for the {@code losses} command, tests and benchmarks. A record that is
 * not a loss record (foreign, damaged) is counted and skipped, never a failure.
 */
public final class LossReader implements AutoCloseable {

    private final TopicReader reader;
    private final String topic;
    private long skipped;

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

    /** Records skipped so far because they were not loss records. */
    public long skipped() {
        return skipped;
    }

    private List<Reports.LossRecord> parse(List<ConsumerRecord<byte[], byte[]>> records) {
        List<Reports.LossRecord> losses = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            Reports.LossRecord loss = parse(TopicReader.text(record));
            if (loss == null) {
                skipped++;
            } else {
                losses.add(loss);
            }
        }
        return losses;
    }

    /** A loss record, or null for a record that is not one. */
    public static Reports.LossRecord parse(String json) {
        if (EvalRecords.isOtherKind(json)) {
            return null; // an evaluation of another kind (val_data, prequential, lineage)
        }
        Reports.LossRecord loss = Reports.fromJsonOrNull(json, Reports.LossRecord.class);
        return loss == null || loss.replicaTrainLoss() == null ? null : loss;
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
                    .filter(java.util.Objects::nonNull)
                    .toList();
        }
    }

    /**
     * Every record of {@code kind} (an {@link EvalRecords} kind with the loss fields) on {@code
     * topic} at the time of the call.
     */
    public static List<EvalRecords.ModelLoss> readAll(
            KafkaClientSettings kafka, String topic, String kind, Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            return reader.readAll(topic, timeout).stream()
                    .map(TopicReader::text)
                    .filter(json -> kind.equals(EvalRecords.kindOf(json)))
                    .map(json -> Reports.fromJson(json, EvalRecords.ModelLoss.class))
                    .toList();
        }
    }

    /**
     * The lineage record of {@code version} on {@code topic}, or else of the newest version before
     * it (a lineage record is written a moment after its version is published); empty when there is
     * none (a job of an older build). Records of another format that do not parse are skipped.
     */
    public static java.util.Optional<EvalRecords.Lineage> lineageOf(
            KafkaClientSettings kafka,
            String topic,
            io.streamgpt.connectors.chunks.RoundId version,
            Duration timeout) {
        try (TopicReader reader = TopicReader.open(kafka)) {
            EvalRecords.Lineage best = null;
            for (ConsumerRecord<byte[], byte[]> record : reader.readAll(topic, timeout)) {
                String json = TopicReader.text(record);
                if (!EvalRecords.LINEAGE.equals(kindOrNull(json))) {
                    continue;
                }
                EvalRecords.Lineage lineage =
                        Reports.fromJsonOrNull(json, EvalRecords.Lineage.class);
                if (lineage == null) {
                    continue;
                }
                var id =
                        new io.streamgpt.connectors.chunks.RoundId(
                                lineage.generation(), lineage.round());
                if (id.compareTo(version) <= 0
                        && (best == null
                                || id.compareTo(
                                                new io.streamgpt.connectors.chunks.RoundId(
                                                        best.generation(), best.round()))
                                        > 0)) {
                    best = lineage;
                }
            }
            return java.util.Optional.ofNullable(best);
        }
    }

    private static String kindOrNull(String json) {
        try {
            return EvalRecords.kindOf(json);
        } catch (IllegalArgumentException e) {
            return null; // not JSON: foreign
        }
    }
}
