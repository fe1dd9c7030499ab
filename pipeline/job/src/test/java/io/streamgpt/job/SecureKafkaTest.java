package io.streamgpt.job;

import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;

import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The job on a secured broker (SASL_SSL with SCRAM-SHA-512, a certificate made at start, KRaft's
 * StandardAuthorizer with ACLs): it trains with exactly the ACLs {@link JobAcls} gives its
 * principal, and clients without credentials or rights are refused.
 */
class SecureKafkaTest {

    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.startSecure(0, null, null);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void theJobTrainsWithOnlyTheAclsOfItsPrincipalAndPublishesGlobalRounds() throws Exception {
        String prefix = TestJobs.prefix();
        String user = "job-" + prefix;
        KafkaClientSettings job = kafka.addUser(user, "job-password-" + prefix);
        JobConfig config =
                TestConfigs.tiny(job, prefix)
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, 2)
                                                .with(ReplicaConfig.MAX_STEPS, 40L));
        kafka.allow(JobAcls.forJob(config, "User:" + user, true));
        // the job's principal creates its topics (CREATE ACL) and passes the preflight checks
        Preflight.check(config);
        StreamingTrainerJob.createTopics(config);
        // someone else writes the text: the job may only read it
        JobConfig producer = config.withKafka(k -> KafkaConfig.of(kafka.clientSettings()));
        String text = Files.readString(TestJobs.shakespeare(), StandardCharsets.UTF_8);
        TestJobs.feed(producer, text.substring(0, 30_000));

        JobClient running = TestJobs.start(config, null, loop -> {});
        try {
            // K = 10 by default: step 40 is the 4th global round, published on the model topic,
            // read back by the replicas (READ) and evaluated into the losses topic (WRITE)
            List<Reports.LossRecord> losses =
                    LossReader.readUntil(
                            kafka.clientSettings(),
                            config.topics().losses(),
                            r -> r.step() >= 40,
                            Duration.ofSeconds(120));
            assertThat(losses.get(losses.size() - 1).round()).isGreaterThanOrEqualTo(4);
            assertThat(TestJobs.globalModels(producer)).hasSizeGreaterThanOrEqualTo(4);
        } finally {
            TestJobs.cancel(running);
        }
    }

    @Test
    void aPrincipalWithoutWriteAclOnTheModelTopicCannotWriteToIt() throws Exception {
        String prefix = TestJobs.prefix();
        KafkaClientSettings admin = kafka.clientSettings();
        JobConfig config = TestConfigs.tiny(admin, prefix);
        StreamingTrainerJob.createTopics(config);
        // a principal with every right of a job, but on another job's topics
        String user = "other-" + prefix;
        KafkaClientSettings other = kafka.addUser(user, "other-password");
        kafka.allow(
                JobAcls.forJob(TestConfigs.tiny(admin, "another-" + prefix), "User:" + user, true));

        assertThatThrownBy(() -> send(other, config.topics().model()))
                .hasRootCauseInstanceOf(TopicAuthorizationException.class)
                .rootCause()
                .hasMessageContaining(config.topics().model());
        send(admin, config.topics().model()); // the topic takes records: only the ACL was missing
    }

    @Test
    void clientsWithoutCredentialsAreRefusedInOneLine() throws Exception {
        JobConfig plaintext = TestConfigs.tiny(kafka.bootstrapServers(), TestJobs.prefix());
        assertThatThrownBy(() -> Preflight.check(plaintext, Duration.ofSeconds(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cannot reach Kafka at " + kafka.bootstrapServers() + " within 2 s");

        KafkaClientSettings wrong =
                kafka.clientSettings()
                        .withProperty(
                                "sasl.jaas.config",
                                "org.apache.kafka.common.security.scram.ScramLoginModule required"
                                        + " username=\"admin\" password=\"wrong\";");
        JobConfig wrongPassword = TestConfigs.tiny(wrong, TestJobs.prefix());
        assertThatThrownBy(() -> Preflight.check(wrongPassword, Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(
                        "Kafka at "
                                + kafka.bootstrapServers()
                                + " refused a check: Authentication failed")
                .hasMessageContaining("SCRAM-SHA-512")
                .hasMessageNotContaining("wrong");
    }

    private static void send(KafkaClientSettings kafka, String topic) throws Exception {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "10000");
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            producer.send(new ProducerRecord<>(topic, new byte[] {1, 2, 3}))
                    .get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("send failed", e.getCause());
        }
    }
}
