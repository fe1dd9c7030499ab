package io.streamgpt.cli.serve;

import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP API of {@code serve} and {@code local} (described in deploy/openapi.yaml, served at
 * {@code /openapi.yaml}), on Javalin (Jetty 12):
 *
 * <ul>
 *   <li>{@code GET /healthz}: 200 while the server runs;
 *   <li>{@code GET /samples?last=N}, {@code GET /losses?last=N}: the newest records of the samples
 *       and losses topics, kept by one background reader each;
 *   <li>{@code POST /generate}: a prompt request (the prompts topic's JSON; {@code id} optional),
 *       checked with {@link PromptRequest}'s rules (400 with the reason), answered by the running
 *       job through the prompts and answers topics: 200 with the answer, 503 when the job refused
 *       it for now (queue full, no model yet, expired), 422 for another refusal, 409 while a
 *       request with the same id waits, 504 when no job answered in time;
 *   <li>{@code POST /v1/completions}, {@code GET /v1/models}: OpenAI's completions API ({@link
 *       Completions}); with {@code "stream": true} the answer comes as server-sent events, part by
 *       part as the job generates it, ending with {@code data: [DONE]};
 *   <li>{@code /}: the web console (loss curves, samples, a prompt box), with uPlot from its webjar
 *       under {@code /webjars/}.
 * </ul>
 *
 * <p>At most {@code maxConcurrent} model requests ({@code /generate}, {@code /v1/completions}) are
 * in flight; more get 429 with {@code Retry-After} at once, so the worker threads (a bounded pool
 * with room beyond that) always have some free for everything else. Connections idle longer than
 * {@code idleTimeout} (a client that sends half a request) are closed; bodies above {@value
 * PromptRequest#MAX_REQUEST_CHARS} bytes are 413 and bodies declared other than JSON are 415.
 * {@link #close} drains: new model requests get 503, those in flight may finish (up to {@code
 * drain}). Kafka is reached only when a request needs it (the readers retry in the background), so
 * the server starts, and rejects bad input, without it.
 */
public final class HttpApi implements AutoCloseable {

    public static final int MAX_SAMPLES = 100;
    public static final int MAX_LOSSES = 2000;

    /** Every route and its method: what deploy/openapi.yaml describes (a test compares them). */
    public static final Map<String, String> ROUTES =
            Map.of(
                    "/healthz", "GET",
                    "/samples", "GET",
                    "/losses", "GET",
                    "/openapi.yaml", "GET",
                    "/generate", "POST",
                    "/v1/models", "GET",
                    "/v1/completions", "POST");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json; charset=utf-8";

    /**
     * What the server needs, in sections; {@link #on} gives the defaults for the limits and no
     * access log.
     *
     * @param address where to listen
     * @param kafka how to reach the job's Kafka
     * @param topics the job's topics the server reads and writes
     * @param limits timeouts and how many model requests at once
     * @param accessLog where one line per request goes; null for none
     */
    public record Settings(
            Address address,
            KafkaClientSettings kafka,
            Topics topics,
            Limits limits,
            PrintWriter accessLog) {

        /** {@code host:port}, the default limits, no access log. */
        public static Settings on(String host, int port, KafkaClientSettings kafka, Topics topics) {
            return new Settings(new Address(host, port), kafka, topics, Limits.DEFAULT, null);
        }

        /** The job's Kafka and topics on 127.0.0.1:{@code port}, the defaults, no access log. */
        public static Settings forJob(io.streamgpt.job.config.JobConfig config, int port) {
            return on(
                    "127.0.0.1",
                    port,
                    config.kafka().clientSettings(),
                    new Topics(
                            config.topics().prompts(),
                            config.topics().answers(),
                            config.topics().samples(),
                            config.topics().losses()));
        }

        public Settings withLimits(Limits limits) {
            return new Settings(address, kafka, topics, limits, accessLog);
        }

        public Settings withAccessLog(PrintWriter accessLog) {
            return new Settings(address, kafka, topics, limits, accessLog);
        }
    }

    /**
     * Where the server listens.
     *
     * @param host the address to bind (127.0.0.1 unless asked otherwise)
     * @param port the port; 0 picks a free one
     */
    public record Address(String host, int port) {}

