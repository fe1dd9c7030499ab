package io.streamgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Prometheus rules and the Grafana dashboard: the rules pass their unit tests ({@code promtool
 * test rules deploy/prometheus/rules_test.yml}), every dashboard query is valid PromQL, every panel
 * the issue asks for is there, and the Compose file and the stack's Prometheus config load the
 * rules and the dashboard from where they are. Whether each query returns data from a running job
 * is {@code ClusterStackIT}'s part.
 */
class MonitoringFilesTest {

    private static final Path DEPLOY = Paths.home().resolve("deploy");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void promtool() {
        assumeTrue(
                onPath("promtool"),
                "promtool is not installed (Debian's prometheus package has it; .ci/run installs"
                        + " it): the rules and queries are not checked");
    }

    @Test
    void theAlertAndRecordingRulesPassTheirPromtoolTests() throws Exception {
        String[] result =
                run(DEPLOY.resolve("prometheus"), "promtool", "test", "rules", "rules_test.yml");
        assertThat(result[0]).as(result[1]).isEqualTo("0");
        assertThat(result[1]).contains("SUCCESS");
        JsonNode rules = YAML.readTree(DEPLOY.resolve("prometheus/rules.yml").toFile());
        List<String> alerts = new ArrayList<>();
        rules.path("groups")
                .forEach(g -> g.path("rules").forEach(r -> alerts.add(r.path("alert").asText())));
        assertThat(alerts)
                .contains(
                        "StreamgptJobDown",
                        "StreamgptJobRestarted",
                        "StreamgptCheckpointFailed",
                        "StreamgptNoTrainingProgress",
                        "StreamgptLossNotFinite",
                        "StreamgptValLossRising",
                        "StreamgptInputLagGrowing",
                        "StreamgptPromptsRejected");
        // each alert is tested firing, not only staying quiet
        String tests = Files.readString(DEPLOY.resolve("prometheus/rules_test.yml"));
        for (String alert : alerts.stream().filter(a -> !a.isEmpty()).toList()) {
            assertThat(tests)
                    .as("a test where %s fires", alert)
                    .containsPattern("alertname: " + alert + "\\s+eval_time: \\w+\\s+exp_alerts:");
        }
    }

    @Test
    void everyDashboardQueryIsValidPromqlAndEveryChartIsThere(@TempDir Path dir) throws Exception {
        JsonNode dashboard = GrafanaDashboard.read();
        List<GrafanaDashboard.Query> queries =
                GrafanaDashboard.queries(dashboard, GrafanaDashboard.VARIABLES);
        // promtool parses a recording rule's expression: one rule per query
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (int i = 0; i < queries.size(); i++) {
            rules.append("      - record: dashboard_query_")
                    .append(i)
                    .append("\n        expr: ")
                    // a JSON string is a YAML double-quoted scalar
                    .append(JSON.writeValueAsString(queries.get(i).expr()))
                    .append('\n');
        }
        Path file = Files.writeString(dir.resolve("dashboard-rules.yml"), rules);
        String[] checked = run(dir, "promtool", "check", "rules", file.toString());
        assertThat(checked[0]).as(checked[1]).isEqualTo("0");
        assertThat(checked[1]).contains("SUCCESS: " + queries.size() + " rules found");

        assertThat(GrafanaDashboard.panels(dashboard))
                .allSatisfy(p -> assertThat(p.path("targets")).as(p.toString()).isNotEmpty());
        List<String> titles =
                GrafanaDashboard.panels(dashboard).stream()
                        .map(p -> p.path("title").asText())
                        .toList();
        assertThat(titles)
                .contains(
                        "Training loss per replica",
                        "Validation loss of the global model",
                        "Tokens/s per replica",
                        "Sync round trip",
                        "Rounds closed, and closed by timeout",
                        "Checkpoint duration",
                        "Checkpoint size",
                        "Input lag",
                        "Dead letters/s",
                        "Freshness",
                        "Prompt latency");
        // latencies and freshness are Flink histograms: quantiles, not a last value
        assertThat(queries)
                .filteredOn(q -> q.expr().contains("latency_ms") || q.expr().contains("freshness"))
                .hasSize(6)
                .allSatisfy(q -> assertThat(q.expr()).containsPattern("quantile=\"0\\.(5|99)\""));
    }

    @Test
    void composeAndTheStackLoadTheRulesAndTheDashboard() throws Exception {
        JsonNode services =
                YAML.readTree(DEPLOY.resolve("compose/docker-compose.yaml").toFile())
                        .path("services");
        List<String> prometheusVolumes = strings(services.path("prometheus").path("volumes"));
        assertThat(prometheusVolumes)
                .contains("../prometheus/rules.yml:/etc/prometheus/rules.yml:ro");
        assertThat(
                        strings(
                                YAML.readTree(DEPLOY.resolve("compose/prometheus.yml").toFile())
                                        .path("rule_files")))
                .containsExactly("/etc/prometheus/rules.yml");

        JsonNode grafana = services.path("grafana");
        assertThat(grafana.path("image").asText()).startsWith("grafana/grafana:");
        assertThat(strings(grafana.path("ports"))).containsExactly("127.0.0.1:3000:3000");
        assertThat(strings(grafana.path("volumes")))
                .containsExactly(
                        "../grafana/provisioning:/etc/grafana/provisioning:ro",
                        "../grafana/dashboards:/var/lib/grafana/dashboards:ro");
        JsonNode provider =
                YAML.readTree(
                                DEPLOY.resolve("grafana/provisioning/dashboards/streamgpt.yml")
                                        .toFile())
                        .path("providers")
                        .get(0);
        assertThat(provider.path("options").path("path").asText())
                .isEqualTo("/var/lib/grafana/dashboards");
        JsonNode datasource =
                YAML.readTree(
                                DEPLOY.resolve("grafana/provisioning/datasources/prometheus.yml")
                                        .toFile())
                        .path("datasources")
                        .get(0);
        assertThat(datasource.path("type").asText()).isEqualTo("prometheus");
        assertThat(datasource.path("url").asText()).isEqualTo("http://prometheus:9090");
        // the dashboard's datasource variable finds the provisioned datasource
        JsonNode variable = GrafanaDashboard.read().path("templating").path("list").get(0);
        assertThat(variable.path("current").path("value").asText())
                .isEqualTo(datasource.path("uid").asText());

        // the stack's config names the rules beside it, as ClusterStack copies them
        assertThat(
                        strings(
                                YAML.readTree(DEPLOY.resolve("prometheus/prometheus.yml").toFile())
                                        .path("rule_files")))
                .containsExactly("rules.yml");
        String[] checked =
                run(DEPLOY.resolve("prometheus"), "promtool", "check", "config", "prometheus.yml");
        assertThat(checked[0]).as(checked[1]).isEqualTo("0");
    }

    private static List<String> strings(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    /** Exit code and output (stdout and stderr) of a command run in {@code dir}. */
    private static String[] run(Path dir, String... command)
            throws IOException, InterruptedException {
        Process process =
                new ProcessBuilder(command)
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish: " + output);
        }
        return new String[] {String.valueOf(process.exitValue()), output};
    }

    private static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
