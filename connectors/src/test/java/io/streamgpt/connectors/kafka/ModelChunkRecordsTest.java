package io.streamgpt.connectors.kafka;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.ModelChunkRejections;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class ModelChunkRecordsTest {

    private static final byte[] KEY =
            "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8);
    private static final GlobalChunk CHUNK =
            new GlobalChunk(
                    new RoundId(0, 3),
                    2,
                    new Progress(30, 480, 2.5f),
                    new float[] {2.4f, 2.6f},
                    new Slice(0, 2, new float[] {1f, 2f}));

    private final ModelLoopAuthenticator auth = new ModelLoopAuthenticator(KEY);
    private final ModelChunkRejections rejections = new ModelChunkRejections();

    /** What a consumer of {@code topic} reads back from {@code sent}. */
    private static ConsumerRecord<byte[], byte[]> received(ProducerRecord<byte[], byte[]> sent) {
        return new ConsumerRecord<>(
                sent.topic(),
                0,
                7L,
                0L,
                TimestampType.CREATE_TIME,
                -1,
                -1,
                sent.key(),
                sent.value(),
                new RecordHeaders(sent.headers().toArray()),
                Optional.empty());
    }

    @Test
    void aSignedChunkReadsBackAndEveryForgeryIsCountedByItsReason() {
        ProducerRecord<byte[], byte[]> signed = ModelChunkRecords.signed("m", CHUNK, 1L, auth);
        assertThat(ModelChunkRecords.verified(received(signed), auth, rejections)).isEqualTo(CHUNK);

        ProducerRecord<byte[], byte[]> unsigned =
                new ProducerRecord<>("m", null, 1L, signed.key(), signed.value());
        assertThat(ModelChunkRecords.verified(received(unsigned), auth, rejections)).isNull();

        ProducerRecord<byte[], byte[]> twoTags =
                new ProducerRecord<>("m", null, 1L, signed.key(), signed.value(), signed.headers());
        twoTags.headers().add(ModelLoopAuthenticator.HEADER, new byte[32]);
        assertThat(ModelChunkRecords.verified(received(twoTags), auth, rejections)).isNull();

        ModelLoopAuthenticator wrongKey = new ModelLoopAuthenticator(new byte[32]);
        assertThat(
                        ModelChunkRecords.verified(
                                received(ModelChunkRecords.signed("m", CHUNK, 1L, wrongKey)),
                                auth,
                                rejections))
                .isNull();

        byte[] garbage = "not a chunk".getBytes(StandardCharsets.UTF_8);
        RecordHeaders garbageTag = new RecordHeaders();
        garbageTag.add(ModelLoopAuthenticator.HEADER, auth.sign("m", garbage));
        assertThat(
                        ModelChunkRecords.verified(
                                received(
                                        new ProducerRecord<>(
                                                "m", null, 1L, null, garbage, garbageTag)),
                                auth,
                                rejections))
                .isNull();

        assertThat(rejections.count(Reason.UNSIGNED)).isEqualTo(2); // none, and two tags
        assertThat(rejections.count(Reason.BAD_SIGNATURE)).isEqualTo(1);
        assertThat(rejections.count(Reason.MALFORMED)).isEqualTo(1);
        assertThat(rejections.total()).isEqualTo(4);
    }

    @Test
    void aSignedContributionParsesButIsNoGlobalChunk() {
        byte[] value =
                ModelChunkFormat.serialize(
                        new Contribution(
                                new RoundId(0, 1), 0, new Progress(1, 1, 1f), 0L, CHUNK.slice()));
        RecordHeaders tag = new RecordHeaders();
        tag.add(ModelLoopAuthenticator.HEADER, auth.sign("m", value));
        assertThat(
                        ModelChunkRecords.verified(
                                received(new ProducerRecord<>("m", null, 1L, null, value, tag)),
                                auth,
                                rejections))
                .isInstanceOf(Contribution.class); // the source counts it as NOT_GLOBAL
        assertThat(rejections.total()).isZero();
    }
}