    /**
     * The job's topics the server uses.
     *
     * @param prompts where {@code /generate} and {@code /v1/completions} send requests
     * @param answers where the job's answers come from
     * @param samples read for {@code /samples}
     * @param losses read for {@code /losses}, the console's curves and the model versions
     */
    public record Topics(String prompts, String answers, String samples, String losses) {}

    /**
     * How long and how much.
     *
     * @param kafkaTimeout how long Kafka may take to answer
     * @param maxConcurrent model requests in flight at once; more get 429
     * @param idleTimeout a connection that sends nothing for this long is closed
     * @param drain how long {@link #close} waits for model requests in flight
     */
    public record Limits(
            Duration kafkaTimeout, int maxConcurrent, Duration idleTimeout, Duration drain) {

        public static final int DEFAULT_MAX_CONCURRENT = 32;

        /** Kafka 10 s, 32 model requests, idle connections closed after 30 s, drain 10 s. */
        public static final Limits DEFAULT =
                new Limits(
                        Duration.ofSeconds(10),
                        DEFAULT_MAX_CONCURRENT,
                        Duration.ofSeconds(30),
                        Duration.ofSeconds(10));

        /** These limits with another number of model requests at once and idle timeout. */
        public Limits withRequests(int maxConcurrent, Duration idleTimeout) {
            return new Limits(kafkaTimeout, maxConcurrent, idleTimeout, drain);
        }
    }

    private final Settings settings;
    private final Javalin app;
    private final Semaphore modelRequests;
    private final NewestRecords samples;
    private final NewestRecords losses;
    private final byte[] openApi;
    private volatile boolean closing;
    private PromptClient prompts; // guarded by this

    /** Starts serving on {@code host:port} (port 0 picks a free one). */
    public HttpApi(Settings settings) {
        this.settings = settings;
        this.modelRequests = new Semaphore(settings.limits().maxConcurrent());
        this.openApi = resource("/streamgpt/openapi.yaml");
        this.samples =
                new NewestRecords(
                        settings.kafka(),
                        settings.topics().samples(),
                        MAX_SAMPLES,
                        settings.limits().kafkaTimeout());
        this.losses =
                new NewestRecords(
                        settings.kafka(),
                        settings.topics().losses(),
                        MAX_LOSSES,
                        settings.limits().kafkaTimeout());
        // model requests block a worker each while they wait; the rest need a few more
        QueuedThreadPool threads = new QueuedThreadPool(settings.limits().maxConcurrent() + 24, 4);
        threads.setName("streamgpt-serve");
        app =
                Javalin.create(
                        config -> {
                            config.jetty.host = settings.address().host();
                            config.jetty.port = settings.address().port();
                            config.jetty.threadPool = threads;
                            config.jetty.modifyServer(
                                    server ->
                                            server.setStopTimeout(
                                                    settings.limits().drain().toMillis()));
                            config.http.maxRequestSize = PromptRequest.MAX_REQUEST_CHARS;
                            config.http.compressionStrategy = CompressionStrategy.NONE;
                            config.startup.showJavalinBanner = false;
                            config.staticFiles.enableWebjars();
                            config.staticFiles.add("/console", Location.CLASSPATH);
                            if (settings.accessLog() != null) {
                                config.requestLogger.http(this::logAccess);
                            }
                            config.routes.exception(
                                    HttpResponseException.class,
                                    (e, ctx) -> send(ctx, e.getStatus(), error(e.getMessage())));
                            Map<String, io.javalin.http.Handler> handlers =
                                    Map.of(
                                            "/healthz", this::health,
                                            "/samples", this::samples,
                                            "/losses", this::losses,
                                            "/openapi.yaml", this::openApi,
                                            "/generate", this::generate,
                                            "/v1/models", this::models,
                                            "/v1/completions", this::completions);
                            ROUTES.forEach(
                                    (path, method) ->
                                            route(
                                                    config.routes,
                                                    path,
                                                    HandlerType.findOrCreate(method),
                                                    handlers.get(path)));
                        });
        try {
            app.start();
        } catch (RuntimeException e) { // e.g. the port is taken: nothing may keep running
            samples.close();
            losses.close();
            throw e;
        }
        for (Connector connector : app.jettyServer().server().getConnectors()) {
            if (connector instanceof ServerConnector server) {
                server.setIdleTimeout(settings.limits().idleTimeout().toMillis());
            }
        }
    }

