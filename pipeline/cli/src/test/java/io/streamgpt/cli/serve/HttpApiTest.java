package io.streamgpt.cli.serve;

import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP server against a real broker and a stand-in for the job that answers from the prompts
 * topic like the job's responder: in three parts 300 ms apart ("Tho", "u ar", "t"), then the whole
 * answer "Thou art" (model generation 0, round 7, step 70). It proves streaming (a real SSE client
 * reading line by line, and {@code curl -N}), OpenAI's shapes, the limits (429, idle connections,
 * 413/415), freed ids after 504, a replaced answers client, graceful shutdown and that
 * deploy/openapi.yaml names exactly the routes served.
 */
class HttpApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final List<String> PARTS = List.of("Tho", "u ar", "t");
    private static final long PART_GAP_MS = 300;

    private static EmbeddedKafka kafka;
    private static Thread job;
    private static final AtomicBoolean stop = new AtomicBoolean();

    /**
     * When set, the stand-in holds the rest of its answer after the first part until this opens:
     * the streaming test opens it when its client has the first event, which a server that waited
     * for the whole answer could never give it.
     */
    private static volatile CountDownLatch gate;

    private static volatile boolean gateTimedOut;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        TopicAdmin.ensureTopics(
                kafka.clientSettings(),
                List.of(
                        new TopicAdmin.TopicSpec("prompts", 1, Map.of()),
                        new TopicAdmin.TopicSpec("answers", 1, Map.of()),
                        new TopicAdmin.TopicSpec("samples", 1, Map.of()),
                        new TopicAdmin.TopicSpec("losses", 1, Map.of())));
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>("losses", "not json at all")).get();
            producer.send(
                            new ProducerRecord<>(
                                    "losses",
                                    Reports.toJson(
                                            new Reports.LossRecord(
                                                    70,
                                                    7,
                                                    0,
                                                    1000,
                                                    2.5f,
                                                    new Float[] {2.5f},
                                                    2.75f,
                                                    10,
                                                    1234_000L))))
                    .get();
        }
        job = new Thread(HttpApiTest::standInJob, "stand-in job");
        job.start();
    }

    @AfterAll
    static void stop() throws Exception {
        stop.set(true);
        job.join();
        kafka.close();
    }

    private static HttpApi api(int maxConcurrent, Duration idleTimeout) {
        return new HttpApi(
                settings()
                        .withLimits(
                                HttpApi.Limits.DEFAULT.withRequests(maxConcurrent, idleTimeout)));
    }

    /** The stand-in job's topics on 127.0.0.1, a free port, the default limits. */
    private static HttpApi.Settings settings() {
        return HttpApi.Settings.on(
                "127.0.0.1",
                0,
                kafka.clientSettings(),
                new HttpApi.Topics("prompts", "answers", "samples", "losses"));
    }

    private static HttpRequest.Builder request(HttpApi api, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(30));
    }

    private static HttpResponse<String> post(HttpApi api, String path, String body)
            throws Exception {
        return HTTP.send(
                request(api, path)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(HttpApi api, String path) throws Exception {
        return HTTP.send(request(api, path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** An event of a stream, with when it arrived. */
    record Event(String data, long atMs) {}

    /** Reads a server-sent event stream line by line as it arrives: the data of each event. */
    private static List<Event> events(InputStream body, long startNanos) throws Exception {
        return events(body, startNanos, new CountDownLatch(1));
    }

    /** As above, opening {@code firstEvent} when the first event arrives. */
    private static List<Event> events(InputStream body, long startNanos, CountDownLatch firstEvent)
            throws Exception {
        List<Event> events = new ArrayList<>();
        try (BufferedReader lines =
                new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    events.add(
                            new Event(
                                    line.substring(6),
                                    (System.nanoTime() - startNanos) / 1_000_000));
                    firstEvent.countDown();
                }
            }
        }
        return events;
    }

    @Test
    void aStreamedCompletionArrivesPartByPartAndEndsWithDone() throws Exception {
        CountDownLatch firstEvent = new CountDownLatch(1);
        gate = firstEvent;
        gateTimedOut = false;
        try (HttpApi api = api(4, Duration.ofSeconds(30))) {
            long start = System.nanoTime();
            HttpResponse<InputStream> response =
                    HTTP.send(
                            request(api, "/v1/completions")
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"model\": \"streamgpt\", \"prompt\":"
                                                            + " \"ROMEO:\", \"max_tokens\": 8,"
                                                            + " \"stream\": true}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofInputStream());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("Content-Type").orElseThrow())
                    .startsWith("text/event-stream");
            List<Event> events = events(response.body(), start, firstEvent);
            assertThat(gateTimedOut)
                    .as("the first part reached the client before the job finished the answer")
                    .isFalse();
            // three parts, the (empty) rest of the final answer is not sent, the finish chunk, DONE
            assertThat(events).hasSize(PARTS.size() + 2);
            assertThat(events.get(events.size() - 1).data()).isEqualTo("[DONE]");
            StringBuilder text = new StringBuilder();
            for (Event e : events.subList(0, events.size() - 1)) {
                JsonNode chunk = JSON.readTree(e.data());
                assertThat(chunk.path("object").asText()).isEqualTo("text_completion");
                assertThat(chunk.path("model_version").path("round").asLong()).isEqualTo(7);
                assertThat(chunk.path("system_fingerprint").asText()).isEqualTo("g0-r7-s70");
                text.append(chunk.path("choices").get(0).path("text").asText());
            }
            assertThat(text).hasToString("Thou art");
            JsonNode last = JSON.readTree(events.get(events.size() - 2).data());
            assertThat(last.path("choices").get(0).path("finish_reason").asText())
                    .isEqualTo("length");
            long first = events.get(0).atMs();
            long done = events.get(events.size() - 1).atMs();
            System.out.printf("SSE stand-in: first event at %d ms, [DONE] at %d ms%n", first, done);
        } finally {
            gate = null;
        }
    }

    @Test
    void curlStreamsTheSameEvents() throws Exception {
        try (HttpApi api = api(4, Duration.ofSeconds(30))) {
            Process curl =
                    new ProcessBuilder(
                                    "curl",
                                    "-sS",
                                    "-N",
                                    "-H",
                                    "Content-Type: application/json",
                                    "-d",
                                    "{\"prompt\": \"ROMEO:\", \"max_tokens\": 8, \"stream\": true}",
                                    "http://127.0.0.1:" + api.port() + "/v1/completions")
                            .redirectErrorStream(true)
                            .start();
            try {
                List<Event> events = events(curl.getInputStream(), System.nanoTime());
                assertThat(curl.waitFor()).isZero();
                assertThat(events).hasSize(PARTS.size() + 2);
                assertThat(events.get(0).data()).contains("\"text\":\"Tho\"");
                assertThat(events.get(events.size() - 1).data()).isEqualTo("[DONE]");
            } finally {
                curl.destroy();
            }
        }
    }

    @Test
    void aWholeCompletionHasOpenAisShapeAndTheModelsListTheLiveVersion() throws Exception {
        try (HttpApi api = api(4, Duration.ofSeconds(30))) {
            HttpResponse<String> ok =
                    post(api, "/v1/completions", "{\"prompt\": \"ROMEO:\", \"max_tokens\": 8}");
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            JsonNode completion = JSON.readTree(ok.body());
            assertThat(completion.path("id").asText()).startsWith("cmpl-");
            assertThat(completion.path("choices").get(0).path("text").asText())
                    .isEqualTo("Thou art");
            // "ROMEO:" is 6 characters, all in the vocabulary: 6 + 8 tokens
            assertThat(completion.path("usage").path("total_tokens").asInt()).isEqualTo(14);
            assertThat(completion.path("model_version").path("step").asLong()).isEqualTo(70);

            HttpResponse<String> models = get(api, "/v1/models");
            JsonNode model = JSON.readTree(models.body()).path("data").get(0);
            assertThat(model.path("id").asText()).isEqualTo("streamgpt");
            assertThat(model.path("version").path("round").asLong()).isEqualTo(7);
            assertThat(model.path("created").asLong()).isEqualTo(1234);
            // the losses topic's first record is not JSON: skipped and counted
            assertThat(get(api, "/losses").body()).contains("\"val_loss\":2.75");
            assertThat(api.skippedRecords().get("losses")).isEqualTo(1);

            HttpResponse<String> unknown =
                    post(api, "/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"A\"}");
            assertThat(unknown.statusCode()).isEqualTo(404);
            assertThat(JSON.readTree(unknown.body()).path("error").path("code").asText())
                    .isEqualTo("model_not_found");
            HttpResponse<String> tooMany =
                    post(api, "/v1/completions", "{\"prompt\": \"A\", \"max_tokens\": 1001}");
            assertThat(tooMany.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(tooMany.body()).path("error").path("message").asText())
                    .isEqualTo("max_tokens must be in [1, 1000], got 1001");
            HttpResponse<String> text =
                    HTTP.send(
                            request(api, "/v1/completions")
                                    .header("Content-Type", "text/plain")
                                    .POST(HttpRequest.BodyPublishers.ofString("ROMEO:"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(text.statusCode()).isEqualTo(415);
            assertThat(
                            post(
                                            api,
                                            "/v1/completions",
                                            "{\"prompt\": \"" + "a".repeat(20_000) + "\"}")
                                    .statusCode())
                    .isEqualTo(413);
        }
    }

    @Test
    void aFloodGets429WithRetryAfterWhileHealthzStaysFast() throws Exception {
        int limit = 4;
        int flood = 100;
        try (HttpApi api = api(limit, Duration.ofSeconds(30))) {
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < flood; i++) {
                answers.add(
                        HTTP.sendAsync(
                                request(api, "/v1/completions")
                                        .header("Content-Type", "application/json")
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"prompt\": \"A\", \"seed\": " + i + "}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString()));
            }
            List<Long> healthMs = new ArrayList<>();
            while (answers.stream().anyMatch(f -> !f.isDone())) {
                long t = System.nanoTime();
                assertThat(get(api, "/healthz").statusCode()).isEqualTo(200);
                healthMs.add((System.nanoTime() - t) / 1_000_000);
            }
            healthMs.sort(null);
            long worstHealthMs = healthMs.get(healthMs.size() - 1);
            Map<Integer, Integer> byStatus = new HashMap<>();
            for (CompletableFuture<HttpResponse<String>> f : answers) {
                HttpResponse<String> r = f.join();
                byStatus.merge(r.statusCode(), 1, Integer::sum);
                if (r.statusCode() == 429) {
                    assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
                }
            }
            System.out.printf(
                    "flood of %d completions, limit %d: %s; /healthz meanwhile: %d calls, median"
                            + " %d ms, slowest %d ms%n",
                    flood,
                    limit,
                    byStatus,
                    healthMs.size(),
                    healthMs.get(healthMs.size() / 2),
                    worstHealthMs);
            assertThat(byStatus.keySet()).containsOnly(200, 429);
            // each answer takes ~900 ms, so at most a few rounds of `limit` were admitted
            assertThat(byStatus.get(200)).isBetween(limit, flood / 2);
            assertThat(byStatus.get(429)).isGreaterThanOrEqualTo(flood / 2);
            // blocked model requests take no thread /healthz needs: it kept answering while they
            // waited (~900 ms each, one after another at the stand-in), mostly at once
            assertThat(healthMs).hasSizeGreaterThanOrEqualTo(3);
            assertThat(healthMs.get(healthMs.size() / 2))
                    .as(
                            "liveness check, not a speed target (benches measure speed): the"
                                    + " median /healthz in ms while model requests wait, of %s",
                            healthMs)
                    .isLessThan(500);
        }
    }

    @Test
    void idleHalfRequestsAreClosedAndDoNotStallTheServer() throws Exception {
        try (HttpApi api = api(4, Duration.ofSeconds(1))) {
            List<Socket> slow = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                Socket socket = new Socket("127.0.0.1", api.port());
                OutputStream out = socket.getOutputStream();
                out.write("POST /generate HTTP/1.1\r\nHost: x\r\n".getBytes());
                out.flush();
                slow.add(socket);
            }
            long t = System.nanoTime();
            assertThat(get(api, "/healthz").statusCode()).isEqualTo(200);
            assertThat((System.nanoTime() - t) / 1_000_000)
                    .as(
                            "liveness check, not a speed target: ms for /healthz beside 10 half"
                                    + " requests")
                    .isLessThan(1000);
            for (Socket socket : slow) {
                socket.setSoTimeout(5000);
                // the server gives up on the half request after the 1 s idle timeout: end of stream
                // (a 408 may come first)
                InputStream in = socket.getInputStream();
                while (in.read() >= 0) {}
                socket.close();
            }
        }
    }

    @Test
    void aTimedOutIdIsFreeAgainAndADeadAnswersReaderIsReplaced() throws Exception {
        try (HttpApi api = api(4, Duration.ofSeconds(30))) {
            String silent = "{\"id\": \"silent\", \"prompt\": \"A\", \"timeout_ms\": 300}";
            assertThat(post(api, "/generate", silent).statusCode()).isEqualTo(504);
            assertThat(post(api, "/generate", silent).statusCode())
                    .as("the id was freed by the timeout, not 409")
                    .isEqualTo(504);

            api.promptClient().close(); // as if its reader had died on a Kafka error
            assertThat(api.promptClient().isOpen()).isFalse();
            HttpResponse<String> ok = post(api, "/generate", "{\"prompt\": \"A\", \"tokens\": 8}");
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
            assertThat(JSON.readTree(ok.body()).path("text").asText()).isEqualTo("Thou art");
            assertThat(api.promptClient().isOpen()).isTrue();
        }
    }

    @Test
    void closingLetsAStreamInFlightFinishAndRefusesNewRequests() throws Exception {
        HttpApi api = api(4, Duration.ofSeconds(30));
        CompletableFuture<HttpResponse<String>> inFlight =
                HTTP.sendAsync(
                        request(api, "/v1/completions")
                                .header("Content-Type", "application/json")
                                .POST(
                                        HttpRequest.BodyPublishers.ofString(
                                                "{\"prompt\": \"A\", \"stream\": true}"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        Thread.sleep(PART_GAP_MS); // the request is in flight, its first part may have arrived
        CompletableFuture<Void> closing = CompletableFuture.runAsync(api::close);
        Thread.sleep(100);
        HttpResponse<String> refused = post(api, "/v1/completions", "{\"prompt\": \"A\"}");
        assertThat(refused.statusCode()).isEqualTo(503);
        HttpResponse<String> finished = inFlight.join();
        assertThat(finished.statusCode()).isEqualTo(200);
        assertThat(finished.body()).endsWith("data: [DONE]\n\n");
        closing.join();
    }

    @Test
    void theOpenApiDescriptionNamesExactlyTheServedRoutes() throws Exception {
        JsonNode spec = new YAMLMapper().readTree(Path.of("../../deploy/openapi.yaml").toFile());
        Map<String, String> described = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = spec.path("paths").fields();
                paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            List<String> methods = new ArrayList<>();
            path.getValue().fieldNames().forEachRemaining(methods::add);
            assertThat(methods).as(path.getKey()).hasSize(1);
            described.put(path.getKey(), methods.get(0).toUpperCase());
        }
        assertThat(described).isEqualTo(HttpApi.ROUTES);
        java.io.StringWriter accessLog = new java.io.StringWriter();
        try (HttpApi api =
                new HttpApi(
                        settings()
                                .withLimits(
                                        HttpApi.Limits.DEFAULT.withRequests(
                                                4, Duration.ofSeconds(30)))
                                .withAccessLog(new java.io.PrintWriter(accessLog)))) {
            // the server's copy is the file, and every described GET route is there
            assertThat(get(api, "/openapi.yaml").body())
                    .isEqualTo(
                            java.nio.file.Files.readString(Path.of("../../deploy/openapi.yaml")));
            for (Map.Entry<String, String> route : HttpApi.ROUTES.entrySet()) {
                if (route.getValue().equals("GET")) {
                    assertThat(get(api, route.getKey()).statusCode())
                            .as(route.getKey())
                            .isEqualTo(200);
                }
            }
            // the console and its chart library
            assertThat(get(api, "/").body()).contains("uPlot.iife.min.js");
            assertThat(get(api, "/webjars/uplot/1.6.30/dist/uPlot.iife.min.js").statusCode())
                    .isEqualTo(200);
            assertThat(get(api, "/nothing").statusCode()).isEqualTo(404);
        }
        // one access-log line per request: client, time, request line, status, duration
        assertThat(accessLog.toString())
                .containsPattern("127\\.0\\.0\\.1 \\[[^\\]]+\\] \"GET /healthz\" 200 [0-9.]+ ms")
                .containsPattern("\"GET /nothing\" 404 ");
    }

    /** Answers every prompt request as described in the class comment, except id "silent". */
    private static void standInJob() {
        try (KafkaConsumer<String, String> prompts =
                        KafkaStreams.textConsumer(kafka.clientSettings(), "stand-in");
                KafkaProducer<String, String> answers = producer()) {
            prompts.subscribe(List.of("prompts"));
            while (!stop.get()) {
                for (ConsumerRecord<String, String> record : prompts.poll(Duration.ofMillis(100))) {
                    PromptRequest request = PromptRequest.parse(record.value(), 65);
                    if (request.id().equals("silent")) {
                        continue;
                    }
                    // one request at a time, as the job's responder generates
                    for (String part : PARTS) {
                        sleep(PART_GAP_MS);
                        CountDownLatch holding = gate;
                        if (holding != null && !part.equals(PARTS.get(0))) {
                            try {
                                gateTimedOut = !holding.await(30, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                        answers.send(
                                new ProducerRecord<>(
                                        "answers",
                                        request.id(),
                                        Reports.toJson(
                                                Reports.Answer.part(
                                                        request.id(), part, 7, 0, 70, 0))));
                    }
                    answers.send(
                            new ProducerRecord<>(
                                    "answers",
                                    request.id(),
                                    Reports.toJson(
                                            new Reports.Answer(
                                                    request.id(),
                                                    String.join("", PARTS),
                                                    null,
                                                    7L,
                                                    0,
                                                    70L,
                                                    0L,
                                                    3 * PART_GAP_MS))));
                    answers.flush();
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static KafkaProducer<String, String> producer() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return new KafkaProducer<>(props);
    }
}
