package io.streamgpt.job.eval;

import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.TestJobs;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code export}'s lookup of a version's lineage on a real broker: a losses topic of 2 partitions
 * with 1,500 versions, each a lineage record between two other records (2,250 records in each
 * partition), then 2,000 records without lineage in partition 1: more than the newest {@value
 * LossReader#NEWEST_FIRST} read first.
 */
class LineageLookupTest {

    private static EmbeddedKafka kafka;
    private static String topic;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        topic = TestJobs.prefix() + "-losses";
        TopicAdmin.ensureTopics(
                kafka.clientSettings(), List.of(new TopicAdmin.TopicSpec(topic, 2, Map.of())));
        Properties props = kafka.clientSettings().clientProperties();
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            for (long round = 1; round <= 1_500; round++) {
                int partition = (int) (round % 2); // odd rounds in partition 1, even in 0
                String other = "{\"kind\":\"prequential\",\"round\":" + round + "}";
                producer.send(new ProducerRecord<>(topic, partition, null, other));
                producer.send(new ProducerRecord<>(topic, partition, null, lineage(round)));
                producer.send(new ProducerRecord<>(topic, partition, null, other));
            }
            // then 2,000 records without lineage in partition 1 only: its newest records hold
            // none, so the newest lineage there (round 1,499) is only found in the whole topic
            for (int i = 0; i < 2_000; i++) {
                producer.send(new ProducerRecord<>(topic, 1, null, "{\"kind\":\"prequential\"}"));
            }
        }
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static String lineage(long round) {
        return Reports.toJson(
                new EvalRecords.Lineage(
                        EvalRecords.LINEAGE,
                        EvalRecords.LINEAGE_FORMAT,
                        round * 10,
                        round,
                        0,
                        round * 1_000,
                        Map.of("text-0", round * 100),
                        Map.of("text-0", round),
                        null,
                        null,
                        0));
    }

    private static Optional<EvalRecords.Lineage> lookUp(long round) {
        return LossReader.lineageOf(
                kafka.clientSettings(), topic, new RoundId(0, round), Duration.ofSeconds(60));
    }

    @Test
    void aPartitionWhoseNewestRecordsHoldNoLineageSendsTheLookupToTheWholeTopic() {
        // partition 0's newest 2,000 records hold even rounds 168-1,500; partition 1's none, and
        // round 1,499 there beats every even round not newer than 1,499
        assertThat(lookUp(1_500)).map(EvalRecords.Lineage::round).contains(1_500L);
        assertThat(lookUp(1_499)).map(EvalRecords.Lineage::tokens).contains(1_499_000L);
    }

    @Test
    void aVersionOfANewerGenerationThanEveryRecordReadsTheWholeTopic() {
        // a reused topic: the newest records are of generation 0, the version asked of 1
        assertThat(
                        LossReader.lineageOf(
                                kafka.clientSettings(),
                                topic,
                                new RoundId(1, 3),
                                Duration.ofSeconds(60)))
                .map(EvalRecords.Lineage::round)
                .contains(1_500L);
    }

    @Test
    void aVersionOlderThanTheNewestRecordsIsFoundInTheWholeTopic() {
        // rounds 7 and 2 are older than partition 0's newest records, partition 1 holds none
        assertThat(lookUp(7)).map(EvalRecords.Lineage::round).contains(7L);
        assertThat(lookUp(2)).map(EvalRecords.Lineage::inputOffsets).contains(Map.of("text-0", 2L));
    }

    @Test
    void aVersionWithoutALineageRecordGetsTheNewestOneBeforeIt() {
        assertThat(lookUp(1_000_000)).map(EvalRecords.Lineage::round).contains(1_500L);
        assertThat(lookUp(0)).isEmpty(); // no version before round 1
    }
}