    /** {@code path} answers {@code method}; every other method is 405 with {@code Allow}. */
    private static void route(
            RoutesConfig routes, String path, HandlerType method, io.javalin.http.Handler handler) {
        routes.addHttpHandler(method, path, handler);
        for (HandlerType other :
                List.of(
                        HandlerType.GET,
                        HandlerType.POST,
                        HandlerType.PUT,
                        HandlerType.PATCH,
                        HandlerType.DELETE)) {
            if (!other.equals(method)) {
                routes.addHttpHandler(
                        other,
                        path,
                        ctx -> {
                            ctx.header("Allow", method.name());
                            send(
                                    ctx,
                                    405,
                                    error(
                                            path
                                                    + " takes "
                                                    + method.name()
                                                    + ", not "
                                                    + other.name()));
                        });
            }
        }
    }

    public int port() {
        return app.port();
    }

    // ---------------------------------------------------------------- the small routes

    private void health(Context ctx) {
        send(ctx, 200, JSON.createObjectNode().put("status", "ok"));
    }

    private void samples(Context ctx) {
        newest(ctx, samples, MAX_SAMPLES, 10);
    }

    private void losses(Context ctx) {
        newest(ctx, losses, MAX_LOSSES, 500);
    }

    private void newest(Context ctx, NewestRecords records, int max, int fallback) {
        int last;
        try {
            String value = ctx.queryParam("last");
            last = value == null ? fallback : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            last = -1;
        }
        if (last < 1 || last > max) {
            send(ctx, 400, error("last must be an integer in [1, " + max + "]"));
            return;
        }
        try {
            send(ctx, 200, JSON.valueToTree(records.newest(last)));
        } catch (IllegalStateException e) {
            send(ctx, 503, error(e.getMessage()));
        }
    }

    private void openApi(Context ctx) {
        ctx.status(200).contentType("application/yaml; charset=utf-8").result(openApi);
    }

    private void models(Context ctx) {
        ObjectNode body = JSON.createObjectNode();
        body.put("object", "list");
        ObjectNode model = body.putArray("data").addObject();
        model.put("id", Completions.MODEL);
        model.put("object", "model");
        JsonNode newest = losses.last();
        model.put(
                "created",
                newest == null
                        ? Instant.now().getEpochSecond()
                        : newest.path("time_ms").asLong() / 1000);
        model.put("owned_by", "streamgpt");
        if (newest == null) {
            model.putNull("version");
        } else {
            model.set(
                    "version",
                    Completions.version(
                            newest.path("generation").asLong(),
                            newest.path("round").asLong(),
                            newest.path("step").asLong()));
        }
        send(ctx, 200, body);
    }

    // ---------------------------------------------------------------- model requests

    /** Why a model request cannot be taken now, or null if it was admitted (then release). */
    private String admit(Context ctx) {
        if (closing) {
            ctx.header("Retry-After", "5");
            return "the server is shutting down";
        }
        if (!modelRequests.tryAcquire()) {
            ctx.header("Retry-After", "1");
            return "too many requests in flight (at most "
                    + settings.limits().maxConcurrent()
                    + "); try again";
        }
        return null;
    }

    /** The body as text, or null after answering 415 for a body that is declared not JSON. */
    private static String jsonBody(Context ctx) {
        String type = ctx.contentType();
        if (type != null
                && !type.toLowerCase(Locale.ROOT).startsWith("application/json")
                && !type.isBlank()) {
            send(
                    ctx,
                    415,
                    error("the body must be JSON (Content-Type: application/json), not " + type));
            return null;
        }
        return ctx.body(); // 413 beyond maxRequestSize
    }

