package io.streamgpt.cli.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The parts of Flink's REST API that streamgpt uses: upload and run a job jar, list jobs, stop a
 * job with a savepoint, cancel it, count TaskManagers. Errors carry Flink's own messages.
 */
public final class FlinkRest {

    /** One row of {@code /jobs/overview}. */
    public record Job(String id, String name, String state, long startTime) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public FlinkRest(String url) {
        this.base = URI.create(url.endsWith("/") ? url : url + "/");
    }

    public String url() {
        return base.toString();
    }

    /** Uploads {@code jar} ({@code POST /jars/upload}) and returns its id on the cluster. */
    public String uploadJar(Path jar) throws IOException {
        String boundary = "streamgpt-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(
                ("--"
                                + boundary
                                + "\r\n"
                                + "Content-Disposition: form-data; name=\"jarfile\"; filename=\""
                                + jar.getFileName()
                                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode reply =
                send(
                        HttpRequest.newBuilder(base.resolve("jars/upload"))
                                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        String file = reply.path("filename").asText();
        return file.substring(file.lastIndexOf('/') + 1);
    }

    /**
     * Runs an uploaded jar ({@code POST /jars/:id/run}), optionally from a savepoint; returns the
     * job id.
     */
    public String runJar(
            String jarId, String entryClass, List<String> args, int parallelism, String savepoint)
            throws IOException {
        ObjectNode request =
                JSON.createObjectNode()
                        .put("entryClass", entryClass)
                        .put("parallelism", parallelism);
        request.putArray("programArgsList")
                .addAll(args.stream().map(JSON.getNodeFactory()::textNode).toList());
        if (savepoint != null) {
            request.put("savepointPath", savepoint).put("allowNonRestoredState", false);
        }
        return send(post("jars/" + jarId + "/run", request)).path("jobid").asText();
    }

    /** Removes an uploaded jar from the cluster's upload directory. */
    public void deleteJar(String jarId) throws IOException {
        send(HttpRequest.newBuilder(base.resolve("jars/" + jarId)).DELETE());
    }

    public List<Job> jobs() throws IOException {
        List<Job> jobs = new ArrayList<>();
        for (JsonNode job :
                send(HttpRequest.newBuilder(base.resolve("jobs/overview")).GET()).path("jobs")) {
            jobs.add(
                    new Job(
                            job.path("jid").asText(),
                            job.path("name").asText(),
                            job.path("state").asText(),
                            job.path("start-time").asLong()));
        }
        return jobs;
    }

    public String jobState(String jobId) throws IOException {
        return send(HttpRequest.newBuilder(base.resolve("jobs/" + jobId)).GET())
                .path("state")
                .asText();
    }

    /**
     * Stops the job with a savepoint in {@code directory} (null: the cluster's default) and returns
     * its path.
     */
    public String stopWithSavepoint(String jobId, String directory, Duration timeout)
            throws IOException, InterruptedException {
        ObjectNode request = JSON.createObjectNode().put("drain", false);
        if (directory != null) {
            request.put("targetDirectory", directory);
        }
        String trigger = send(post("jobs/" + jobId + "/stop", request)).path("request-id").asText();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode status =
                    send(
                            HttpRequest.newBuilder(
                                            base.resolve(
                                                    "jobs/" + jobId + "/savepoints/" + trigger))
                                    .GET());
            if ("COMPLETED".equals(status.path("status").path("id").asText())) {
                JsonNode operation = status.path("operation");
                if (operation.has("failure-cause")) {
                    throw new IOException(
                            "savepoint of job "
                                    + jobId
                                    + " failed: "
                                    + operation
                                            .path("failure-cause")
                                            .path("stack-trace")
                                            .asText()
                                            .lines()
                                            .findFirst()
                                            .orElse("?"));
                }
                return operation.path("location").asText();
            }
            Thread.sleep(500);
        }
        throw new IOException(
                "savepoint of job " + jobId + " not done within " + timeout.toSeconds() + " s");
    }

    public void cancel(String jobId) throws IOException {
        send(
                HttpRequest.newBuilder(base.resolve("jobs/" + jobId + "?mode=cancel"))
                        .method("PATCH", HttpRequest.BodyPublishers.noBody()));
    }

    /** The cluster's configuration ({@code GET /jobmanager/config}): key to value. */
    public java.util.Map<String, String> clusterConfig() throws IOException {
        java.util.Map<String, String> config = new java.util.HashMap<>();
        for (JsonNode entry :
                send(HttpRequest.newBuilder(base.resolve("jobmanager/config")).GET())) {
            config.put(entry.path("key").asText(), entry.path("value").asText());
        }
        return config;
    }

    /** Checkpoints of the job completed so far ({@code GET /jobs/:id/checkpoints}). */
    public long completedCheckpoints(String jobId) throws IOException {
        return send(HttpRequest.newBuilder(base.resolve("jobs/" + jobId + "/checkpoints")).GET())
                .path("counts")
                .path("completed")
                .asLong();
    }

    /** TaskManagers registered with the JobManager. */
    public int taskManagers() throws IOException {
        return send(HttpRequest.newBuilder(base.resolve("taskmanagers")).GET())
                .path("taskmanagers")
                .size();
    }

    /**
     * The metrics named {@code <operator>.<metric>} for one of {@code metrics}, summed over the
     * subtasks of the job's vertices whose name contains {@code vertexName} ({@code GET
     * /jobs/:id/vertices/:vid/subtasks/metrics?agg=sum}): metric to sum, empty before the job
     * reports them.
     */
    public java.util.Map<String, Double> summedMetrics(
            String jobId, String vertexName, List<String> metrics) throws IOException {
        java.util.Map<String, Double> sums = new java.util.HashMap<>();
        for (JsonNode vertex :
                send(HttpRequest.newBuilder(base.resolve("jobs/" + jobId)).GET())
                        .path("vertices")) {
            if (!vertex.path("name").asText().contains(vertexName)) {
                continue;
            }
            String path = "jobs/" + jobId + "/vertices/" + vertex.path("id").asText();
            List<String> ids = new ArrayList<>();
            for (JsonNode metric :
                    send(HttpRequest.newBuilder(base.resolve(path + "/subtasks/metrics")).GET())) {
                String id = metric.path("id").asText();
                if (metrics.stream().anyMatch(m -> id.endsWith("." + m))) {
                    ids.add(id);
                }
            }
            if (ids.isEmpty()) {
                continue;
            }
            URI query =
                    base.resolve(
                            path
                                    + "/subtasks/metrics?agg=sum&get="
                                    + java.net.URLEncoder.encode(
                                            String.join(",", ids), StandardCharsets.UTF_8));
            for (JsonNode metric : send(HttpRequest.newBuilder(query).GET())) {
                String id = metric.path("id").asText();
                String name = id.substring(id.lastIndexOf('.') + 1);
                sums.merge(name, metric.path("sum").asDouble(), Double::sum);
            }
        }
        return sums;
    }

    /** The web UI page of a job. */
    public String jobPage(String jobId) {
        return base + "#/job/running/" + jobId + "/overview";
    }

    /** A server-side stack trace as its first line and its root cause: what a user can act on. */
    private static String rootCause(String error) {
        List<String> lines = error.lines().toList();
        String first = lines.isEmpty() ? "" : lines.get(0);
        String cause =
                lines.stream()
                        .filter(l -> l.startsWith("Caused by: "))
                        .reduce((a, b) -> b)
                        .orElse(null);
        return cause == null ? first : first + " (" + cause.substring("Caused by: ".length()) + ")";
    }

    private HttpRequest.Builder post(String path, JsonNode body) {
        return HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    }

    private JsonNode send(HttpRequest.Builder request) throws IOException {
        HttpResponse<String> response;
        try {
            response =
                    http.send(
                            request.timeout(Duration.ofSeconds(60)).build(),
                            HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | java.net.http.HttpConnectTimeoutException e) {
            // the command line adds what to do and the option that points elsewhere (Failures)
            throw new IOException("cannot reach Flink's REST API at " + base, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while calling " + base, e);
        }
        JsonNode body =
                response.body().isBlank()
                        ? JSON.createObjectNode()
                        : JSON.readTree(response.body());
        if (response.statusCode() >= 300) {
            List<String> errors = new ArrayList<>();
            body.path("errors").forEach(e -> errors.add(rootCause(e.asText())));
            throw new IOException(
                    "Flink answered "
                            + response.statusCode()
                            + " to "
                            + response.request().method()
                            + " "
                            + response.request().uri().getPath()
                            + ": "
                            + String.join("; ", errors));
        }
        return body;
    }
}
