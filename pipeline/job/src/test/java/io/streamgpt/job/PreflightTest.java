package io.streamgpt.job;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The checks before a job starts and the job's topic creation, against a real broker. */
class PreflightTest {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static String prefix() {
        return "p" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void createTopicsMakesTheJobsTopicsAndRejectsAnUnsuitableModelTopic() throws Exception {
        String prefix = prefix();
        JobConfig config = TestConfigs.topics(kafka.bootstrapServers(), prefix, 6, 131072);
        Preflight.check(config); // no model topic yet: fine, createTopics makes it right
        assertThat(StreamingTrainerJob.createTopics(config))
                .containsExactlyInAnyOrder(
                        prefix + "-model",
                        prefix + "-losses",
                        prefix + "-samples",
                        prefix + "-prompts",
                        prefix + "-answers",
                        prefix + "-dead-letters",
                        prefix + "-metadata",
                        prefix + "-text");
        try (Admin admin =
                Admin.create(
                        Map.of(
                                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                kafka.bootstrapServers()))) {
            assertThat(
                            admin.describeTopics(List.of(prefix + "-model"))
                                    .allTopicNames()
                                    .get(30, TimeUnit.SECONDS)
                                    .get(prefix + "-model")
                                    .partitions())
                    .hasSize(6); // averager_parallelism, above the default 4
        }
        Preflight.check(config);
        assertThat(StreamingTrainerJob.createTopics(config)).isEmpty();

        JobConfig moreAveragers = TestConfigs.topics(kafka.bootstrapServers(), prefix, 8, 131072);
        assertThatThrownBy(() -> Preflight.check(moreAveragers))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "model topic "
                                + prefix
                                + "-model has 6 partition(s), fewer than averager_parallelism (8):"
                                + " add partitions to it or lower the averager parallelism");
        assertThatThrownBy(() -> StreamingTrainerJob.createTopics(moreAveragers))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fewer than averager_parallelism (8)");
    }

    /** The model topic's metadata: readers rebuild the model from it, so another job is refused. */
    @Test
    void aJobOfAnotherModelIsRefusedTheModelTopicOfTheFirst() throws Exception {
        String prefix = prefix();
        JobConfig config = TestConfigs.tiny(kafka.bootstrapServers(), prefix);
        StreamingTrainerJob.createTopics(config);
        var metadata =
                io.streamgpt.connectors.client.ModelMetadataTopic.read(
                                config.kafka().clientSettings(),
                                prefix + "-metadata",
                                prefix + "-model",
                                java.time.Duration.ofSeconds(10))
                        .orElseThrow();
        assertThat(metadata.config()).isEqualTo(TestConfigs.TINY_MODEL);
        assertThat(metadata.vocabulary())
                .isEqualTo(io.streamgpt.model.Vocabulary.named("shakespeare"));
        assertThat(metadata.chunkSize()).isEqualTo(1000);
        assertThat(metadata.jobOptions())
                .containsEntry("n-head", "2")
                .containsEntry("vocab", "shakespeare");
        StreamingTrainerJob.createTopics(config); // the same job again: fine

        JobConfig fourHeads = config.withModel(m -> m.with(io.streamgpt.model.GptConfig.N_HEAD, 4));
        assertThatThrownBy(() -> StreamingTrainerJob.createTopics(fourHeads))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "the model topic "
                                + prefix
                                + "-model holds another job's model (n-head 4 (this job) vs 2"
                                + " (on the topic), by "
                                + prefix
                                + "-metadata): give this job another --model-topic, or delete"
                                + " both topics");
    }

    @Test
    void theLargestChunkOfAFittingChunkSizeIsAcceptedByTheTopicItPassed() throws Exception {
        String prefix = prefix();
        JobConfig config = TestConfigs.topics(kafka.bootstrapServers(), prefix, 1, 20_000);
        int limit = Preflight.modelMessageBytes(config);
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(
                        new TopicAdmin.TopicSpec(
                                config.topics().model(),
                                1,
                                Map.of("max.message.bytes", String.valueOf(limit)))));
        try (Admin admin =
                Admin.create(
                        Map.of(
                                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                                kafka.bootstrapServers()))) {
            while (!admin.listTopics()
                    .names()
                    .get(30, TimeUnit.SECONDS)
                    .contains(config.topics().model())) {
                Thread.sleep(20); // creation returns before the broker lists the topic
            }
        }
        Preflight.check(config); // the topic takes exactly what the check asks for
        assertThatThrownBy(
                        () ->
                                Preflight.check(
                                        TestConfigs.topics(
                                                kafka.bootstrapServers(), prefix, 1, 20_001)))
                .hasMessageContaining("takes messages of at most " + limit + " bytes");

        // and Kafka does take the job's largest chunk there: the check's margin is enough
        byte[] chunk =
                ModelChunkFormat.serialize(
                        new GlobalChunk(
                                new RoundId(0, 1),
                                2,
                                new Progress(1, 1, 1f),
                                new float[config.replicas().count()],
                                new Slice(0, 1, new float[config.sync().chunkSize()])));
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(
                        Map.of(
                                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(4 << 20)),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(config.topics().model(), new byte[4], chunk))
                    .get(30, TimeUnit.SECONDS);
        }
    }
}
