package io.streamgpt.cli;

import io.streamgpt.cli.serve.HttpApi;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.job.config.JobConfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.flink.metrics.prometheus.HostPrometheusReporterFactory;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment files are not run here (no Docker engine, no Kubernetes), so they are read: valid
 * YAML, the fields that matter, and the job arguments they pass parsed by the job's own options.
 */
class DeployManifestsTest {

    private static final Path DEPLOY = Paths.home().resolve("deploy");
    private static final YAMLMapper YAML = new YAMLMapper();

    /** The options the job's entry point takes. */
    @Command(name = "job")
    /** The job's config as JobMain reads the manifest's arguments. */
    private static JobConfig jobConfig(List<String> args) {
        return JobConfig.fromArguments(args.toArray(String[]::new));
    }

    private static List<JsonNode> documents(String file) throws IOException {
        try (var values =
                YAML.readerFor(JsonNode.class)
                        .<JsonNode>readValues(DEPLOY.resolve(file).toFile())) {
            return values.readAll();
        }
    }

    private static JsonNode kind(List<JsonNode> documents, String kind) {
        return documents.stream()
                .filter(d -> d.path("kind").asText().equals(kind))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind));
    }

    private static List<String> strings(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    @Test
    void theFlinkDeploymentRunsTheJobWithOneGpuPerReplicaAndSharedCheckpoints() throws Exception {
        List<JsonNode> docs = documents("k8s/flinkdeployment.yaml");
        JsonNode deployment = kind(docs, "FlinkDeployment");
        assertThat(deployment.path("apiVersion").asText()).isEqualTo("flink.apache.org/v1beta1");
        JsonNode spec = deployment.path("spec");
        assertThat(spec.path("flinkVersion").asText()).matches("v2_\\d+");
        assertThat(spec.path("image").asText()).isNotBlank();

        JsonNode job = spec.path("job");
        assertThat(job.path("jarURI").asText()).startsWith("local:///opt/flink/usrlib/");
        assertThat(job.path("entryClass").asText()).isEqualTo("io.streamgpt.job.JobMain");
        JobConfig config = jobConfig(strings(job.path("args")));
        assertThat(job.path("parallelism").asInt())
                .as("parallelism = replicas")
                .isEqualTo(config.replicas().count());
        assertThat(config.kafka().bootstrapServers()).isEqualTo("streamgpt-kafka:9092");

        JsonNode flink = spec.path("flinkConfiguration");
        assertThat(flink.path("taskmanager.numberOfTaskSlots").asText()).isEqualTo("1");
        assertThat(flink.path("external-resources").asText()).isEqualTo("gpu");
        assertThat(flink.path("external-resource.gpu.amount").asText()).isEqualTo("1");
        assertThat(flink.path("external-resource.gpu.driver-factory.class").asText())
                .isEqualTo("org.apache.flink.externalresource.gpu.GPUDriverFactory");
        assertThat(flink.path("external-resource.gpu.kubernetes.config-key").asText())
                .isEqualTo("nvidia.com/gpu");
        JsonNode taskManagerContainer =
                spec.path("taskManager").path("podTemplate").path("spec").path("containers").get(0);
        assertThat(taskManagerContainer.path("name").asText()).isEqualTo("flink-main-container");
        assertThat(
                        taskManagerContainer
                                .path("resources")
                                .path("limits")
                                .path("nvidia.com/gpu")
                                .asInt())
                .isEqualTo(1);

        assertThat(flink.path("metrics.reporter.prom.factory.class").asText())
                .isEqualTo(HostPrometheusReporterFactory.class.getName());
        assertThat(flink.path("metrics.reporter.prom.host").asText()).isEqualTo("0.0.0.0");
        assertThat(flink.path("metrics.reporter.prom.port").asText()).isEqualTo("9249");
        JsonNode pod = spec.path("podTemplate").path("spec");
        JsonNode container = pod.path("containers").get(0);
        assertThat(container.path("ports").findValuesAsText("containerPort")).contains("9249");

        // checkpoints and savepoints on the claim every pod mounts, and the job checkpoints there
        // too
        String mount = container.path("volumeMounts").get(0).path("mountPath").asText();
        assertThat(flink.path("execution.checkpointing.dir").asText())
                .startsWith("file://" + mount + "/");
        assertThat(flink.path("execution.checkpointing.savepoint-dir").asText())
                .startsWith("file://" + mount + "/");
        assertThat(config.checkpoints().directory())
                .isEqualTo(flink.path("execution.checkpointing.dir").asText());
        JsonNode claim = kind(docs, "PersistentVolumeClaim");
        assertThat(
                        pod.path("volumes")
                                .get(0)
                                .path("persistentVolumeClaim")
                                .path("claimName")
                                .asText())
                .isEqualTo(claim.path("metadata").path("name").asText());
        assertThat(strings(claim.path("spec").path("accessModes")))
                .containsExactly("ReadWriteMany");
    }

    @Test
    void theKafkaManifestServesTheJobsBootstrapAddressAndCreatesItsTopics() throws Exception {
        List<JsonNode> docs = documents("k8s/kafka.yaml");
        JsonNode service = kind(docs, "Service");
        assertThat(
                        service.path("metadata").path("name").asText()
                                + ":"
                                + service.path("spec").path("ports").get(0).path("port").asInt())
                .isEqualTo("streamgpt-kafka:9092");
        JsonNode broker =
                kind(docs, "StatefulSet")
                        .path("spec")
                        .path("template")
                        .path("spec")
                        .path("containers")
                        .get(0);
        assertThat(broker.path("image").asText()).startsWith("apache/kafka:4.");
        assertThat(broker.path("env").findValuesAsText("value"))
                .contains("broker,controller", "PLAINTEXT://streamgpt-kafka:9092");
        String script =
                String.join(
                        "\n",
                        strings(
                                kind(docs, "Job")
                                        .path("spec")
                                        .path("template")
                                        .path("spec")
                                        .path("containers")
                                        .get(0)
                                        .path("command")));
        assertThat(script)
                .contains(
                        "--topic streamgpt-model --partitions 4 --config max.message.bytes=4194304",
                        "streamgpt-prompts",
                        "streamgpt-answers",
                        "streamgpt-dead-letters");
    }

    @Test
    void theComposeFileRunsKafkaFlinkAndPrometheusOnTheOfficialImages() throws Exception {
        JsonNode services = documents("compose/docker-compose.yaml").get(0).path("services");
        assertThat(services.path("kafka").path("image").asText()).startsWith("apache/kafka:4.");
        assertThat(services.path("kafka").path("environment").path("KAFKA_PROCESS_ROLES").asText())
                .isEqualTo("broker,controller");
        for (String flink : List.of("jobmanager", "taskmanager")) {
            JsonNode s = services.path(flink);
            assertThat(s.path("image").asText()).as(flink).startsWith("flink:2.2");
            String properties = s.path("environment").path("FLINK_PROPERTIES").asText();
            assertThat(properties)
                    .contains(
                            "metrics.reporter.prom.factory.class: "
                                    + HostPrometheusReporterFactory.class.getName(),
                            "metrics.reporter.prom.port: 9249",
                            "execution.checkpointing.dir: file:///flink-data/");
            assertThat(strings(s.path("volumes"))).contains("flink-data:/flink-data");
        }
        List<String> command = strings(services.path("jobmanager").path("command"));
        assertThat(command.subList(0, 3))
                .containsExactly("standalone-job", "--job-classname", "io.streamgpt.job.JobMain");
        JobConfig config = jobConfig(command.subList(3, command.size()));
        assertThat(
                        services.path("kafka")
                                .path("environment")
                                .path("KAFKA_ADVERTISED_LISTENERS")
                                .asText())
                .contains("://" + config.kafka().bootstrapServers(), "://127.0.0.1:9092");
        assertThat(services.path("taskmanager").path("deploy").path("replicas").asInt())
                .isEqualTo(config.replicas().count());
        assertThat(services.path("prometheus").path("image").asText())
                .startsWith("prom/prometheus:");
        List<String> published = new ArrayList<>();
        services.forEach(s -> published.addAll(strings(s.path("ports"))));
        assertThat(published).isNotEmpty().allSatisfy(p -> assertThat(p).startsWith("127.0.0.1:"));

        JsonNode scrape =
                documents("compose/prometheus.yml")
                        .get(0)
                        .path("scrape_configs")
                        .get(0)
                        .path("dns_sd_configs")
                        .get(0);
        assertThat(strings(scrape.path("names"))).containsExactly("jobmanager", "taskmanager");
        assertThat(scrape.path("port").asInt()).isEqualTo(9249);
    }

    @Test
    void theOpenApiDescriptionMatchesTheRulesTheServerChecks() throws Exception {
        JsonNode api = documents("openapi.yaml").get(0);
        assertThat(api.path("openapi").asText()).startsWith("3.");
        assertThat(api.path("paths").path("/generate").has("post")).isTrue();
        assertThat(api.path("paths").path("/samples").has("get")).isTrue();
        assertThat(api.path("paths").path("/healthz").has("get")).isTrue();
        assertThat(api.path("paths").path("/generate").path("post").path("responses").fieldNames())
                .toIterable()
                .contains("200", "400", "413", "503", "504");
        JsonNode request =
                api.path("components").path("schemas").path("PromptRequest").path("properties");
        assertThat(request.path("prompt").path("maxLength").asInt())
                .isEqualTo(PromptRequest.MAX_PROMPT_CHARS);
        assertThat(request.path("tokens").path("maximum").asInt())
                .isEqualTo(PromptRequest.MAX_TOKENS);
        assertThat(request.path("tokens").path("default").asInt())
                .isEqualTo(PromptRequest.DEFAULT_TOKENS);
        assertThat(request.path("temperature").path("maximum").asDouble())
                .isEqualTo(PromptRequest.MAX_TEMPERATURE);
        assertThat(request.path("id").path("maxLength").asInt())
                .isEqualTo(PromptRequest.MAX_ID_CHARS);
        assertThat(request.path("timeout_ms").path("maximum").asLong())
                .isEqualTo(PromptRequest.MAX_TIMEOUT_MS);
        assertThat(
                        api.path("paths")
                                .path("/samples")
                                .path("get")
                                .path("parameters")
                                .get(0)
                                .path("schema")
                                .path("maximum")
                                .asInt())
                .isEqualTo(HttpApi.MAX_SAMPLES);
    }
}
