package io.streamgpt.connectors.chunks;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * A contribution's slice sent as a compressed delta from a global model version that the sender
 * adopted and the averager produced: {@code parameters = base + decode(bytes)}. The base is named
 * so that the averager decodes only against the global model it kept for that version.
 *
 * @param base the global model version the delta is from
 * @param encoding how {@code bytes} encode the delta ({@code BF16} or {@code INT8})
 * @param count values in the slice
 * @param bytes the encoded delta
 */
public record EncodedDelta(RoundId base, PayloadEncoding encoding, int count, byte[] bytes)
        implements Serializable {

    public EncodedDelta {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(bytes, "bytes");
        if (encoding == PayloadEncoding.FP32) {
            throw new IllegalArgumentException("a delta is BF16 or INT8; FP32 sends parameters");
        }
        if (bytes.length != encoding.size(count)) {
            throw new IllegalArgumentException(
                    encoding + " delta of " + count + " values has " + bytes.length + " bytes");
        }
    }

    /** {@code delta} (one slice's values) encoded. */
    public static EncodedDelta of(RoundId base, PayloadEncoding encoding, float[] delta) {
        return new EncodedDelta(base, encoding, delta.length, encoding.encode(delta));
    }

    /** The delta as the receiver sees it. */
    public float[] decode() {
        return encoding.decode(bytes, count);
    }

    /** The slice's parameters: {@code base + delta}, given the base's slice. */
    public float[] applyTo(float[] baseSlice) {
        if (baseSlice.length != count) {
            throw new IllegalArgumentException(
                    "delta of " + count + " values against a base slice of " + baseSlice.length);
        }
        float[] values = decode();
        for (int i = 0; i < values.length; i++) {
            values[i] += baseSlice[i];
        }
        return values;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EncodedDelta d
                && base.equals(d.base)
                && encoding == d.encoding
                && count == d.count
                && Arrays.equals(bytes, d.bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(base, encoding, count, Arrays.hashCode(bytes));
    }
}
