package io.streamgpt.connectors.records;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;

/**
 * The losses topic's other kinds of record, beside {@link Reports.LossRecord}: each has a {@code
 * kind} field (a plain loss record has none), and names the global model version (generation,
 * round) it describes.
 *
 * <ul>
 *   <li>{@value #VAL_DATA}: the loss on the fixed held-out set of {@code --val-data}, by the
 *       reference's estimate_loss protocol: {@code {"kind", "step", "round", "generation",
 *       "tokens", "loss", "bits_per_char", "windows", "time_ms"}}
 *   <li>{@value #PREQUENTIAL}: test-then-train loss on training windows scored before any replica
 *       trained on them, same fields
 *   <li>{@value #LINEAGE}: what a version trained on: {@code {"kind", "format", "step", "round",
 *       "generation", "tokens", "offsets": {"topic-partition": token offset}, "input_offsets":
 *       {"topic-partition": Kafka next offset}, "freshness_min_ms", "freshness_max_ms", "time_ms"}}
 * </ul>
 */
public final class EvalRecords {

    public static final String VAL_DATA = "val_data";
    public static final String PREQUENTIAL = "prequential";
    public static final String LINEAGE = "lineage";

    /**
     * The lineage record's format: 2 added {@code format}, {@code input_offsets} and the freshness
     * fields; a record without {@code format} is format 1 and reads with them absent (0, null).
     */
    public static final int LINEAGE_FORMAT = 2;

    private EvalRecords() {}

    /**
     * A loss of one global model version, in nats per character and bits per character.
     *
     * @param windows windows the loss is a mean over
     */
    public record ModelLoss(
            String kind,
            long step,
            long round,
            int generation,
            long tokens,
            Float loss,
            Float bitsPerChar,
            long windows,
            long timeMs) {

        public static ModelLoss of(
                String kind,
                long step,
                long round,
                int generation,
                long tokens,
                float nats,
                long windows) {
            return new ModelLoss(
                    kind,
                    step,
                    round,
                    generation,
                    tokens,
                    Reports.orNull(nats),
                    Reports.orNull((float) (nats / Math.log(2))),
                    windows,
                    System.currentTimeMillis());
        }
    }

    /**
     * The input a global model version trained on.
     *
     * @param format {@link #LINEAGE_FORMAT}; 0 in a record of format 1, which has no such field
     * @param tokens tokens trained, summed over the replicas
     * @param offsets per "topic-partition": the token offset (in that partition's token stream)
     *     after the newest window the replicas had received when they contributed to this version
     *     or an earlier one
     * @param inputOffsets per "topic-partition": the Kafka next offset (offset + 1) of the newest
     *     text record whose windows they had received; null in format 1
     * @param freshnessMinMs the least time, over the text records newly received for this version,
     *     from a record's Kafka timestamp to the version's publication; null when none
     * @param freshnessMaxMs the greatest such time
     */
    public record Lineage(
            String kind,
            int format,
            long step,
            long round,
            int generation,
            long tokens,
            Map<String, Long> offsets,
            Map<String, Long> inputOffsets,
            Long freshnessMinMs,
            Long freshnessMaxMs,
            long timeMs) {}

    /** A plain loss record, or null when {@code json} is one of the other kinds or not one. */
    public static Reports.LossRecord lossRecordOrNull(String json) {
        return LossesTopicRecord.parse(json).loss();
    }

    /**
     * A losses-topic record, parsed once: a plain loss record ({@code loss}), one of the job's
     * other evaluation records ({@code kind}, read as its type with {@link #as}), or neither (a
     * foreign or damaged record).
     *
     * @param kind the {@code kind} field; null for a plain loss record and a foreign one
     * @param loss the plain loss record; null for every other record
     * @param tree the parsed JSON object; null when the record is not one
     */
    public record LossesTopicRecord(String kind, Reports.LossRecord loss, JsonNode tree) {

        private static final LossesTopicRecord FOREIGN = new LossesTopicRecord(null, null, null);

        public static LossesTopicRecord parse(String json) {
            JsonNode tree = Reports.objectOrNull(json);
            if (tree == null) {
                return FOREIGN;
            }
            JsonNode kind = tree.get("kind");
            if (kind != null && !kind.isNull()) {
                return new LossesTopicRecord(kind.asText(), null, tree);
            }
            Reports.LossRecord loss = Reports.fromTreeOrNull(tree, Reports.LossRecord.class);
            // every loss record the job writes has the replicas' losses; {} or a foreign object
            // that happens to parse has not
            return loss == null || loss.replicaTrainLoss() == null
                    ? FOREIGN
                    : new LossesTopicRecord(null, loss, tree);
        }

        /** Neither a loss record nor one of the job's evaluation records. */
        public boolean isForeign() {
            return kind == null && loss == null;
        }

        /**
         * This evaluation record as {@code type} (e.g. {@link ModelLoss}); null if it is not one.
         */
        public <T> T as(Class<T> type) {
            return tree == null ? null : Reports.fromTreeOrNull(tree, type);
        }
    }
}
