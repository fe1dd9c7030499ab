package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;

/**
 * Streams text into a topic in records of about {@code recordBytes}, cut after a newline where
 * possible (never inside a UTF-8 character), so large files never sit in memory whole.
 *
 * <p>Nothing is lost silently: every send's acknowledgement is counted, and {@link #feed} fails
 * with {@link PartialFeedException} (how many records were acknowledged out of how many sent)
 * unless all were. After the first failed send it stops reading. Records already acknowledged stay
 * on the topic: a re-run sends them again.
 */
public final class TextFeeder implements AutoCloseable {

    /** How long a record may wait for its acknowledgement, retries included, by default. */
    public static final Duration DEFAULT_DELIVERY_TIMEOUT = Duration.ofMinutes(2);

    /** Not every record sent was acknowledged. */
    public static final class PartialFeedException extends IOException {
        private final long acknowledged;
        private final long sent;

        PartialFeedException(String topic, long acknowledged, long sent, Throwable cause) {
            super(
                    String.format(
                            "only %d of %d records were acknowledged by topic %s; the feed stopped"
                                    + " at the first failed send: %s",
                            acknowledged, sent, topic, cause.getMessage()),
                    cause);
            this.acknowledged = acknowledged;
            this.sent = sent;
        }

        public long acknowledged() {
            return acknowledged;
        }

        public long sent() {
            return sent;
        }
    }

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final int recordBytes;

    public TextFeeder(KafkaClientSettings kafka, String topic, int recordBytes) {
        this(kafka, topic, recordBytes, DEFAULT_DELIVERY_TIMEOUT);
    }

    /**
     * @param deliveryTimeout how long a record may take to be acknowledged, retries included
     *     (Kafka's delivery.timeout.ms): how long a feed waits for a broker that went away
     */
    public TextFeeder(
            KafkaClientSettings kafka, String topic, int recordBytes, Duration deliveryTimeout) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        long deliveryMs = Math.max(1000, deliveryTimeout.toMillis());
        // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms
        props.put(
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                String.valueOf(Math.min(30_000, deliveryMs - 5)));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(deliveryMs));
        this.producer = new KafkaProducer<>(props);
        this.topic = topic;
        this.recordBytes = recordBytes;
    }

    /**
     * Sends all of {@code in}; {@code progress} gets the bytes sent so far. Returns the records
     * sent, every one acknowledged.
     *
     * @throws PartialFeedException if a send failed: how many of the records sent were acknowledged
     */
    public long feed(InputStream in, LongConsumer progress) throws IOException {
        byte[] buffer = new byte[2 * recordBytes];
        int filled = 0;
        long sent = 0;
        long records = 0;
        boolean eof = false;
        AtomicLong acknowledged = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        while ((!eof || filled > 0) && failure.get() == null) {
            while (!eof && filled < recordBytes) {
                int n = in.read(buffer, filled, buffer.length - filled);
                if (n < 0) {
                    eof = true;
                } else {
                    filled += n;
                }
            }
            if (filled == 0) {
                break;
            }
            int cut =
                    eof && filled <= recordBytes
                            ? filled
                            : cutPoint(buffer, Math.min(filled, recordBytes));
            try {
                producer.send(
                        new ProducerRecord<>(topic, Arrays.copyOf(buffer, cut)),
                        (metadata, error) -> {
                            if (error == null) {
                                acknowledged.incrementAndGet();
                            } else {
                                failure.compareAndSet(null, error);
                            }
                        });
            } catch (org.apache.kafka.common.KafkaException e) {
                failure.compareAndSet(null, e); // e.g. no metadata within max.block.ms
                break;
            }
            records++;
            sent += cut;
            progress.accept(sent);
            System.arraycopy(buffer, cut, buffer, 0, filled - cut);
            filled -= cut;
        }
        producer.flush(); // every callback has run when flush returns
        if (failure.get() != null || acknowledged.get() != records) {
            Exception cause =
                    failure.get() != null
                            ? failure.get()
                            : new IOException("sends without acknowledgement");
            throw new PartialFeedException(topic, acknowledged.get(), records, cause);
        }
        return records;
    }

    /**
     * Sends one keyed record (a compacted topic's entry) and waits for its acknowledgement.
     *
     * @throws IOException if it was not acknowledged within {@code timeout}
     */
    public void sendAndWait(byte[] key, byte[] value, Duration timeout) throws IOException {
        try {
            producer.send(new ProducerRecord<>(topic, key, value))
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IOException(
                    "could not send to topic " + topic + ": " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(
                    "topic " + topic + " did not acknowledge within " + timeout.toSeconds() + " s",
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * After the last newline in the second half before {@code limit}, else before a UTF-8 lead
     * byte.
     */
    static int cutPoint(byte[] buffer, int limit) {
        for (int i = limit - 1; i > limit / 2; i--) {
            if (buffer[i] == '\n') {
                return i + 1;
            }
        }
        int i = limit;
        while (i > 1
                && (buffer[i] & 0xC0) == 0x80) { // a continuation byte: do not split the character
            i--;
        }
        return i;
    }

    /** Closes the producer, waiting at most the delivery timeout for what is still in flight. */
    @Override
    public void close() {
        producer.close(DEFAULT_DELIVERY_TIMEOUT);
    }
}
