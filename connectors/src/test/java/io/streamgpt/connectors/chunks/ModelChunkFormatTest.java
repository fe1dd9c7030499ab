package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelChunkFormatTest {

    @Test
    void roundTripsExactly() {
        float[] values = {1.5f, -0f, Float.MIN_VALUE, Float.NaN, 3e38f};
        ModelChunk chunk =
                new ModelChunk(
                        ModelChunk.Kind.GLOBAL,
                        3,
                        17,
                        2,
                        4,
                        9,
                        1700,
                        123_456,
                        1.25f,
                        0xCAFEL,
                        new float[] {1.2f, Float.NaN},
                        values);
        byte[] bytes = ModelChunkFormat.serialize(chunk);
        assertThat(bytes).hasSize(ModelChunkFormat.serializedSize(values.length, 2));
        ModelChunk back = ModelChunkFormat.deserialize(bytes);
        assertThat(back).isEqualTo(chunk);
        assertThat(Float.floatToRawIntBits(back.values()[1]))
                .isEqualTo(Float.floatToRawIntBits(-0f));
    }

    @Test
    void aChunkOfOneQuarterMillionFloatsStaysUnderAMegabyte() {
        byte[] bytes =
                ModelChunkFormat.serialize(
                        new ModelChunk(
                                ModelChunk.Kind.CONTRIBUTION,
                                0,
                                1,
                                0,
                                0,
                                1,
                                1,
                                1,
                                1f,
                                0L,
                                null,
                                new float[1 << 17]));
        assertThat(bytes.length).isLessThan(1_000_000);
    }

    @Test
    void malformedBytesGiveAReason() {
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(new byte[3]))
                .hasMessageContaining("too short");
        byte[] good =
                ModelChunkFormat.serialize(
                        new ModelChunk(
                                ModelChunk.Kind.CONTRIBUTION,
                                0,
                                1,
                                0,
                                0,
                                1,
                                1,
                                1,
                                1f,
                                0L,
                                null,
                                new float[4]));
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(Arrays.copyOf(good, good.length - 4)))
                .hasMessageContaining("claims 4 floats");
        good[0] = 7;
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(good))
                .hasMessageContaining("version 7");
    }
}
