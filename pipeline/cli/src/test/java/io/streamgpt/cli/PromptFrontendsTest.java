package io.streamgpt.cli;

import io.streamgpt.cli.serve.HttpApi;
import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The ways users reach the live model without the job itself: the HTTP API of {@code serve} (a real
 * server on 127.0.0.1) and {@code generate} without {@code --model}. Bad input is refused before
 * Kafka is needed; the round trip runs against a real broker with a stand-in for the job that
 * answers from the prompts topic.
 */
class PromptFrontendsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> call(HttpApi api, String method, String path, String body)
            throws Exception {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                        .timeout(Duration.ofSeconds(30));
        request.method(
                method,
                body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        assertThat(response.headers().firstValue("Content-Type").orElseThrow())
                .matches("application/json; ?charset=utf-8");
        return JSON.readTree(response.body());
    }

    /** No Kafka behind it: nothing listens on port 1. */
    private static HttpApi apiWithoutKafka() throws Exception {
        return new HttpApi(
                settings(KafkaClientSettings.plaintext("127.0.0.1:1"))
                        .withLimits(
                                new HttpApi.Limits(
                                        Duration.ofSeconds(1),
                                        HttpApi.Limits.DEFAULT_MAX_CONCURRENT,
                                        Duration.ofSeconds(30),
                                        Duration.ofSeconds(10))));
    }

    /** The default topics on 127.0.0.1, a free port, the default limits. */
    private static HttpApi.Settings settings(KafkaClientSettings kafka) {
        return HttpApi.Settings.on(
                "127.0.0.1",
                0,
                kafka,
                new HttpApi.Topics("prompts", "answers", "samples", "losses"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "{\"prompt\": |malformed JSON",
                "{\"tokens\": 5}|missing field 'prompt'",
                "{\"prompt\": \"A\", \"tokens\": 0}|tokens must be in [1, 1000], got 0",
                "{\"prompt\": \"A\", \"tokens\": 1001}|tokens must be in [1, 1000], got 1001",
                "{\"prompt\": \"A\", \"temperature\": 0}|temperature must be in (0, 2], got 0.0",
                "{\"prompt\": \"A\", \"top_k\": 0}|top_k must be in [1, vocabulary size], got 0",
                "{\"prompt\": \"A\", \"topk\": 5}|unknown field 'topk'",
                "\"ROMEO:\"|a prompt request must be a JSON object",
            })
    void badGenerateRequestsAre400WithTheReason(String body, String reason) throws Exception {
        try (HttpApi api = apiWithoutKafka()) {
            HttpResponse<String> response = call(api, "POST", "/generate", body);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
            assertThat(json(response).get("error").asText()).contains(reason);
        }
    }

    @Test
    void lengthsMethodsAndPathsAreChecked() throws Exception {
        try (HttpApi api = apiWithoutKafka()) {
            HttpResponse<String> tooLong =
                    call(api, "POST", "/generate", "{\"prompt\": \"" + "a".repeat(2001) + "\"}");
            assertThat(tooLong.statusCode()).isEqualTo(400);
            assertThat(json(tooLong).get("error").asText())
                    .isEqualTo("prompt has 2001 characters, at most 2000 are allowed");
            HttpResponse<String> tooBig =
                    call(api, "POST", "/generate", "{\"prompt\": \"" + "a".repeat(20_000) + "\"}");
            assertThat(tooBig.statusCode()).isEqualTo(413);

            HttpResponse<String> health = call(api, "GET", "/healthz", null);
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(json(health).get("status").asText()).isEqualTo("ok");

            HttpResponse<String> wrongMethod = call(api, "GET", "/generate", null);
            assertThat(wrongMethod.statusCode()).isEqualTo(405);
            assertThat(wrongMethod.headers().firstValue("Allow")).hasValue("POST");
            assertThat(call(api, "DELETE", "/samples", null).statusCode()).isEqualTo(405);
            assertThat(call(api, "GET", "/nothing", null).statusCode()).isEqualTo(404);
            assertThat(call(api, "GET", "/samples?last=0", null).statusCode()).isEqualTo(400);
            assertThat(call(api, "GET", "/samples?last=many", null).statusCode()).isEqualTo(400);

            HttpResponse<String> noKafka =
                    call(api, "POST", "/generate", "{\"prompt\": \"ROMEO:\"}");
            assertThat(noKafka.statusCode()).isEqualTo(503);
            assertThat(json(noKafka).get("error").asText())
                    .contains("Kafka at 127.0.0.1:1 did not answer within 1 s");
        }
    }

    @Test
    void promptsAreAnsweredThroughTheTopicsAndSamplesAreServed() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            String bootstrap = kafka.bootstrapServers();
            TopicAdmin.ensureTopics(
                    KafkaClientSettings.plaintext(bootstrap),
                    List.of(
                            new TopicAdmin.TopicSpec("prompts", 1, Map.of()),
                            new TopicAdmin.TopicSpec("answers", 2, Map.of()),
                            new TopicAdmin.TopicSpec("samples", 1, Map.of())));
            try (KafkaProducer<String, String> producer = producer(bootstrap)) {
                for (int step = 100; step <= 400; step += 100) {
                    producer.send(
                                    new ProducerRecord<>(
                                            "samples",
                                            Reports.toJson(
                                                    new Reports.SampleRecord(
                                                            step,
                                                            step / 10,
                                                            0,
                                                            "text at " + step,
                                                            step))))
                            .get();
                }
            }
            AtomicBoolean stop = new AtomicBoolean();
            Thread job = new Thread(() -> standInJob(bootstrap, stop));
            job.start();
            try (HttpApi api = new HttpApi(settings(KafkaClientSettings.plaintext(bootstrap)))) {
                HttpResponse<String> ok =
                        call(api, "POST", "/generate", "{\"prompt\": \"ROMEO:\", \"tokens\": 3}");
                assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
                JsonNode answer = json(ok);
                assertThat(answer.get("text").asText()).isEqualTo("[3 tokens after ROMEO:]");
                assertThat(answer.get("id").asText()).isNotBlank(); // the server gave it one
                assertThat(answer.get("model_round").asLong()).isEqualTo(7);

                HttpResponse<String> busy =
                        call(api, "POST", "/generate", "{\"id\": \"busy\", \"prompt\": \"A\"}");
                assertThat(busy.statusCode()).isEqualTo(503);
                assertThat(json(busy).get("error").asText()).isEqualTo("queue full");

                HttpResponse<String> silent =
                        call(
                                api,
                                "POST",
                                "/generate",
                                "{\"id\": \"silent\", \"prompt\": \"A\", \"timeout_ms\": 500}");
                assertThat(silent.statusCode()).isEqualTo(504);
                assertThat(json(silent).get("id").asText()).isEqualTo("silent");

                try (PromptClient client =
                        new PromptClient(
                                KafkaClientSettings.plaintext(bootstrap),
                                "prompts",
                                "answers",
                                Duration.ofSeconds(10))) {
                    client.ask(new PromptRequest("twice", "A", 1, 1.0, 0, 1, 1000));
                    assertThatThrownBy(
                                    () ->
                                            client.ask(
                                                    new PromptRequest(
                                                            "twice", "A", 1, 1.0, 0, 1, 1000)))
                            .hasMessage(
                                    "a request with id twice is already waiting for its answer");
                }

                HttpResponse<String> samples = call(api, "GET", "/samples?last=2", null);
                assertThat(samples.statusCode()).isEqualTo(200);
                assertThat(json(samples).findValuesAsText("text"))
                        .containsExactly("text at 300", "text at 400");
            }

            CliRun generate =
                    CliRun.of(
                            "generate",
                            "--bootstrap-servers",
                            bootstrap,
                            "--prompts-topic",
                            "prompts",
                            "--answers-topic",
                            "answers",
                            "--prompt",
                            "ROMEO:",
                            "--tokens",
                            "4");
            assertThat(generate.exit()).as(generate.err()).isEqualTo(0);
            assertThat(generate.out()).isEqualTo("ROMEO:[4 tokens after ROMEO:]\n");

            CliRun refused =
                    CliRun.of(
                            "generate",
                            "--bootstrap-servers",
                            bootstrap,
                            "--prompts-topic",
                            "prompts",
                            "--answers-topic",
                            "answers",
                            "--prompt",
                            "busy",
                            "--tokens",
                            "4");
            assertThat(refused.exit()).isEqualTo(1);
            stop.set(true);
            job.join();

            CliRun noJob =
                    CliRun.of(
                            "generate",
                            "--bootstrap-servers",
                            bootstrap,
                            "--prompts-topic",
                            "prompts",
                            "--answers-topic",
                            "answers",
                            "--prompt",
                            "A",
                            "--timeout",
                            "1");
            assertThat(noJob.exit()).isEqualTo(1);
            assertThat(noJob.err())
                    .contains("no answer within 1 s: is a streamgpt job running on " + bootstrap);
        }
        CliRun badTemperature = CliRun.of("generate", "--prompt", "A", "--temperature", "0");
        assertThat(badTemperature.exit()).isEqualTo(2);
        assertThat(badTemperature.err()).contains("temperature must be in (0, 2]");
        CliRun noKafka =
                CliRun.of(
                        "generate",
                        "--bootstrap-servers",
                        "127.0.0.1:1",
                        "--prompt",
                        "A",
                        "--timeout",
                        "1");
        assertThat(noKafka.exit()).isEqualTo(1);
        assertThat(noKafka.err()).contains("Kafka at 127.0.0.1:1 did not answer within 1 s");
    }

    /**
     * Answers like the job: "[N tokens after PROMPT]" with the request's id; "queue full" for
     * prompt "busy" or id "busy"; nothing for ids "silent" and "twice".
     */
    private static void standInJob(String bootstrap, AtomicBoolean stop) {
        try (KafkaConsumer<String, String> prompts =
                        KafkaStreams.textConsumer(
                                KafkaClientSettings.plaintext(bootstrap), "stand-in");
                KafkaProducer<String, String> answers = producer(bootstrap)) {
            prompts.subscribe(List.of("prompts"));
            while (!stop.get()) {
                for (ConsumerRecord<String, String> record : prompts.poll(Duration.ofMillis(100))) {
                    PromptRequest request = PromptRequest.parse(record.value(), 65);
                    if (request.id().equals("silent") || request.id().equals("twice")) {
                        continue;
                    }
                    Reports.Answer answer =
                            request.id().equals("busy") || request.prompt().equals("busy")
                                    ? Reports.Answer.error(request.id(), Reports.Answer.QUEUE_FULL)
                                    : new Reports.Answer(
                                            request.id(),
                                            "["
                                                    + request.tokens()
                                                    + " tokens after "
                                                    + request.prompt()
                                                    + "]",
                                            null,
                                            7L,
                                            0,
                                            70L,
                                            0L,
                                            0);
                    answers.send(
                            new ProducerRecord<>("answers", request.id(), Reports.toJson(answer)));
                }
            }
        }
    }

    private static KafkaProducer<String, String> producer(String bootstrap) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(props);
    }
}