    private void generate(Context ctx) throws Exception {
        String body = jsonBody(ctx);
        if (body == null) {
            return;
        }
        if (body.length() > PromptRequest.MAX_REQUEST_CHARS) {
            send(ctx, 413, error("request body longer than " + PromptRequest.MAX_REQUEST_CHARS));
            return;
        }
        PromptRequest request;
        try {
            request = PromptRequest.parse(withId(body), PromptRequest.ANY_VOCABULARY);
        } catch (PromptRequest.Invalid e) {
            send(ctx, 400, error(e.getMessage()));
            return;
        }
        String refused = admit(ctx);
        if (refused != null) {
            send(ctx, closing ? 503 : 429, error(refused));
            return;
        }
        try {
            Reports.Answer answer;
            try {
                answer = ask(request, part -> {}).get();
            } catch (IllegalArgumentException e) {
                send(ctx, 409, error(e.getMessage()));
                return;
            } catch (IllegalStateException e) {
                send(ctx, 503, error(e.getMessage()));
                return;
            } catch (ExecutionException e) {
                if (e.getCause() instanceof TimeoutException) {
                    send(
                            ctx,
                            504,
                            error(
                                            "no answer from a streamgpt job within "
                                                    + request.timeoutMs()
                                                    + " ms")
                                    .put("id", request.id()));
                } else {
                    send(ctx, 503, error(e.getCause().getMessage()));
                }
                return;
            }
            int status = answer.error() == null ? 200 : answer.retryable() ? 503 : 422;
            send(ctx, status, JSON.readTree(Reports.toJson(answer)));
        } finally {
            modelRequests.release();
        }
    }

    private void completions(Context ctx) throws Exception {
        String body = jsonBody(ctx);
        if (body == null) {
            return;
        }
        Completions.Request request;
        try {
            request = Completions.parse(body, PromptRequest.DEFAULT_TIMEOUT_MS);
        } catch (Completions.Invalid e) {
            send(
                    ctx,
                    e.status,
                    Completions.error(
                            e.getMessage(),
                            "invalid_request_error",
                            e.param,
                            e.status == 404 ? "model_not_found" : null));
            return;
        }
        String refused = admit(ctx);
        if (refused != null) {
            send(
                    ctx,
                    closing ? 503 : 429,
                    Completions.error(
                            refused, closing ? "server_error" : "rate_limit_exceeded", null, null));
            return;
        }
        try {
            BlockingQueue<Object> events = new LinkedBlockingQueue<>();
            CompletableFuture<Reports.Answer> answer;
            try {
                answer = ask(request.prompt(), events::add);
            } catch (IllegalStateException e) {
                send(ctx, 503, Completions.error(e.getMessage(), "server_error", null, null));
                return;
            }
            answer.whenComplete((a, e) -> events.add(a != null ? a : e));
            if (request.stream()) {
                stream(ctx, request, events);
            } else {
                Object last = events.take();
                while (last instanceof Reports.Answer a && a.inProgress()) {
                    last = events.take();
                }
                finish(ctx, request, last);
            }
        } finally {
            modelRequests.release();
        }
    }

    /** Answers a whole completion (or its failure) from the final event. */
    private static void finish(Context ctx, Completions.Request request, Object last) {
        if (last instanceof Reports.Answer answer && answer.error() == null) {
            send(ctx, 200, Completions.completion(request, answer));
        } else {
            int status = failureStatus(last);
            send(
                    ctx,
                    status,
                    Completions.error(
                            failureMessage(last, request),
                            status == 422 ? "invalid_request_error" : "server_error",
                            null,
                            null));
        }
    }

    private static int failureStatus(Object last) {
        if (last instanceof Reports.Answer answer) {
            return answer.retryable() ? 503 : 422;
        }
        return last instanceof TimeoutException || unwrap(last) instanceof TimeoutException
                ? 504
                : 503;
    }

    private static String failureMessage(Object last, Completions.Request request) {
        if (last instanceof Reports.Answer answer) {
            return answer.error();
        }
        Throwable failure = unwrap(last);
        return failure instanceof TimeoutException
                ? "no answer from a streamgpt job within " + request.prompt().timeoutMs() + " ms"
                : String.valueOf(failure.getMessage());
    }

