package io.streamgpt.connectors.chunks;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Model chunks cross Flink's network as their model topic form: Flink's own serializer contract
 * tests ({@link SerializerTestBase}) for both kinds, and the records' {@code @TypeInfo} reaching
 * Flink's type extraction.
 */
class ModelChunkSerializerTest {

    private static final float[] VALUES = {1.5f, -0f, Float.MIN_VALUE, Float.NaN, 3e38f};

    @Test
    void flinkTypesBothKindsOfChunkThroughTheirAnnotationNotAsPojos() {
        assertThat(TypeInformation.of(Contribution.class))
                .isSameAs(ModelChunkTypeInfo.CONTRIBUTION);
        assertThat(TypeInformation.of(GlobalChunk.class)).isSameAs(ModelChunkTypeInfo.GLOBAL_CHUNK);
        assertThat(ModelChunkTypeInfo.GLOBAL_CHUNK.createSerializer(null))
                .isSameAs(ModelChunkSerializer.OfGlobalChunk.INSTANCE);
    }

    @Test
    void aChunkIsItsModelTopicFormBehindALength() throws IOException {
        GlobalChunk chunk = global();
        DataOutputSerializer out = new DataOutputSerializer(64);
        ModelChunkSerializer.OfGlobalChunk.INSTANCE.serialize(chunk, out);
        byte[] format = ModelChunkFormat.serialize(chunk);
        // 54 bytes of header, the 2 losses behind their count, the encoding byte, the 5 values
        // behind theirs: 91 bytes
        assertThat(format).hasSize(54 + (4 + 4 * 2) + 1 + (4 + 4 * 5));
        assertThat(out.length()).isEqualTo(4 + format.length);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertThat(in.readInt()).isEqualTo(format.length);
        byte[] block = new byte[format.length];
        in.readFully(block);
        assertThat(block).isEqualTo(format);
        assertThat(
                        ModelChunkSerializer.OfGlobalChunk.INSTANCE.deserialize(
                                new DataInputDeserializer(out.getCopyOfBuffer())))
                .isEqualTo(chunk);
    }

    @Test
    void aCopySharesNoArrayWithItsOriginal() {
        GlobalChunk chunk = global();
        GlobalChunk copy = ModelChunkSerializer.OfGlobalChunk.INSTANCE.copy(chunk);
        Contribution contribution =
                new Contribution(
                        new RoundId(2, 6),
                        1,
                        new Progress(60, 768, 1f),
                        0L,
                        new Slice(1, 2, new float[] {7f}),
                        EncodedDelta.of(new RoundId(2, 5), PayloadEncoding.BF16, VALUES));
        Contribution copied = ModelChunkSerializer.OfContribution.INSTANCE.copy(contribution);
        byte[] deltaBytes = contribution.delta().bytes().clone();
        // writing the originals after copying leaves the copies as they were
        chunk.slice().values()[0] = 99f;
        chunk.replicaLosses()[0] = 99f;
        contribution.slice().values()[0] = 99f;
        contribution.delta().bytes()[0] ^= (byte) 0xff;
        assertThat(copy.slice().values()[0]).isEqualTo(1.5f);
        assertThat(copy.replicaLosses()[0]).isEqualTo(1.2f);
        assertThat(copied.slice().values()).containsExactly(7f);
        assertThat(copied.delta().bytes()).isEqualTo(deltaBytes);
    }

    private static GlobalChunk global() {
        return new GlobalChunk(
                new RoundId(3, 17),
                2,
                new Progress(1700, 123_456, 1.25f),
                new float[] {1.2f, Float.NaN},
                new Slice(4, 9, VALUES));
    }

    @Nested
    class Contributions extends SerializerTestBase<Contribution> {
        @Override
        protected TypeSerializer<Contribution> createSerializer() {
            return ModelChunkSerializer.OfContribution.INSTANCE;
        }

        @Override
        protected int getLength() {
            return -1;
        }

        @Override
        protected Class<Contribution> getTypeClass() {
            return Contribution.class;
        }

        @Override
        protected Contribution[] getTestData() {
            return new Contribution[] {
                new Contribution(
                        new RoundId(1, 5),
                        0,
                        new Progress(50, 640, 2.5f),
                        42L,
                        new Slice(0, 2, VALUES)),
                new Contribution(
                        new RoundId(2, 6),
                        7,
                        new Progress(60, 768, Float.NaN),
                        -1L,
                        new Slice(1, 2, new float[0]),
                        EncodedDelta.of(
                                new RoundId(2, 5), PayloadEncoding.INT8, new float[] {0.5f, -1f})),
                new Contribution(
                        new RoundId(2, 6),
                        1,
                        new Progress(60, 768, 1f),
                        0L,
                        new Slice(1, 2, new float[0]),
                        EncodedDelta.of(new RoundId(2, 5), PayloadEncoding.BF16, VALUES)),
            };
        }
    }

    @Nested
    class GlobalChunks extends SerializerTestBase<GlobalChunk> {
        @Override
        protected TypeSerializer<GlobalChunk> createSerializer() {
            return ModelChunkSerializer.OfGlobalChunk.INSTANCE;
        }

        @Override
        protected int getLength() {
            return -1;
        }

        @Override
        protected Class<GlobalChunk> getTypeClass() {
            return GlobalChunk.class;
        }

        @Override
        protected GlobalChunk[] getTestData() {
            return new GlobalChunk[] {
                global(),
                new GlobalChunk(
                        new RoundId(0, 1),
                        1,
                        new Progress(10, 128, 4.2f),
                        new float[0],
                        new Slice(0, 1, new float[1 << 17])),
            };
        }
    }
}
