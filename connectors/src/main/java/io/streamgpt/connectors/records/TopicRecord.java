package io.streamgpt.connectors.records;

/**
 * A UTF-8 value bound for a topic chosen per record, so that one sink serves several topics (loss
 * records and samples; answers and dead letters). The key may be null.
 */
public record TopicRecord(String topic, String key, String value) {

    /** A record without a key. */
    public TopicRecord(String topic, String value) {
        this(topic, null, value);
    }
}
