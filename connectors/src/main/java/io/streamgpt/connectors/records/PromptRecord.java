package io.streamgpt.connectors.records;

/**
 * One record of the prompts topic: the raw request, where it is (a bad one is dead-lettered with
 * its coordinates) and when it was written (a request expires, e.g. when it is replayed long after
 * a restore).
 */
public record PromptRecord(
        String topic, int partition, long offset, long timestampMs, byte[] value) {}
