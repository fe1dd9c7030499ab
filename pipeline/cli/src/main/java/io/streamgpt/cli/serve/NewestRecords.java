package io.streamgpt.cli.serve;

import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.WakeupException;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The newest records of one topic, kept by one background reader for every HTTP request (instead of
 * a consumer per request): it reads the newest {@code capacity} records of each partition, then
 * follows the topic. Records that are not JSON objects are counted and skipped. When Kafka fails
 * the reader says why ({@link #problem}) and starts over after a second, until closed.
 */
final class NewestRecords implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final KafkaClientSettings kafka;
    private final String topic;
    private final int capacity;
    private final Duration kafkaTimeout;
    private final ArrayDeque<JsonNode> newest = new ArrayDeque<>(); // guarded by this
    private final AtomicLong skipped = new AtomicLong();
    private final Thread reader;
    private volatile boolean caughtUp;
    private volatile String problem;
    private volatile boolean closed;
    private volatile TopicReader current;

    NewestRecords(KafkaClientSettings kafka, String topic, int capacity, Duration kafkaTimeout) {
        this.kafka = kafka;
        this.topic = topic;
        this.capacity = capacity;
        this.kafkaTimeout = kafkaTimeout;
        reader = new Thread(this::run, "streamgpt-serve-" + topic);
        reader.setDaemon(true);
        reader.start();
    }

    private void run() {
        while (!closed) {
            try (TopicReader topicReader = TopicReader.open(kafka)) {
                current = topicReader;
                List<ConsumerRecord<byte[], byte[]>> tail =
                        new ArrayList<>(topicReader.readNewest(topic, capacity, kafkaTimeout));
                tail.sort(Comparator.comparingLong(ConsumerRecord::timestamp));
                synchronized (this) {
                    newest.clear();
                }
                tail.forEach(this::add);
                caughtUp = true;
                problem = null;
                while (!closed) {
                    topicReader.poll(Duration.ofMillis(500)).forEach(this::add);
                }
            } catch (WakeupException e) {
                return; // closing
            } catch (RuntimeException e) {
                caughtUp = false;
                problem = e.getMessage();
                sleep(1000);
            } finally {
                current = null;
            }
        }
    }

    private void add(ConsumerRecord<byte[], byte[]> record) {
        JsonNode node;
        try {
            node = JSON.readTree(TopicReader.text(record));
        } catch (IOException e) {
            node = null;
        }
        if (node == null || !node.isObject()) {
            skipped.incrementAndGet(); // a foreign or damaged record: not ours to show
            return;
        }
        synchronized (this) {
            newest.addLast(node);
            while (newest.size() > capacity) {
                newest.removeFirst();
            }
        }
    }

    /**
     * The newest {@code last} records, oldest first, waiting up to the Kafka timeout for the first
     * read.
     *
     * @throws IllegalStateException with the reason when the topic could not be read
     */
    List<JsonNode> newest(int last) {
        long deadline = System.nanoTime() + kafkaTimeout.toNanos();
        while (!caughtUp && System.nanoTime() < deadline && !closed) {
            sleep(20);
        }
        if (!caughtUp) {
            throw new IllegalStateException(
                    problem != null
                            ? problem
                            : "could not read "
                                    + topic
                                    + " at "
                                    + kafka.bootstrapServers()
                                    + " yet");
        }
        synchronized (this) {
            List<JsonNode> all = new ArrayList<>(newest);
            return all.subList(Math.max(0, all.size() - last), all.size());
        }
    }

    /** The newest record, or null when there is none (yet). */
    synchronized JsonNode last() {
        return newest.peekLast();
    }

    /** Records skipped because they were not JSON objects. */
    long skipped() {
        return skipped.get();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        TopicReader r = current;
        if (r != null) {
            r.wakeup();
        }
        reader.interrupt(); // out of a retry's sleep
        try {
            reader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
