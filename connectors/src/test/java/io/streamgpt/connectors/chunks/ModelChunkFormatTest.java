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
                new GlobalChunk(
                        new RoundId(3, 17),
                        2,
                        new Progress(1700, 123_456, 1.25f),
                        new float[] {1.2f, Float.NaN},
                        new Slice(4, 9, values));
        byte[] bytes = ModelChunkFormat.serialize(chunk);
        assertThat(bytes).hasSize(ModelChunkFormat.serializedSize(values.length, 2));
        ModelChunk back = ModelChunkFormat.deserialize(bytes);
        assertThat(back).isEqualTo(chunk);
        assertThat(Float.floatToRawIntBits(back.slice().values()[1]))
                .isEqualTo(Float.floatToRawIntBits(-0f));
    }

    @Test
    void aChunkOfOneQuarterMillionFloatsStaysUnderAMegabyte() {
        byte[] bytes =
                ModelChunkFormat.serialize(
                        new Contribution(
                                new RoundId(0, 1),
                                0,
                                new Progress(1, 1, 1f),
                                0L,
                                new Slice(0, 1, new float[1 << 17])));
        assertThat(bytes.length).isLessThan(1_000_000);
    }

    @Test
    void malformedBytesGiveAReason() {
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(new byte[3]))
                .hasMessageContaining("too short");
        byte[] good =
                ModelChunkFormat.serialize(
                        new Contribution(
                                new RoundId(0, 1),
                                0,
                                new Progress(1, 1, 1f),
                                0L,
                                new Slice(0, 1, new float[4])));
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(Arrays.copyOf(good, good.length - 4)))
                .hasMessageContaining("claims 4 floats");
        good[0] = 7;
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(good))
                .hasMessageContaining("version 7");
    }
}
