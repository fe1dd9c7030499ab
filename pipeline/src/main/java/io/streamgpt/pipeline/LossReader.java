package io.streamgpt.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Reads the losses topic from its start until a record matches, for tests and benchmarks. */
public final class LossReader {

    private LossReader() {}

    /** Loss records from the start of {@code topic} up to and including the first that matches {@code until}. */
    public static List<Reports.LossRecord> readUntil(String bootstrapServers, String topic,
            Predicate<Reports.LossRecord> until, Duration timeout) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "streamgpt-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<Reports.LossRecord> losses = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(topic));
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    Reports.LossRecord loss = Reports.fromJson(record.value(), Reports.LossRecord.class);
                    losses.add(loss);
                    if (until.test(loss)) {
                        return losses;
                    }
                }
            }
        }
        throw new IllegalStateException("no matching loss record on " + topic + " within " + timeout.toSeconds() + " s; got "
                + losses.size() + (losses.isEmpty() ? "" : ", the last: " + Reports.toJson(losses.get(losses.size() - 1))));
    }
}
