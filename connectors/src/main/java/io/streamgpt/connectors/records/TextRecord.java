package io.streamgpt.connectors.records;

/**
 * One record of a text topic, with its coordinates so that bad input can be reported where it is.
 * The value is UTF-8 text of any length (decoded downstream, where malformed bytes are counted).
 */
public record TextRecord(String topic, int partition, long offset, byte[] value) {

    /** The source partition, the unit whose token stream is cut into windows. */
    public String source() {
        return topic + "-" + partition;
    }
}
