package io.streamgpt.cli.serve;

import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.JobConfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} in front of a running job (a real in-JVM Kafka broker, a Flink MiniCluster, the
 * tiny model, one replica): an OpenAI completion streams from the live model in parts, 100
 * concurrent clients leave the server responsive and the job training, and the web console in
 * headless Chromium draws the loss curve and streams an answer (screenshot in
 * target/console-screenshot.png).
 */
class LiveServeTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static EmbeddedKafka kafka;
    private static JobConfig config;
    private static JobClient job;
    private static HttpApi api;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        config = TestConfigs.synced(kafka.bootstrapServers(), TestJobs.prefix(), 1, 2);
        job = TestJobs.startFed(config, TestJobs.shakespeare(40_000));
        // the first loss record: the job has evaluated a global model
        TestJobs.readLosses(config, r -> true);
        api = new HttpApi(HttpApi.Settings.forJob(config, 0));
        // the responder has a model once a completion is answered rather than "no model yet"
        for (int attempt = 0; ; attempt++) {
            HttpResponse<String> warm = complete("{\"prompt\": \"A\", \"max_tokens\": 1}");
            if (warm.statusCode() == 200 || attempt == 120) {
                assertThat(warm.statusCode()).as(warm.body()).isEqualTo(200);
                break;
            }
            Thread.sleep(500);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (api != null) {
            api.close();
        }
        if (job != null) {
            TestJobs.cancel(job);
        }
        kafka.close();
    }

    private static HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(120));
    }

    private static HttpRequest completion(String body) {
        return request("/v1/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static HttpResponse<String> complete(String body) throws Exception {
        return HTTP.send(completion(body), HttpResponse.BodyHandlers.ofString());
    }

    private static long newestStep() {
        List<Reports.LossRecord> losses =
                LossReader.readAll(
                        kafka.clientSettings(), config.topics().losses(), Duration.ofSeconds(30));
        return losses.get(losses.size() - 1).step();
    }

    @Test
    void aCompletionStreamsFromTheLiveModelInParts() throws Exception {
        long start = System.nanoTime();
        HttpResponse<InputStream> response =
                HTTP.send(
                        completion(
                                "{\"prompt\": \"ROMEO:\", \"max_tokens\": 1000, \"temperature\":"
                                        + " 0.8, \"top_k\": 50, \"seed\": 3, \"stream\": true}"),
                        HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        List<String> data = new ArrayList<>();
        long firstMs = -1;
        try (BufferedReader lines =
                new BufferedReader(
                        new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.startsWith("data: ")) {
                    if (firstMs < 0) {
                        firstMs = (System.nanoTime() - start) / 1_000_000;
                    }
                    data.add(line.substring(6));
                }
            }
        }
        long wholeMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        int textChunks = 0;
        JsonNode version = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = JSON.readTree(d);
            String part = chunk.path("choices").get(0).path("text").asText();
            textChunks += part.isEmpty() ? 0 : 1;
            text.append(part);
            version = chunk.path("model_version");
        }
        System.out.printf(
                "live SSE, 1000 tokens: %d text chunks, first event %d ms, whole answer %d ms%n",
                textChunks, firstMs, wholeMs);
        assertThat(text).hasSize(1000); // one character per token of the tiny vocabulary
        assertThat(textChunks).as("generated over several 20 ms slices").isGreaterThan(1);
        assertThat(firstMs).isLessThan(wholeMs);
        assertThat(version.path("step").asLong())
                .isEqualTo(version.path("round").asLong() * config.sync().every());
    }

    @Test
    void curlStreamsACompletionFromTheLiveModel() throws Exception {
        Process curl =
                new ProcessBuilder(
                                "curl",
                                "-sS",
                                "-N",
                                "--max-time",
                                "60",
                                "-H",
                                "Content-Type: application/json",
                                "-d",
                                "{\"prompt\": \"JULIET:\", \"max_tokens\": 300, \"stream\": true}",
                                "http://127.0.0.1:" + api.port() + "/v1/completions")
                        .redirectErrorStream(true)
                        .start();
        String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(curl.waitFor()).as(output).isZero();
        List<String> data =
                output.lines()
                        .filter(l -> l.startsWith("data: "))
                        .map(l -> l.substring(6))
                        .toList();
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) {
            text.append(JSON.readTree(d).path("choices").get(0).path("text").asText());
        }
        assertThat(text).hasSize(300);
    }

    @Test
    void hundredConcurrentClientsLeaveTheServerResponsiveAndTheJobTraining() throws Exception {
        long stepBefore = newestStep();
        int clients = 100;
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            answers.add(
                    HTTP.sendAsync(
                            completion(
                                    "{\"prompt\": \"ROMEO:\", \"max_tokens\": 50, \"seed\": "
                                            + i
                                            + "}"),
                            HttpResponse.BodyHandlers.ofString()));
        }
        List<Long> healthMs = new ArrayList<>();
        while (answers.stream().anyMatch(f -> !f.isDone())) {
            long t = System.nanoTime();
            assertThat(
                            HTTP.send(
                                            request("/healthz").build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(200);
            healthMs.add((System.nanoTime() - t) / 1_000_000);
        }
        Map<Integer, Integer> byStatus = new HashMap<>();
        answers.forEach(f -> byStatus.merge(f.join().statusCode(), 1, Integer::sum));
        healthMs.sort(null);
        System.out.printf(
                "100 concurrent completions: %s; /healthz during them: %d calls, median %d ms, max"
                        + " %d ms%n",
                byStatus,
                healthMs.size(),
                healthMs.get(healthMs.size() / 2),
                healthMs.get(healthMs.size() - 1));
        // 32 admitted at once and answered (the job's queue holds 32), the rest refused at once
        assertThat(byStatus.keySet()).containsAnyOf(200).isSubsetOf(200, 429, 503);
        assertThat(byStatus.getOrDefault(200, 0))
                .isGreaterThanOrEqualTo(HttpApi.Limits.DEFAULT_MAX_CONCURRENT / 2);
        assertThat(byStatus.getOrDefault(429, 0)).isPositive();
        // /healthz kept answering, mostly at once, while 32 requests waited for the job
        assertThat(healthMs).hasSizeGreaterThanOrEqualTo(3);
        assertThat(healthMs.get(healthMs.size() / 2))
                .as(
                        "liveness check, not a speed target (benches measure speed): the median"
                                + " /healthz in ms during the flood, of %s",
                        healthMs)
                .isLessThan(500);
        // the job kept training: three more evaluations after the flood
        long target = stepBefore + 3L * config.evaluation().interval();
        assertThat(
                        LossReader.readUntil(
                                        kafka.clientSettings(),
                                        config.topics().losses(),
                                        r -> r.step() >= target,
                                        Duration.ofSeconds(120))
                                .stream()
                                .mapToLong(Reports.LossRecord::step)
                                .max()
                                .orElseThrow())
                .isGreaterThanOrEqualTo(target);
    }

    @Test
    void theConsoleDrawsTheLossCurveAndStreamsAnAnswerInChromium() throws Exception {
        try (HeadlessChromium chromium = HeadlessChromium.start()) {
            chromium.navigate("http://127.0.0.1:" + api.port() + "/");
            JsonNode chart =
                    chromium.waitFor(
                            "window.consoleState ? window.consoleState.points : 0",
                            v -> v.asInt() > 0,
                            Duration.ofSeconds(60));
            chromium.evaluate(
                    "document.getElementById('tokens').value = 1000;"
                            + " document.getElementById('send').click(); true");
            JsonNode answered =
                    chromium.waitFor(
                            "JSON.stringify(window.consoleState)",
                            v -> {
                                try {
                                    JsonNode s = JSON.readTree(v.asText());
                                    return s.path("done").asBoolean() || !s.path("error").isNull();
                                } catch (Exception e) {
                                    return false;
                                }
                            },
                            Duration.ofSeconds(90));
            JsonNode state = JSON.readTree(answered.asText());
            // the chart's points: one per loss record the page read, and the SVG/canvas exists
            assertThat(chart.asInt()).isPositive();
            assertThat(
                            chromium.evaluate(
                                            "document.querySelectorAll('#chart .uplot"
                                                    + " canvas').length")
                                    .asInt())
                    .isEqualTo(1);
            assertThat(state.path("series").toString()).contains("train_loss", "val_loss");
            assertThat(state.path("error").isNull()).as(state.toString()).isTrue();
            assertThat(state.path("answer").asText()).hasSize(1000);
            assertThat(state.path("chunks").asInt()).isGreaterThan(1);
            assertThat(chromium.evaluate("document.getElementById('answer').textContent").asText())
                    .startsWith("ROMEO:")
                    .hasSize(6 + 1000);
            Path shot = Path.of("target", "console-screenshot.png");
            chromium.screenshot(shot);
            assertThat(Files.size(shot)).isGreaterThan(10_000);
            System.out.printf(
                    "console: %d loss points, answer in %d parts, screenshot %s%n",
                    state.path("points").asInt(),
                    state.path("chunks").asInt(),
                    shot.toAbsolutePath());
        }
    }
}
