package io.streamgpt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The queries of the Grafana dashboard in {@code deploy/grafana/dashboards/streamgpt.json}, with
 * its template variables substituted as Grafana would: what the tests run against Prometheus.
 */
public final class GrafanaDashboard {

    /** The dashboard file. */
    public static final Path FILE =
            Paths.home().resolve("deploy/grafana/dashboards/streamgpt.json");

    /**
     * The variables of a dashboard showing the {@code streamgpt} job: Grafana's {@code
     * $__rate_interval} is at least four scrape intervals (5 s here), so 1m.
     */
    public static final Map<String, String> VARIABLES =
            Map.of("$job", "streamgpt", "$__rate_interval", "1m");

    /** One query of one panel. */
    public record Query(String panel, String refId, String expr) {}

    private GrafanaDashboard() {}

    public static JsonNode read() throws IOException {
        return new ObjectMapper().readTree(FILE.toFile());
    }

    /** The panels that show data (rows left out), in dashboard order. */
    public static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> panels = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            if (!panel.path("type").asText().equals("row")) {
                panels.add(panel);
            }
        }
        return panels;
    }

    /** Every query of every panel, with {@code variables} substituted. */
    public static List<Query> queries(JsonNode dashboard, Map<String, String> variables) {
        List<Query> queries = new ArrayList<>();
        for (JsonNode panel : panels(dashboard)) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                for (Map.Entry<String, String> v : variables.entrySet()) {
                    expr = expr.replace(v.getKey(), v.getValue());
                }
                queries.add(
                        new Query(
                                panel.path("title").asText(), target.path("refId").asText(), expr));
            }
        }
        return queries;
    }
}
