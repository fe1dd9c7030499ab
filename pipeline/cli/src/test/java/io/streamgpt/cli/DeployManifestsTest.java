package io.streamgpt.cli;

import io.streamgpt.cli.serve.HttpApi;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.job.config.JobConfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.metrics.prometheus.HostPrometheusReporterFactory;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

import javax.xml.parsers.DocumentBuilderFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    // ------------------------------------------------------------ safe by default (issue 12)

    /**
     * Native memory of one replica's training step, measured (docs/operations.md, "Memory of the
     * deployment files"): the {@code reference} preset (what the Kubernetes deployment trains) as
     * the peak RSS of {@code streamgpt train} less all the JVM committed (NMT), 9.85 - 1.19 GB; the
     * {@code cpu} preset (Compose's default) as the whole process's peak RSS, an upper bound.
     */
    static final MemorySize REFERENCE_NATIVE_PEAK = MemorySize.parse("8700m");

    static final MemorySize CPU_NATIVE_PEAK = MemorySize.parse("450m");

    /**
     * Host memory of the CUDA runtime in a GPU TaskManager (context, cuBLAS/cuDNN, libtorch_cuda).
     */
    static final MemorySize CUDA_HOST = MemorySize.parse("2500m");

    /** Headroom over a measured peak: other batches, allocator fragmentation, thread arenas. */
    static final double HEADROOM = 1.25;

    /** The TaskManager memory Flink derives from a configuration: what the pod must hold. */
    private static TaskExecutorProcessSpec taskManagerMemory(Map<String, String> flinkConfig) {
        return TaskExecutorProcessUtils.processSpecFromConfig(Configuration.fromMap(flinkConfig));
    }

    private static Map<String, String> fields(JsonNode object) {
        Map<String, String> map = new HashMap<>();
        object.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
        return map;
    }

    /**
     * FLINK_PROPERTIES of a Compose service: "key: value" lines, as the image's entrypoint reads.
     */
    private static Map<String, String> flinkProperties(JsonNode service) {
        Map<String, String> map = new HashMap<>();
        for (String line :
                service.path("environment").path("FLINK_PROPERTIES").asText().split("\n")) {
            if (!line.isBlank()) {
                assertThat(line).as("no comments in FLINK_PROPERTIES").doesNotStartWith("#");
                int colon = line.indexOf(':');
                map.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
            }
        }
        return map;
    }

    /** A version property of the root pom.xml. */
    private static String pomVersion(String property) throws Exception {
        var pom =
                DocumentBuilderFactory.newInstance()
                        .newDocumentBuilder()
                        .parse(Paths.home().resolve("pom.xml").toFile());
        return pom.getElementsByTagName(property).item(0).getTextContent().strip();
    }

    @Test
    void theFlinkDeploymentTakesNoJarsAndBudgetsLibtorchAndCuda() throws Exception {
        JsonNode spec = kind(documents("k8s/flinkdeployment.yaml"), "FlinkDeployment").path("spec");
        Map<String, String> flink = fields(spec.path("flinkConfiguration"));
        assertThat(flink).containsEntry("web.submit.enable", "false");
        assertThat(flink).containsEntry("kubernetes.rest-service.exposed.type", "ClusterIP");

        // what the operator gives Flink: the TaskManager pod's memory is the process size
        flink.put(
                "taskmanager.memory.process.size",
                spec.path("taskManager").path("resource").path("memory").asText());
        TaskExecutorProcessSpec memory = taskManagerMemory(flink);
        assertThat(memory.getTotalProcessMemorySize()).isEqualTo(MemorySize.parse("24576m"));
        // task off-heap holds libtorch's CPU side: a reference replica's peak, with headroom
        assertThat(memory.getTaskOffHeapSize().getBytes())
                .isGreaterThanOrEqualTo((long) (REFERENCE_NATIVE_PEAK.getBytes() * HEADROOM));
        // JVM overhead holds the JVM's own native memory (threads, code cache, GC: ~512 MB) and
        // the CUDA runtime's host memory
        assertThat(memory.getJvmOverheadSize().getBytes())
                .isGreaterThanOrEqualTo(CUDA_HOST.getBytes() + MemorySize.parse("512m").getBytes());
        // and what is left is heap: parameters, averager sums and the replay buffer live there
        assertThat(memory.getTaskHeapSize().getBytes())
                .isGreaterThanOrEqualTo(MemorySize.parse("4g").getBytes());

        JsonNode pod = spec.path("podTemplate").path("spec");
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("securityContext").path("runAsUser").asInt()).isEqualTo(9999);
        JsonNode container = pod.path("containers").get(0);
        assertThat(
                        container
                                .path("securityContext")
                                .path("allowPrivilegeEscalation")
                                .asBoolean(true))
                .isFalse();
        assertThat(strings(container.path("securityContext").path("capabilities").path("drop")))
                .containsExactly("ALL");
    }

    @Test
    void theFlinkDeploymentReadsItsSecretsFromAKubernetesSecretAndNeverFromArguments()
            throws Exception {
        JsonNode spec = kind(documents("k8s/flinkdeployment.yaml"), "FlinkDeployment").path("spec");
        JsonNode pod = spec.path("podTemplate").path("spec");
        JsonNode secretVolume = null;
        for (JsonNode volume : pod.path("volumes")) {
            if (volume.has("secret")) {
                secretVolume = volume;
            }
        }
        assertThat(secretVolume).as("a volume from a Secret").isNotNull();
        assertThat(secretVolume.path("secret").path("secretName").asText())
                .isEqualTo("streamgpt-secrets");
        assertThat(secretVolume.path("secret").path("defaultMode").asInt())
                .as("0440: owner and group read, nobody writes")
                .isEqualTo(0440);
        String name = secretVolume.path("name").asText();
        JsonNode mount = null;
        for (JsonNode m : pod.path("containers").get(0).path("volumeMounts")) {
            if (m.path("name").asText().equals(name)) {
                mount = m;
            }
        }
        assertThat(mount).as("mounted in the Flink container").isNotNull();
        assertThat(mount.path("mountPath").asText()).isEqualTo("/etc/streamgpt/secrets");
        assertThat(mount.path("readOnly").asBoolean()).isTrue();
        // the pod's fsGroup owns the mounted files, so the flink user reads them with mode 0440
        assertThat(pod.path("securityContext").path("fsGroup").asInt()).isEqualTo(9999);

        // nothing secret travels as a job argument, a Flink setting or an environment value
        List<String> visible = new ArrayList<>(strings(spec.path("job").path("args")));
        visible.addAll(fields(spec.path("flinkConfiguration")).values());
        visible.addAll(pod.path("containers").get(0).path("env").findValuesAsText("value"));
        assertThat(visible)
                .noneMatch(v -> v.matches("(?is).*(password|sasl\\.jaas|secret=|BEGIN .*KEY).*"));
        // the job signs and verifies its model loop with the key file in that mount
        assertThat(jobConfig(strings(spec.path("job").path("args"))).topics().modelSecret())
                .isEqualTo("file:/etc/streamgpt/secrets/model-loop.key");
    }

    /**
     * Who reaches what under the NetworkPolicies, as Kubernetes decides it: a pod no policy selects
     * takes everything; a selected pod takes a connection only if some rule of a policy selecting
     * it admits the source (pod labels; without a namespace selector only from the policy's own
     * namespace) on that port (no ports: every port).
     */
    private record Pod(String namespace, Map<String, String> labels) {}

    private static boolean selects(JsonNode selector, Map<String, String> labels) {
        return fields(selector.path("matchLabels")).entrySet().stream()
                .allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    private static boolean admits(
            List<JsonNode> policies, String namespace, Pod source, Pod target, int port) {
        List<JsonNode> selecting =
                policies.stream()
                        .filter(p -> selects(p.path("spec").path("podSelector"), target.labels()))
                        .toList();
        if (selecting.isEmpty()) {
            return true;
        }
        for (JsonNode policy : selecting) {
            for (JsonNode rule : policy.path("spec").path("ingress")) {
                boolean portMatches =
                        !rule.has("ports")
                                || rule.path("ports").findValuesAsText("port").stream()
                                        .anyMatch(p -> Integer.parseInt(p) == port);
                for (JsonNode peer : rule.path("from")) {
                    boolean namespaceMatches =
                            peer.has("namespaceSelector") || source.namespace().equals(namespace);
                    if (portMatches
                            && namespaceMatches
                            && selects(peer.path("podSelector"), source.labels())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @Test
    void networkPoliciesLetOnlyOperatorsPrometheusAndTheJobsClientsIn() throws Exception {
        List<JsonNode> policies = documents("k8s/networkpolicies.yaml");
        assertThat(policies)
                .allSatisfy(p -> assertThat(p.path("kind").asText()).isEqualTo("NetworkPolicy"));
        String ns = "streamgpt";
        // the pods as Flink's native Kubernetes integration labels them (app = the deployment's
        // name)
        String app =
                kind(documents("k8s/flinkdeployment.yaml"), "FlinkDeployment")
                        .path("metadata")
                        .path("name")
                        .asText();
        Pod jobManager =
                new Pod(
                        ns,
                        Map.of(
                                "app",
                                app,
                                "component",
                                "jobmanager",
                                "type",
                                "flink-native-kubernetes"));
        Pod taskManager =
                new Pod(
                        ns,
                        Map.of(
                                "app",
                                app,
                                "component",
                                "taskmanager",
                                "type",
                                "flink-native-kubernetes"));
        List<JsonNode> kafkaDocs = documents("k8s/kafka.yaml");
        Pod kafka =
                new Pod(
                        ns,
                        fields(
                                kind(kafkaDocs, "StatefulSet")
                                        .path("spec")
                                        .path("template")
                                        .path("metadata")
                                        .path("labels")));
        Pod topicJob =
                new Pod(
                        ns,
                        fields(
                                kind(kafkaDocs, "Job")
                                        .path("spec")
                                        .path("template")
                                        .path("metadata")
                                        .path("labels")));
        Pod operator =
                new Pod(
                        "flink-operator",
                        Map.of("app.kubernetes.io/name", "flink-kubernetes-operator"));
        Pod person = new Pod(ns, Map.of("streamgpt.io/flink-operator", "true"));
        Pod prometheus = new Pod("monitoring", Map.of("app.kubernetes.io/name", "prometheus"));
        Pod feeder = new Pod(ns, Map.of("streamgpt.io/kafka-client", "true"));
        Pod stranger = new Pod(ns, Map.of("app", "something-else"));
        Pod strangerElsewhere = new Pod("other", Map.of("app", "streamgpt"));

        int rest = 8081, rpc = 6123, blob = 6124, reporter = 9249, broker = 9092;
        // the REST API: the operator and labelled operators only
        assertThat(admits(policies, ns, operator, jobManager, rest)).isTrue();
        assertThat(admits(policies, ns, person, jobManager, rest)).isTrue();
        assertThat(admits(policies, ns, stranger, jobManager, rest)).isFalse();
        assertThat(admits(policies, ns, prometheus, jobManager, rest)).isFalse();
        assertThat(admits(policies, ns, feeder, jobManager, rest)).isFalse();
        assertThat(admits(policies, ns, person, jobManager, rpc)).as("REST only").isFalse();
        // Flink among itself: RPC, blobs, data exchange
        assertThat(admits(policies, ns, taskManager, jobManager, rpc)).isTrue();
        assertThat(admits(policies, ns, taskManager, jobManager, blob)).isTrue();
        assertThat(admits(policies, ns, jobManager, taskManager, 6122)).isTrue();
        assertThat(admits(policies, ns, stranger, jobManager, rpc)).isFalse();
        assertThat(admits(policies, ns, strangerElsewhere, taskManager, 6122)).isFalse();
        // metrics: Prometheus only
        assertThat(admits(policies, ns, prometheus, taskManager, reporter)).isTrue();
        assertThat(admits(policies, ns, prometheus, jobManager, reporter)).isTrue();
        assertThat(admits(policies, ns, stranger, taskManager, reporter)).isFalse();
        assertThat(admits(policies, ns, prometheus, taskManager, 6122)).isFalse();
        // Kafka: the job and its clients (the topic Job among them) only
        assertThat(admits(policies, ns, taskManager, kafka, broker)).isTrue();
        assertThat(admits(policies, ns, jobManager, kafka, broker)).isTrue();
        assertThat(admits(policies, ns, feeder, kafka, broker)).isTrue();
        assertThat(admits(policies, ns, topicJob, kafka, broker)).isTrue();
        assertThat(admits(policies, ns, stranger, kafka, broker)).isFalse();
        assertThat(admits(policies, ns, prometheus, kafka, broker)).isFalse();
        assertThat(admits(policies, ns, person, kafka, broker)).isFalse();
    }

    @Test
    void theComposeFileTakesNoJarsKeepsServicesApartAndBudgetsLibtorch() throws Exception {
        JsonNode compose = documents("compose/docker-compose.yaml").get(0);
        JsonNode services = compose.path("services");
        Map<String, String> jobManager = flinkProperties(services.path("jobmanager"));
        assertThat(jobManager).containsEntry("web.submit.enable", "false");
        for (String flink : List.of("jobmanager", "taskmanager")) {
            TaskExecutorProcessSpec memory =
                    taskManagerMemory(flinkProperties(services.path(flink)));
            assertThat(memory.getTaskOffHeapSize().getBytes())
                    .as(flink)
                    .isGreaterThanOrEqualTo((long) (CPU_NATIVE_PEAK.getBytes() * HEADROOM));
            assertThat(memory.getJvmOverheadSize()).as(flink).isEqualTo(MemorySize.parse("512m"));
            assertThat(strings(services.path(flink).path("secrets"))).contains("model-loop-key");
        }
        // the job reads the key where Compose mounts the secret: /run/secrets/<name>
        List<String> command = strings(services.path("jobmanager").path("command"));
        assertThat(
                        jobConfig(command.subList(command.indexOf("--replicas"), command.size()))
                                .topics()
                                .modelSecret())
                .isEqualTo("file:/run/secrets/model-loop-key");
        // the key comes from a file outside git, never from the compose file itself
        assertThat(compose.path("secrets").path("model-loop-key").path("file").asText())
                .isEqualTo("../secrets/model-loop.key");
        assertThat(Files.readAllLines(Paths.home().resolve(".gitignore")))
                .contains("/deploy/secrets/");

        // two services talk only if they share a network
        Map<String, List<String>> networks = new HashMap<>();
        services.fields()
                .forEachRemaining(
                        e -> networks.put(e.getKey(), strings(e.getValue().path("networks"))));
        java.util.function.BiPredicate<String, String> reach =
                (a, b) -> networks.get(a).stream().anyMatch(networks.get(b)::contains);
        assertThat(reach.test("prometheus", "taskmanager")).isTrue();
        assertThat(reach.test("prometheus", "jobmanager")).isTrue();
        assertThat(reach.test("taskmanager", "kafka")).isTrue();
        assertThat(reach.test("jobmanager", "kafka")).isTrue();
        assertThat(reach.test("topics", "kafka")).isTrue();
        assertThat(reach.test("prometheus", "kafka")).isFalse();
        assertThat(reach.test("kafka", "prometheus")).isFalse();
        assertThat(reach.test("topics", "prometheus")).isFalse();
        assertThat(networks.get("kafka")).containsExactly("kafka");
        assertThat(networks.get("prometheus")).containsExactly("metrics");
        assertThat(services.path("flink-data-owner").path("network_mode").asText())
                .isEqualTo("none");
    }

    @Test
    void imagesAndPluginsAreTheVersionsTheBuildUses() throws Exception {
        String flink = pomVersion("flink.version");
        String kafka = pomVersion("kafka.version");
        JsonNode services = documents("compose/docker-compose.yaml").get(0).path("services");
        for (String s : List.of("jobmanager", "taskmanager", "flink-data-owner")) {
            assertThat(services.path(s).path("image").asText())
                    .isEqualTo("flink:" + flink + "-java17");
        }
        assertThat(services.path("kafka").path("image").asText())
                .isEqualTo("apache/kafka:" + kafka);
        assertThat(services.path("topics").path("image").asText())
                .isEqualTo("apache/kafka:" + kafka);
        List<JsonNode> kafkaDocs = documents("k8s/kafka.yaml");
        for (String k : List.of("StatefulSet", "Job")) {
            assertThat(
                            kind(kafkaDocs, k)
                                    .path("spec")
                                    .path("template")
                                    .path("spec")
                                    .path("containers")
                                    .get(0)
                                    .path("image")
                                    .asText())
                    .isEqualTo("apache/kafka:" + kafka);
        }
        JsonNode pod =
                kind(documents("k8s/flinkdeployment.yaml"), "FlinkDeployment")
                        .path("spec")
                        .path("podTemplate")
                        .path("spec");
        assertThat(pod.path("containers").get(0).path("env").findValuesAsText("value"))
                .contains("flink-external-resource-gpu-" + flink + ".jar");
        List<String> dockerfile =
                Files.readAllLines(DEPLOY.resolve("docker/Dockerfile")).stream()
                        .filter(l -> !l.isBlank() && !l.startsWith("#"))
                        .toList();
        assertThat(dockerfile.get(0)).isEqualTo("FROM flink:" + flink + "-java17");
        assertThat(dockerfile.get(dockerfile.size() - 1))
                .as("the image runs as flink, not root")
                .isEqualTo("USER flink");
    }
}
