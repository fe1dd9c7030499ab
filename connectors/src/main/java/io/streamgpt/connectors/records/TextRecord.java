package io.streamgpt.connectors.records;

/**
 * One record of a text topic, with its coordinates so that bad input can be reported where it is.
 * The value is UTF-8 text of any length (decoded downstream, where malformed bytes are counted).
 *
 * @param timestampMs the Kafka record's timestamp (what lineage and freshness measure from); {@link
 *     #NO_TIMESTAMP} when unknown
 */
public record TextRecord(String topic, int partition, long offset, byte[] value, long timestampMs) {

    /** Kafka's own "no timestamp" ({@code RecordBatch.NO_TIMESTAMP}). */
    public static final long NO_TIMESTAMP = -1;

    /** A record whose timestamp is not known. */
    public TextRecord(String topic, int partition, long offset, byte[] value) {
        this(topic, partition, offset, value, NO_TIMESTAMP);
    }

    /** The source partition, the unit whose token stream is cut into windows. */
    public String source() {
        return topic + "-" + partition;
    }
}
