package io.streamgpt.cli.model;

import io.streamgpt.connectors.client.ModelTopicReader;
import io.streamgpt.connectors.records.EvalRecords;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The lineage {@code export} writes into a model file (the streamgpt header's {@code lineage}
 * object, the safetensors {@code __metadata__} entry {@code lineage} as JSON text):
 *
 * <pre>
 * {"generation", "round", "step"          the exported version
 *  "tokens"                               tokens trained, summed over the replicas
 *  "input_offsets": {"topic-partition":   Kafka next offset of the newest text record trained on
 *  "token_offsets": {"topic-partition":   token offset after the newest window trained on
 *  "freshness_min_ms", "freshness_max_ms" the lineage record's freshness (when it has one)
 *  "lineage_generation", "lineage_round"  only when the lineage record is of an older version
 *                                         (the newest one not newer), which the figures describe}
 * </pre>
 *
 * Without a lineage record (a job of an older build) only the version is written, as before.
 */
final class ExportLineage {

    private ExportLineage() {}

    static Map<String, Object> of(ModelTopicReader.Newest version, EvalRecords.Lineage lineage) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("generation", version.version().generation());
        out.put("round", version.version().round());
        out.put("step", version.step());
        if (lineage == null) {
            return out;
        }
        out.put("tokens", lineage.tokens());
        if (lineage.inputOffsets() != null) { // absent in lineage records of format 1
            out.put("input_offsets", lineage.inputOffsets());
        }
        out.put("token_offsets", lineage.offsets());
        if (lineage.freshnessMinMs() != null) {
            out.put("freshness_min_ms", lineage.freshnessMinMs());
            out.put("freshness_max_ms", lineage.freshnessMaxMs());
        }
        if (lineage.generation() != version.version().generation()
                || lineage.round() != version.version().round()) {
            out.put("lineage_generation", lineage.generation());
            out.put("lineage_round", lineage.round());
        }
        return out;
    }

    /** One line for the terminal. */
    static String describe(Map<String, Object> lineage) {
        if (!lineage.containsKey("tokens")) {
            return "lineage: no lineage record on the losses topic (a job of an older build?):"
                    + " the file names its version only";
        }
        return String.format(
                Locale.ROOT,
                "lineage%s: %,d tokens trained, input offsets %s",
                lineage.containsKey("lineage_round")
                        ? " (of round " + lineage.get("lineage_round") + ")"
                        : "",
                ((Number) lineage.get("tokens")).longValue(),
                lineage.getOrDefault("input_offsets", "unknown (lineage format 1)"));
    }
}
