package io.streamgpt.connectors;

/** A UTF-8 value bound for a topic chosen per record (loss records and samples share one sink). */
public record TopicRecord(String topic, String value) {}
