package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The payload encodings, value by value, with the arithmetic written out. */
class PayloadEncodingTest {

    @Test
    void bf16KeepsTheTopSixteenBitsRoundedToNearestEven() {
        float[] decoded =
                PayloadEncoding.BF16.decode(
                        PayloadEncoding.BF16.encode(
                                new float[] {
                                    1f + 1f / 256, // 0x3F808000: exactly half way, ties to
                                    // even 0x3F80
                                    1f + 3f / 512, // 0x3F80C000: above half way, up to 0x3F81
                                    1f + 3f / 256, // 0x3F818000: half way, ties to even 0x3F82
                                    -0.5f, // exact
                                    Float.NaN
                                }),
                        5);
        assertThat(decoded[0]).isEqualTo(1f);
        assertThat(decoded[1]).isEqualTo(1f + 1f / 128);
        assertThat(decoded[2]).isEqualTo(1f + 2f / 128);
        assertThat(decoded[3]).isEqualTo(-0.5f);
        assertThat(decoded[4]).isNaN();
        assertThat(PayloadEncoding.BF16.size(5)).isEqualTo(10);
    }

    @Test
    void int8ScalesByTheChunksLargestMagnitudeOver127() {
        // max |x| = 2, so s = 2 / 127; q = round(x / s) = (round(63.5), -127, round(31.75))
        //   = (64, -127, 32); decoded q * s = (128 / 127, -2, 64 / 127)
        byte[] bytes = PayloadEncoding.INT8.encode(new float[] {1f, -2f, 0.5f});
        assertThat(bytes).hasSize(4 + 3);
        assertThat(new byte[] {bytes[4], bytes[5], bytes[6]}).containsExactly(64, -127, 32);
        float[] decoded = PayloadEncoding.INT8.decode(bytes, 3);
        assertThat(decoded[0]).isCloseTo(128f / 127, within(1e-7f));
        assertThat(decoded[1]).isCloseTo(-2f, within(1e-7f));
        assertThat(decoded[2]).isCloseTo(64f / 127, within(1e-7f));
        assertThat(PayloadEncoding.INT8.decode(PayloadEncoding.INT8.encode(new float[3]), 3))
                .containsExactly(0f, 0f, 0f); // s = 0: all zero, no division by zero
    }

    @Test
    void fp32IsExactAndCodesRoundTrip() {
        float[] values = {Float.MIN_VALUE, -0f, 3e38f};
        assertThat(PayloadEncoding.FP32.decode(PayloadEncoding.FP32.encode(values), 3))
                .containsExactly(values);
        for (PayloadEncoding e : PayloadEncoding.values()) {
            assertThat(PayloadEncoding.ofCode(e.code())).isEqualTo(e);
        }
        assertThatThrownBy(() -> PayloadEncoding.BF16.decode(new byte[3], 2))
                .hasMessageContaining("3 bytes, expected 4");
    }

    @Test
    void aDeltaAppliesToItsBaseSlice() {
        EncodedDelta delta =
                EncodedDelta.of(new RoundId(0, 4), PayloadEncoding.BF16, new float[] {0.5f, -1f});
        assertThat(delta.applyTo(new float[] {1f, 1f})).containsExactly(1.5f, 0f);
        assertThatThrownBy(() -> delta.applyTo(new float[3]))
                .hasMessageContaining("delta of 2 values against a base slice of 3");
    }
}
