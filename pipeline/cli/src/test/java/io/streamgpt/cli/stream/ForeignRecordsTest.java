package io.streamgpt.cli.stream;

import io.streamgpt.cli.CliRun;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The terminal readers on topics that also hold records that are not the job's: on the losses
 * topic, between two loss records (steps 10 and 20), a line of text and a JSON object of another
 * shape, then the job's own val_data (2) and lineage (1) records; on the samples topic, a sample
 * between two damaged records. {@code losses} (table, CSV, JSON lines), {@code samples} and {@code
 * local}'s live view print the job's records, count and skip the others, and go on.
 */
class ForeignRecordsTest {

    private static EmbeddedKafka kafka;
    private static JobConfig config;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        config = TestConfigs.tiny(kafka.bootstrapServers(), "foreign");
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(
                        new TopicAdmin.TopicSpec(config.topics().losses(), 1, Map.of()),
                        new TopicAdmin.TopicSpec(config.topics().samples(), 1, Map.of())));
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            String losses = config.topics().losses();
            producer.send(new ProducerRecord<>(losses, loss(10, 3.5f, 3.75f))).get();
            producer.send(new ProducerRecord<>(losses, "hello from another app")).get();
            producer.send(new ProducerRecord<>(losses, "{\"temperature\": 21}")).get();
            producer.send(new ProducerRecord<>(losses, loss(20, 3.0f, null))).get();
            // the job's own other evaluation records: counted by kind, not called foreign
            for (long step : new long[] {10, 20}) {
                producer.send(
                                new ProducerRecord<>(
                                        losses,
                                        Reports.toJson(
                                                EvalRecords.ModelLoss.of(
                                                        EvalRecords.VAL_DATA,
                                                        step,
                                                        step / 2,
                                                        0,
                                                        step * 100,
                                                        3.4f,
                                                        8))))
                        .get();
            }
            producer.send(
                            new ProducerRecord<>(
                                    losses,
                                    Reports.toJson(
                                            new EvalRecords.Lineage(
                                                    EvalRecords.LINEAGE,
                                                    EvalRecords.LINEAGE_FORMAT,
                                                    20,
                                                    10,
                                                    0,
                                                    2000,
                                                    Map.of("text-0", 42L),
                                                    Map.of("text-0", 3L),
                                                    100L,
                                                    200L,
                                                    20))))
                    .get();
            String samples = config.topics().samples();
            producer.send(new ProducerRecord<>(samples, "{\"step\": ")).get();
            producer.send(
                            new ProducerRecord<>(
                                    samples,
                                    Reports.toJson(
                                            new Reports.SampleRecord(
                                                    20, 10, 0, "ROMEO: hi", 2_000L))))
                    .get();
            producer.send(new ProducerRecord<>(samples, "\u0000\u0001garbage")).get();
        }
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static String loss(long step, Float train, Float val) {
        return Reports.toJson(
                new Reports.LossRecord(
                        step, step / 2, 0, step * 100, train, new Float[] {train}, val, 4, step));
    }

    private CliRun losses(String... format) {
        String[] args = new String[4 + format.length];
        args[0] = "losses";
        args[1] = "--bootstrap-servers";
        args[2] = kafka.bootstrapServers();
        args[3] = "--losses-topic=" + config.topics().losses();
        System.arraycopy(format, 0, args, 4, format.length);
        return CliRun.of(args);
    }

    @Test
    void lossesPrintsTheLossRecordsAndCountsTheOthers() {
        CliRun csv = losses("--csv");
        assertThat(csv.exit()).as(csv.err()).isEqualTo(0);
        assertThat(csv.out().lines())
                .containsExactly(
                        LossesCommand.CSV_HEADER,
                        "10,5,0,1000,3.5,3.75,4,10",
                        "20,10,0,2000,3.0,,4,20"); // no val loss at step 20: an empty field
        assertThat(csv.err())
                .contains("2 records on foreign-losses skipped: not the job's records")
                .contains(
                        "(3 evaluation records on foreign-losses not shown: lineage 1, val_data"
                                + " 2)");

        CliRun jsonl = losses("--jsonl");
        assertThat(jsonl.out().lines()).hasSize(2).allMatch(l -> l.startsWith("{\"step\":"));

        CliRun table = losses();
        assertThat(table.out().lines())
                .hasSize(3)
                .element(1)
                .asString()
                .matches(" +10 +5 +0 +1000 +3\\.5000 +3\\.7500");
        assertThat(table.out().lines().skip(2).findFirst().orElseThrow()).endsWith(" -");

        assertThat(losses("--csv", "--jsonl").exit()).as("one format at a time").isEqualTo(2);
    }

    @Test
    void samplesSkipsDamagedRecords() {
        CliRun samples =
                CliRun.of(
                        "samples",
                        "--bootstrap-servers",
                        kafka.bootstrapServers(),
                        "--samples-topic=" + config.topics().samples());
        assertThat(samples.exit()).as(samples.err()).isEqualTo(0);
        assertThat(samples.out()).contains("--- step 20 (round 10) ---\nROMEO: hi");
        assertThat(samples.out().split("skipped a record that is not a sample", -1)).hasSize(3);
    }

    @Test
    void theLiveViewShowsTheJobsRecordsAndGoesOnPastTheOthers() throws Exception {
        StringWriter printed = new StringWriter();
        try (LiveView view = new LiveView(config, new PrintWriter(printed, true), 0)) {
            long deadline = System.currentTimeMillis() + 30_000;
            // step 20 is the last loss record: poll until it is shown (a foreign record must not
            // end the view with an exception on the way)
            while (!view.poll(20)) {
                assertThat(System.currentTimeMillis()).isLessThan(deadline);
            }
            while (view.skipped() < 4 && System.currentTimeMillis() < deadline) {
                view.poll(0);
            }
            assertThat(view.skipped()).isEqualTo(4); // 2 on the losses topic, 2 on the samples
        }
        assertThat(printed.toString())
                .contains("step     10 |")
                .contains("step     20 |")
                .contains("--- sample at step 20 ---")
                .contains("skipped a record that is not the job's on foreign-losses");
    }
}
