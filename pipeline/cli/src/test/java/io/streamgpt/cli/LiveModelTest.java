package io.streamgpt.cli;

import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.model.ModelFile;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The live model as users reach it: one training job on a real in-JVM Kafka broker and a Flink
 * MiniCluster (tiny model), asked through the prompts topic, the {@code generate} command and
 * {@code export}.
 */
class LiveModelTest {

    @org.junit.jupiter.api.extension.RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static final String[] TINY = {
        "--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16"
    };

    private static EmbeddedKafka kafka;
    private static JobConfig config;
    private static JobClient job;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        config = TestConfigs.synced(kafka.bootstrapServers(), TestJobs.prefix(), 1, 2);
        job = TestJobs.startFed(config, TestJobs.shakespeare(40_000));
        losses(r -> true); // a global model exists from the first loss record on
    }

    @AfterAll
    static void stop() throws Exception {
        if (job != null) {
            TestJobs.cancel(job);
        }
        kafka.close();
    }

    private static List<Reports.LossRecord> losses(Predicate<Reports.LossRecord> until) {
        return TestJobs.readLosses(config, until);
    }

    /** The answer to {@code request}, asking again while the job's responder has no model yet. */
    private static Reports.Answer ask(PromptClient client, PromptRequest request) throws Exception {
        for (int attempt = 0; ; attempt++) {
            Reports.Answer answer = client.ask(request).get(60, TimeUnit.SECONDS);
            if (!Reports.Answer.NO_MODEL.equals(answer.error()) || attempt == 20) {
                return answer;
            }
            Thread.sleep(500);
        }
    }

    @Test
    void theJobAnswersAPromptWithItsIdAndTheGenerateCommandPrintsIt() throws Exception {
        try (PromptClient client =
                new PromptClient(
                        config.kafka().clientSettings(),
                        config.topics().prompts(),
                        config.topics().answers(),
                        Duration.ofSeconds(10))) {
            Reports.Answer answer =
                    ask(client, new PromptRequest("valid-1", "ROMEO:", 20, 0.8, 50, 1, 30_000));
            assertThat(answer.id()).isEqualTo("valid-1");
            assertThat(answer.error()).isNull();
            assertThat(answer.text()).hasSize(20);
            assertThat(answer.modelRound()).isGreaterThanOrEqualTo(1);
            assertThat(answer.step()).isEqualTo(answer.modelRound() * config.sync().every());
        }
        CliRun generate =
                CliRun.of(
                        JobArgs.generateLive(
                                config,
                                "--prompt",
                                "ROMEO:",
                                "--tokens",
                                "30",
                                "--temperature",
                                "0.8",
                                "--top-k",
                                "50"));
        assertThat(generate.exit()).as(generate.err()).isEqualTo(0);
        assertThat(generate.out().strip()).startsWith("ROMEO:");
        assertThat(generate.out().replace("\r", "").length()).isEqualTo(6 + 30 + 1);
        assertThat(generate.err()).contains("answered by the live model of round");
    }

    @Test
    void eachKindOfBadPromptGetsAnErrorAnswerAndADeadLetter() throws Exception {
        Map<String, String> bad =
                new LinkedHashMap<>(); // request -> the reason the dead letter must give
        bad.put("{\"id\": \"broken\", \"prompt\": ", "malformed JSON");
        bad.put("{\"prompt\": \"ROMEO:\"}", "missing field 'id'");
        bad.put("{\"id\": \"no-prompt\"}", "missing field 'prompt'");
        bad.put(
                "{\"id\": \"too-many\", \"prompt\": \"A\", \"tokens\": 5000}",
                "tokens must be in [1, 1000], got 5000");
        bad.put(
                "{\"id\": \"too-hot\", \"prompt\": \"A\", \"temperature\": 2.5}",
                "temperature must be in (0, 2], got 2.5");
        bad.put(
                "{\"id\": \"top-k\", \"prompt\": \"A\", \"top_k\": 66}",
                "top_k must be in [1, 65], got 66");
        bad.put(
                "{\"id\": \"too-long\", \"prompt\": \"" + "a".repeat(2001) + "\"}",
                "prompt has 2001 characters");
        Map<Long, String> reasonByOffset = new HashMap<>();
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafka().bootstrapServers());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            for (var e : bad.entrySet()) {
                long offset =
                        producer.send(new ProducerRecord<>(config.topics().prompts(), e.getKey()))
                                .get()
                                .offset();
                reasonByOffset.put(offset, e.getValue());
            }
        }
        List<Reports.DeadLetter> dead =
                read(
                        config.topics().deadLetters(),
                        Reports.DeadLetter.class,
                        d -> d.topic().equals(config.topics().prompts()),
                        bad.size());
        assertThat(dead)
                .extracting(Reports.DeadLetter::offset)
                .containsExactlyInAnyOrderElementsOf(reasonByOffset.keySet());
        assertThat(dead)
                .allSatisfy(d -> assertThat(d.reason()).contains(reasonByOffset.get(d.offset())));

        List<String> ids =
                List.of(
                        "no-prompt",
                        "too-many",
                        "too-hot",
                        "top-k",
                        "too-long"); // the two without an id: no answer
        List<Reports.Answer> answers =
                read(
                        config.topics().answers(),
                        Reports.Answer.class,
                        a -> ids.contains(a.id()),
                        ids.size());
        assertThat(answers).extracting(Reports.Answer::id).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(answers)
                .allSatisfy(
                        a -> {
                            assertThat(a.text()).isNull();
                            assertThat(a.error()).isNotBlank();
                        });
    }

    @Test
    void aFloodOfPromptsIsBoundedAndTrainingKeepsStepping() throws Exception {
        long stepBefore = last(losses(r -> true)).step();
        int flood = 1000;
        List<CompletableFuture<Reports.Answer>> futures = new ArrayList<>();
        try (PromptClient client =
                new PromptClient(
                        config.kafka().clientSettings(),
                        config.topics().prompts(),
                        config.topics().answers(),
                        Duration.ofSeconds(10))) {
            ask(
                    client,
                    new PromptRequest(
                            "warm-up", "A", 1, 1.0, 0, 1, 30_000)); // the responder has a model
            for (int i = 0; i < flood; i++) {
                futures.add(
                        client.ask(
                                new PromptRequest("flood-" + i, "ROMEO:", 4, 0.8, 50, i, 120_000)));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                    .get(120, TimeUnit.SECONDS);
        }
        List<Reports.Answer> answers = futures.stream().map(CompletableFuture::join).toList();
        long queueFull =
                answers.stream().filter(a -> Reports.Answer.QUEUE_FULL.equals(a.error())).count();
        List<Reports.Answer> answered = answers.stream().filter(a -> a.error() == null).toList();
        System.out.printf(
                "flood of %d prompts: %d answered with text, %d queue full%n",
                flood, answered.size(), queueFull);
        assertThat(queueFull + answered.size())
                .as("every request answered once, text or queue full")
                .isEqualTo(flood);
        assertThat(queueFull).as("most refused at once").isGreaterThan(flood / 2);
        assertThat(answered)
                .hasSizeGreaterThanOrEqualTo(config.serving().promptQueue())
                .allSatisfy(a -> assertThat(a.text()).hasSize(4));
        // training went on during and after the flood
        assertThat(
                        last(losses(
                                        r ->
                                                r.step()
                                                        >= stepBefore
                                                                + 3L
                                                                        * config.evaluation()
                                                                                .interval()))
                                .step())
                .isGreaterThanOrEqualTo(stepBefore + 3L * config.evaluation().interval());
    }

    @Test
    void exportWritesTheNewestModelThatGenerateLoadsWithoutTheJob(@TempDir Path dir)
            throws Exception {
        Path model = dir.resolve("model.bin");
        List<String> args = JobArgs.export(config, model); // no model options: the metadata's
        CliRun export = CliRun.of(args.toArray(String[]::new));
        assertThat(export.exit()).as(export.err()).isEqualTo(0);
        assertThat(export.out())
                .containsPattern(
                        "exported round \\d+ \\(generation 0, step \\d+, [0-9,]+ parameters\\) to"
                                + " ");
        ModelFile.Contents contents = ModelFile.load(model);
        assertThat(contents.config().nLayer()).isEqualTo(1);
        assertThat(contents.step())
                .isPositive()
                .isEqualTo(Long.parseLong(export.out().replaceAll("(?s).*step (\\d+),.*", "$1")));

        CliRun generate =
                CliRun.of(
                        "generate",
                        "--model",
                        model.toString(),
                        "--prompt",
                        "ROMEO:",
                        "--tokens",
                        "25",
                        "--top-k",
                        "10");
        assertThat(generate.exit()).as(generate.err()).isEqualTo(0);
        assertThat(generate.out().replace("\r", "")).startsWith("ROMEO:").hasSize(6 + 25 + 1);

        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 1;
        Files.write(model, bytes);
        CliRun damaged =
                CliRun.of(
                        "generate", "--model", model.toString(), "--prompt", "A", "--tokens", "5");
        assertThat(damaged.exit()).isNotZero();
        assertThat(damaged.err()).contains("checksum mismatch");

        // 4 heads of 8 instead of 2 of 16: the same 11,201 parameters, another model
        List<String> wrongHeads = new ArrayList<>(args);
        wrongHeads.set(2, dir.resolve("other.bin").toString());
        wrongHeads.addAll(List.of("--n-head", "4"));
        CliRun wrongShape = CliRun.of(wrongHeads.toArray(String[]::new));
        assertThat(wrongShape.exit()).isEqualTo(2);
        assertThat(wrongShape.err().strip())
                .isEqualTo(
                        "streamgpt: the options do not match the job's model on "
                                + config.topics().model()
                                + ": n-head 4 (given) vs 2 (the job's) (export needs no model"
                                + " options: the job's metadata on "
                                + config.topics().metadata()
                                + " gives them)");
        // the job's own options are accepted
        List<String> same = new ArrayList<>(args);
        same.addAll(List.of(TINY));
        assertThat(CliRun.of(same.toArray(String[]::new)).exit()).isEqualTo(0);
        assertThat(dir.resolve("other.bin")).doesNotExist();
    }

    private static Reports.LossRecord last(List<Reports.LossRecord> losses) {
        return losses.get(losses.size() - 1);
    }

    /** The first {@code count} records of {@code topic} that match, read from its start. */
    private static <T> List<T> read(String topic, Class<T> type, Predicate<T> match, int count) {
        List<T> found = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 60_000;
        try (KafkaConsumer<String, String> consumer =
                KafkaStreams.textConsumer(config.kafka().clientSettings(), "live-test")) {
            consumer.subscribe(List.of(topic));
            while (found.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record :
                        consumer.poll(Duration.ofMillis(500))) {
                    T value = Reports.fromJson(record.value(), type);
                    if (match.test(value)) {
                        found.add(value);
                    }
                }
            }
        }
        return found;
    }
}