    private static Throwable unwrap(Object failure) {
        Throwable t = (Throwable) failure;
        while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * Streams a completion as server-sent events: one chunk per part the job publishes, the rest of
     * the final answer's text, a last chunk with {@code finish_reason}, then {@code [DONE]}. Until
     * the first part, a refusal or failure is still an ordinary HTTP error.
     */
    private static void stream(
            Context ctx, Completions.Request request, BlockingQueue<Object> events)
            throws InterruptedException, IOException {
        Object event = events.take();
        if (!(event instanceof Reports.Answer first) || first.error() != null) {
            finish(ctx, request, event);
            return;
        }
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no"); // proxies: do not hold events back
        OutputStream out = ctx.res().getOutputStream();
        StringBuilder streamed = new StringBuilder();
        while (true) {
            if (event instanceof Reports.Answer answer && answer.inProgress()) {
                streamed.append(answer.text());
                sendEvent(out, Completions.chunk(request, answer, answer.text(), null).toString());
            } else if (event instanceof Reports.Answer answer && answer.error() == null) {
                String text = answer.text();
                String rest =
                        text.startsWith(streamed.toString())
                                ? text.substring(streamed.length())
                                : text; // cannot happen with the job's parts; the whole is right
                if (!rest.isEmpty()) {
                    sendEvent(out, Completions.chunk(request, answer, rest, null).toString());
                }
                sendEvent(out, Completions.chunk(request, answer, "", "length").toString());
                sendEvent(out, "[DONE]");
                return;
            } else {
                sendEvent(
                        out,
                        Completions.error(
                                        failureMessage(event, request), "server_error", null, null)
                                .toString());
                sendEvent(out, "[DONE]");
                return;
            }
            event = events.take();
        }
    }

    private static void sendEvent(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * Sends {@code request} through the shared client, replacing it first when its answers reader
     * stopped (its waiting requests already failed with the reason).
     *
     * @throws IllegalStateException when Kafka cannot be reached
     * @throws IllegalArgumentException when a request with the same id is waiting
     */
    private CompletableFuture<Reports.Answer> ask(
            PromptRequest request, java.util.function.Consumer<Reports.Answer> parts) {
        PromptClient client;
        synchronized (this) {
            if (prompts != null && !prompts.isOpen()) {
                prompts.close();
                prompts = null;
            }
            if (prompts == null) {
                prompts =
                        new PromptClient(
                                settings.kafka(),
                                settings.topics().prompts(),
                                settings.topics().answers(),
                                settings.limits()
                                        .kafkaTimeout()); // retried on the next request on failure
            }
            client = prompts;
        }
        return client.ask(request, parts);
    }

    /** The current prompt client, for tests; null before the first model request. */
    synchronized PromptClient promptClient() {
        return prompts;
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

    // ---------------------------------------------------------------- plumbing

    private void logAccess(Context ctx, Float ms) {
        PrintWriter log = settings.accessLog();
        synchronized (log) {
            log.printf(
                    Locale.ROOT,
                    "%s [%s] \"%s %s\" %d %.1f ms%n",
                    ctx.ip(),
                    Instant.now(),
                    ctx.method().name(),
                    ctx.path(),
                    ctx.statusCode(),
                    ms);
            log.flush();
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = HttpApi.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void send(Context ctx, int status, JsonNode body) {
        ctx.status(status).contentType(JSON_TYPE).result(body.toString());
    }

    /**
     * Drains, then stops: new model requests get 503 at once, those in flight may finish within the
     * drain time; then the server and the readers stop.
     */
    @Override
    public void close() {
        closing = true;
        try {
            if (modelRequests.tryAcquire(
                    settings.limits().maxConcurrent(),
                    settings.limits().drain().toMillis(),
                    TimeUnit.MILLISECONDS)) {
                modelRequests.release(settings.limits().maxConcurrent());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        app.stop();
        samples.close();
        losses.close();
        synchronized (this) {
            if (prompts != null) {
                prompts.close();
            }
        }
    }

    /** For tests: how many records the background readers skipped as not JSON. */
    Map<String, Long> skippedRecords() {
        return Map.of(
                settings.topics().samples(),
                samples.skipped(),
                settings.topics().losses(),
                losses.skipped());
    }
}
