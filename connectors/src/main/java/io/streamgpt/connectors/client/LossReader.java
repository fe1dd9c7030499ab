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

/** Reads the losses topic, for tests and benchmarks. */
public final class LossReader {

    private LossReader() {}

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
                    Reports.LossRecord loss = EvalRecords.lossRecordOrNull(record.value());
                    if (loss == null) {
                        continue; // another kind of evaluation
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
                    .map(r -> EvalRecords.lossRecordOrNull(TopicReader.text(r)))
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
}
