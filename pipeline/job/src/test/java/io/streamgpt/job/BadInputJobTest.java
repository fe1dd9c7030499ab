package io.streamgpt.job;

import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.groups.OperatorMetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bad records between good ones on a real Kafka topic, read by the whole job on a MiniCluster: each
 * is dead-lettered once with its coordinates and reason, the counters are exact, the good text is
 * windowed and trained on, and the job keeps running. A 10 MB record is fetched and dead-lettered,
 * not trained on.
 */
class BadInputJobTest {

    private static final InMemoryReporter METRICS = InMemoryReporter.create();

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(
                                    METRICS.addToConfiguration(LoopbackCluster.configuration()))
                            .build());

    private static final int TEN_MB = 10 << 20;

    private static EmbeddedKafka kafka;
    private static String shakespeare;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        shakespeare = Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void badRecordsAreDeadLetteredAndTheJobKeepsTraining() throws Exception {
        String prefix = "bad" + UUID.randomUUID().toString().substring(0, 8);
        JobConfig config =
                TestConfigs.tiny(kafka.bootstrapServers(), prefix)
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, 1)
                                                .with(ReplicaConfig.MAX_STEPS, 20L))
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, 5)
                                                .with(SyncConfig.TIMEOUT_MS, 30_000L))
                        .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8));
        String topic = config.topics().text().get(0);
        // the text topic first, with room for 10 MB: createTopics would make it with the broker's
        // defaults
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(
                        new TopicAdmin.TopicSpec(
                                topic,
                                1,
                                Map.of("max.message.bytes", String.valueOf(TEN_MB + (1 << 20))))));
        assertThat(StreamingTrainerJob.createTopics(config))
                .doesNotContain(topic)
                .contains(config.topics().deadLetters());

        String[] good = new String[5];
        for (int i = 0; i < good.length; i++) {
            good[i] = shakespeare.substring(i * 3000, i * 3000 + 3000);
        }
        List<byte[]> values =
                Arrays.asList(
                        utf8(good[0]),
                        concat(
                                utf8("Hear me"),
                                new byte[] {(byte) 0xff, (byte) 0xfe},
                                utf8(" speak")), // 1 invalid UTF-8
                        utf8(good[1]),
                        utf8("First\u0000 Citizen\u001b:"), // 3 NUL and ESC
                        utf8(good[2]),
                        utf8("caf\u00e9 na\u00efve"), // 5 é and ï
                        new byte[0], // 6 empty
                        null, // 7 no value at all
                        utf8("a".repeat(TEN_MB)), // 8 10 MB
                        utf8(good[3]),
                        utf8("\u20ac\u20ac\u20ac\u00e9\u00e9"), // 10 only unknown
                        utf8(good[4]));
        String trained =
                good[0]
                        + "Hear me speak"
                        + good[1]
                        + "First Citizen:"
                        + good[2]
                        + "caf nave"
                        + good[3]
                        + good[4];
        produce(topic, values);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        StreamingTrainerJob.build(env, config);
        JobClient job = env.executeAsync("bad input");
        try {
            List<Reports.DeadLetter> letters = readDeadLetters(config, 6);
            assertThat(letters).extracting(Reports.DeadLetter::topic).containsOnly(topic);
            assertThat(letters).extracting(Reports.DeadLetter::partition).containsOnly(0);
            assertThat(letters)
                    .extracting(Reports.DeadLetter::offset)
                    .containsExactly(1L, 3L, 5L, 6L, 7L, 8L); // 10: within 10 s of 5, sampled
            assertThat(letters)
                    .extracting(Reports.DeadLetter::bytes)
                    .containsExactly(15L, 16L, 12L, 0L, 0L, (long) TEN_MB);
            assertThat(letters)
                    .extracting(Reports.DeadLetter::reason)
                    .containsExactly(
                            "malformed_utf8: 2 bytes that are not UTF-8 skipped",
                            "control_characters: 2 NUL or other control characters skipped",
                            "unknown_characters: 2 characters outside the vocabulary skipped",
                            "empty: the record has no bytes",
                            "empty: the record has no bytes",
                            "oversized: 10485760 bytes, over max_record_bytes (1048576); not"
                                    + " trained on");

            // the good text, and only it, was windowed: exact counts
            long tokens = trained.length();
            long windows = (tokens - 17) / 16 + 1;
            Map<String, Long> counters = windowCounters(job.getJobID(), 12);
            assertThat(counters)
                    .containsEntry("text_records", 12L)
                    .containsEntry("tokens_in", tokens)
                    .containsEntry("windows", windows)
                    .containsEntry("windows_held_out", windows / 10)
                    .containsEntry("dead_letters", 6L)
                    .containsEntry("malformed_bytes", 2L)
                    .containsEntry("control_characters", 2L)
                    .containsEntry("unknown_characters", 7L)
                    .containsEntry("empty_records", 2L)
                    .containsEntry("oversized_records", 1L);

            // and trained on, while the job keeps running
            List<Reports.LossRecord> losses =
                    StreamingTrainerTest.readLosses(config, r -> r.step() >= 20);
            assertThat(losses.get(losses.size() - 1).valLoss()).isLessThan((float) Math.log(65));
            assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
        } finally {
            TestJobs.cancel(job);
        }
    }

    /**
     * The text source's consumer need not be tuned for big records: Kafka hands out a first record
     * over the fetch limits.
     */
    @Test
    void aConsumerFetchesARecordLargerThanItsFetchLimits() throws Exception {
        String topic = "big" + UUID.randomUUID().toString().substring(0, 8);
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(
                        new TopicAdmin.TopicSpec(
                                topic,
                                1,
                                Map.of("max.message.bytes", String.valueOf(TEN_MB + (1 << 20))))));
        produce(topic, List.of(utf8("small"), new byte[TEN_MB], utf8("after")));
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(1 << 20));
        props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(1 << 20));
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            List<Integer> sizes = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (sizes.size() < 3 && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(r -> sizes.add(r.value().length));
            }
            assertThat(sizes).containsExactly(5, TEN_MB, 5);
        }
    }

    private static void produce(String topic, List<byte[]> values) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(TEN_MB + (1 << 20)));
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            long offset = 0;
            for (byte[] value : values) {
                // one at a time, so that offsets are the list's indices
                assertThat(
                                producer.send(new ProducerRecord<>(topic, 0, null, value))
                                        .get(30, TimeUnit.SECONDS)
                                        .offset())
                        .isEqualTo(offset++);
            }
        }
    }

    private static List<Reports.DeadLetter> readDeadLetters(JobConfig config, int count) {
        List<Reports.DeadLetter> letters = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 120_000;
        try (KafkaConsumer<String, String> consumer =
                KafkaStreams.textConsumer(config.kafka().clientSettings(), "dead-letters")) {
            consumer.subscribe(List.of(config.topics().deadLetters()));
            while (letters.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record :
                        consumer.poll(Duration.ofMillis(500))) {
                    letters.add(Reports.fromJson(record.value(), Reports.DeadLetter.class));
                }
            }
        }
        return letters;
    }

    /** The window operator's counters, once it has seen {@code records} records. */
    private static Map<String, Long> windowCounters(JobID job, long records)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            Map<String, Long> counters = new java.util.TreeMap<>();
            for (OperatorMetricGroup group :
                    METRICS.findOperatorMetricGroups(job, Pattern.quote("tokenize + windows"))) {
                for (Map.Entry<String, Metric> metric :
                        METRICS.getMetricsByGroup(group).entrySet()) {
                    if (metric.getValue() instanceof Counter counter) {
                        counters.merge(metric.getKey(), counter.getCount(), Long::sum);
                    }
                }
            }
            if (counters.getOrDefault("text_records", 0L) >= records
                    || System.currentTimeMillis() > deadline) {
                return counters;
            }
            Thread.sleep(100);
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
