package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

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
    void aVersion1RecordStillDecodes() {
        GlobalChunk chunk =
                new GlobalChunk(
                        new RoundId(1, 5),
                        2,
                        new Progress(50, 800, 2f),
                        new float[] {2.5f, 1.5f},
                        new Slice(0, 1, new float[] {1f, -2f}));
        byte[] v2 = ModelChunkFormat.serialize(chunk);
        // version 1 is version 2 without the payload-encoding byte, which sits right before N:
        // header 58 bytes (through L) + 2 losses x 4 = 66 bytes, then the encoding byte (0 = FP32)
        int encodingAt = 58 + 2 * 4;
        assertThat(v2[encodingAt]).isEqualTo(PayloadEncoding.FP32.code());
        byte[] v1 = new byte[v2.length - 1];
        System.arraycopy(v2, 0, v1, 0, encodingAt);
        System.arraycopy(v2, encodingAt + 1, v1, encodingAt, v2.length - encodingAt - 1);
        v1[0] = 1;
        assertThat(ModelChunkFormat.deserialize(v1)).isEqualTo(chunk);
    }

    @Test
    void compressedDeltasRoundTripAtHalfAndAQuarterOfTheBytes() {
        float[] delta = new float[1000];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = (i - 500) * 1e-4f;
        }
        int fp32 =
                ModelChunkFormat.serialize(
                                new Contribution(
                                        new RoundId(0, 3),
                                        1,
                                        new Progress(30, 10, 1f),
                                        7L,
                                        new Slice(2, 5, delta)))
                        .length;
        for (PayloadEncoding encoding : List.of(PayloadEncoding.BF16, PayloadEncoding.INT8)) {
            Contribution chunk =
                    new Contribution(
                            new RoundId(0, 3),
                            1,
                            new Progress(30, 10, 1f),
                            7L,
                            new Slice(2, 5, new float[0]),
                            EncodedDelta.of(new RoundId(0, 2), encoding, delta));
            byte[] bytes = ModelChunkFormat.serialize(chunk);
            assertThat(bytes).hasSize(ModelChunkFormat.serializedSize(chunk));
            Contribution back = (Contribution) ModelChunkFormat.deserialize(bytes);
            assertThat(back).isEqualTo(chunk);
            assertThat(back.delta().base()).isEqualTo(new RoundId(0, 2));
            assertThat(back.valueCount()).isEqualTo(1000);
            // header 58 + encoding 1 + N 4 = 63 bytes, then fp32: 4000; bf16: 12 (base) + 2000;
            // int8: 12 + 4 (scale) + 1000
            assertThat(fp32).isEqualTo(63 + 4000);
            assertThat(bytes.length)
                    .isEqualTo(encoding == PayloadEncoding.BF16 ? 63 + 12 + 2000 : 63 + 12 + 1004);
        }
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
        byte[] unknownEncoding = good.clone();
        unknownEncoding[58] = 9; // the payload-encoding byte, after 58 header bytes and no losses
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(unknownEncoding))
                .hasMessageContaining("unknown payload encoding 9");
        good[0] = 7;
        assertThatThrownBy(() -> ModelChunkFormat.deserialize(good))
                .hasMessageContaining("version 7");
    }
}
