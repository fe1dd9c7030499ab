package io.streamgpt.cli.serve;

import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP API of {@code serve} for web clients, JSON in and out (described in
 * deploy/openapi.yaml):
 *
 * <ul>
 *   <li>{@code GET /healthz}: 200 while the server runs;
 *   <li>{@code GET /samples?last=N}: the newest N (default 10, at most 100) samples of the samples
 *       topic;
 *   <li>{@code POST /generate}: a prompt request (the prompts topic's JSON; {@code id} optional),
 *       checked with {@link PromptRequest}'s rules (400 with the reason), answered by the running
 *       job through the prompts and answers topics: 200 with the answer, 503 when the job refused
 *       it for now (queue full, no model yet, expired), 422 for another refusal, 409 while a
 *       request with the same id waits, 504 when no job answered in time.
 * </ul>
 *
 * Kafka is reached only when a request needs it, so the server starts, and rejects bad input,
 * without it.
 */
public final class HttpApi implements AutoCloseable {

    public static final int MAX_SAMPLES = 100;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService executor;
    private final KafkaClientSettings kafka;
    private final String promptsTopic;
    private final String answersTopic;
    private final String samplesTopic;
    private final Duration kafkaTimeout;
    private PromptClient prompts; // guarded by this

    /**
     * Starts serving on {@code host:port} (port 0 picks a free one); Kafka may take {@code
     * kafkaTimeout} to answer.
     */
    public HttpApi(
            String host,
            int port,
            KafkaClientSettings kafka,
            String promptsTopic,
            String answersTopic,
            String samplesTopic,
            Duration kafkaTimeout)
            throws IOException {
        this.kafkaTimeout = kafkaTimeout;
        this.kafka = kafka;
        this.promptsTopic = promptsTopic;
        this.answersTopic = answersTopic;
        this.samplesTopic = samplesTopic;
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        executor =
                Executors.newFixedThreadPool(8); // a /generate request waits for its answer on one
        server.setExecutor(executor);
        server.createContext(
                "/",
                exchange -> {
                    try (exchange) {
                        route(exchange);
                    } catch (RuntimeException e) {
                        send(exchange, 500, error("internal error: " + e.getMessage()));
                    }
                });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void route(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        String method = exchange.getRequestMethod();
        String allowed =
                switch (path) {
                    case "/healthz", "/samples" -> "GET";
                    case "/generate" -> "POST";
                    default -> null;
                };
        if (allowed == null) {
            send(
                    exchange,
                    404,
                    error(
                            "no such resource: "
                                    + path
                                    + " (try GET /samples, POST /generate, GET /healthz)"));
        } else if (!allowed.equals(method)) {
            exchange.getResponseHeaders().set("Allow", allowed);
            send(exchange, 405, error(path + " takes " + allowed + ", not " + method));
        } else if (path.equals("/healthz")) {
            send(exchange, 200, JSON.createObjectNode().put("status", "ok"));
        } else if (path.equals("/samples")) {
            samples(exchange);
        } else {
            generate(exchange);
        }
    }

    private void generate(HttpExchange exchange) throws IOException {
        String body = readBody(exchange.getRequestBody());
        if (body == null) {
            send(
                    exchange,
                    413,
                    error(
                            "request body longer than "
                                    + PromptRequest.MAX_REQUEST_CHARS
                                    + " bytes"));
            return;
        }
        PromptRequest request;
        try {
            request = PromptRequest.parse(withId(body), PromptRequest.ANY_VOCABULARY);
        } catch (PromptRequest.Invalid e) {
            send(exchange, 400, error(e.getMessage()));
            return;
        }
        Reports.Answer answer;
        try {
            answer = prompts().ask(request).get(request.timeoutMs(), TimeUnit.MILLISECONDS);
        } catch (IllegalStateException e) {
            send(exchange, 503, error(e.getMessage()));
            return;
        } catch (IllegalArgumentException e) {
            send(exchange, 409, error(e.getMessage()));
            return;
        } catch (ExecutionException e) {
            send(exchange, 503, error(e.getCause().getMessage()));
            return;
        } catch (TimeoutException e) {
            send(
                    exchange,
                    504,
                    error("no answer from a streamgpt job within " + request.timeoutMs() + " ms")
                            .put("id", request.id()));
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            send(exchange, 503, error("interrupted"));
            return;
        }
        int status = answer.error() == null ? 200 : answer.retryable() ? 503 : 422;
        send(exchange, status, JSON.readTree(Reports.toJson(answer)));
    }

    /**
     * The body with a fresh id where it has none; anything else is left for the parser to judge.
     */
    private static String withId(String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node instanceof ObjectNode object && !object.has("id")) {
                object.put("id", UUID.randomUUID().toString());
                return JSON.writeValueAsString(object);
            }
        } catch (IOException e) {
            // malformed: the parser says so
        }
        return body;
    }

    private synchronized PromptClient prompts() {
        if (prompts == null) {
            prompts =
                    new PromptClient(
                            kafka,
                            promptsTopic,
                            answersTopic,
                            kafkaTimeout); // retried on the next request if Kafka is away
        }
        return prompts;
    }

    private void samples(HttpExchange exchange) throws IOException {
        int last;
        try {
            String value = queryParameter(exchange.getRequestURI(), "last");
            last = value == null ? 10 : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            last = -1;
        }
        if (last < 1 || last > MAX_SAMPLES) {
            send(exchange, 400, error("last must be an integer in [1, " + MAX_SAMPLES + "]"));
            return;
        }
        try {
            send(exchange, 200, JSON.valueToTree(newestSamples(last)));
        } catch (IllegalStateException | org.apache.kafka.common.KafkaException e) {
            send(exchange, 503, error(e.getMessage()));
        }
    }

    /** The newest {@code last} samples, oldest first, read from the tail of the samples topic. */
    private List<JsonNode> newestSamples(int last) throws IOException {
        List<JsonNode> samples = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                KafkaStreams.textConsumer(kafka, "streamgpt-serve")) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(samplesTopic, kafkaTimeout);
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new IllegalStateException(
                        "Kafka at "
                                + kafka.bootstrapServers()
                                + " did not answer within "
                                + kafkaTimeout.toSeconds()
                                + " s");
            }
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException(
                        "no topic " + samplesTopic + " at " + kafka.bootstrapServers());
            }
            List<TopicPartition> partitions =
                    infos.stream()
                            .map(p -> new TopicPartition(samplesTopic, p.partition()))
                            .toList();
            consumer.assign(partitions);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            partitions.forEach(p -> consumer.seek(p, Math.max(begin.get(p), end.get(p) - last)));
            long deadline = System.currentTimeMillis() + kafkaTimeout.toMillis();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))
                    && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record :
                        consumer.poll(Duration.ofMillis(200))) {
                    if (record.offset()
                            < end.get(new TopicPartition(record.topic(), record.partition()))) {
                        samples.add(JSON.readTree(record.value()));
                    }
                }
            }
        }
        samples.sort(
                (a, b) -> Long.compare(a.path("time_ms").asLong(), b.path("time_ms").asLong()));
        return samples.subList(Math.max(0, samples.size() - last), samples.size());
    }

    private static String queryParameter(URI uri, String name) {
        String query = uri.getRawQuery();
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&")) {
            String[] kv = pair.split("=", 2);
            if (kv[0].equals(name)) {
                return kv.length == 2
                        ? java.net.URLDecoder.decode(kv[1], StandardCharsets.UTF_8)
                        : "";
            }
        }
        return null;
    }

    /** The body as UTF-8, or null if it is longer than a prompt request may be. */
    private static String readBody(InputStream in) throws IOException {
        byte[] bytes = in.readNBytes(PromptRequest.MAX_REQUEST_CHARS + 1);
        return bytes.length > PromptRequest.MAX_REQUEST_CHARS
                ? null
                : new String(bytes, StandardCharsets.UTF_8);
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        synchronized (this) {
            if (prompts != null) {
                prompts.close();
            }
        }
    }
}
