package io.streamgpt.connectors.kafka;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * Streams text into a topic in records of about {@code recordBytes}, cut after a newline where
 * possible (never inside a UTF-8 character), so large files never sit in memory whole.
 */
public final class TextFeeder implements AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final int recordBytes;

    public TextFeeder(KafkaClientSettings kafka, String topic, int recordBytes) {
        Properties props = kafka.clientProperties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        this.producer = new KafkaProducer<>(props);
        this.topic = topic;
        this.recordBytes = recordBytes;
    }

    /**
     * Sends all of {@code in}; {@code progress} gets the bytes sent so far. Returns the records
     * sent.
     */
    public long feed(InputStream in, LongConsumer progress) throws IOException {
        byte[] buffer = new byte[2 * recordBytes];
        int filled = 0;
        long sent = 0;
        long records = 0;
        boolean eof = false;
        Future<?> last = null;
        while (!eof || filled > 0) {
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
            last = producer.send(new ProducerRecord<>(topic, Arrays.copyOf(buffer, cut)));
            records++;
            sent += cut;
            progress.accept(sent);
            System.arraycopy(buffer, cut, buffer, 0, filled - cut);
            filled -= cut;
        }
        producer.flush();
        if (last != null) {
            try {
                last.get(); // a failed send surfaces here
            } catch (ExecutionException e) {
                throw new IOException(
                        "could not send to topic " + topic + ": " + e.getCause().getMessage(),
                        e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        return records;
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

    @Override
    public void close() {
        producer.close();
    }
}
