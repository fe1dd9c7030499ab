package io.streamgpt.connectors.chunks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * How the values of a chunk's payload are written. {@code FP32} carries parameters as they are;
 * {@code BF16} and {@code INT8} carry a compressed delta from a global model both sides know
 * ({@link EncodedDelta}), 2x and about 4x smaller:
 *
 * <pre>
 *   FP32  4 bytes a value, exact
 *   BF16  2 bytes a value: the top 16 bits of the float32, rounded to nearest, ties to even:
 *           b = (bits + 0x7FFF + ((bits >> 16) &amp; 1)) >> 16,   decode: bits = b &lt;&lt; 16
 *         (8 exponent bits as float32, 8 significant bits: relative error &lt;= 2^-9)
 *   INT8  a float32 scale s = max_i |x_i| / 127 for the whole chunk, then 1 byte a value:
 *           q_i = clamp(round(x_i / s), -127, 127),   decode: x_i ~ q_i * s
 *         (absolute error &lt;= s / 2; s = 0 when every value is 0)
 * </pre>
 *
 * The encoding's code is the byte the chunk format writes (version 2 of {@link ModelChunkFormat}).
 */
public enum PayloadEncoding {
    FP32(0),
    BF16(1),
    INT8(2);

    private final byte code;

    PayloadEncoding(int code) {
        this.code = (byte) code;
    }

    public byte code() {
        return code;
    }

    public static PayloadEncoding ofCode(byte code) {
        for (PayloadEncoding e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown payload encoding " + code);
    }

    /** Bytes of {@code n} values in this encoding. */
    public int size(int n) {
        return switch (this) {
            case FP32 -> 4 * n;
            case BF16 -> 2 * n;
            case INT8 -> 4 + n;
        };
    }

    /** {@code values} in this encoding, little-endian. */
    public byte[] encode(float[] values) {
        ByteBuffer out = ByteBuffer.allocate(size(values.length)).order(ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case FP32 -> out.asFloatBuffer().put(values);
            case BF16 -> {
                for (float v : values) {
                    out.putShort(bf16(v));
                }
            }
            case INT8 -> {
                float max = 0;
                for (float v : values) {
                    max = Math.max(max, Math.abs(v));
                }
                float scale = max / 127f;
                out.putFloat(scale);
                for (float v : values) {
                    out.put(
                            scale == 0
                                    ? 0
                                    : (byte) Math.max(-127, Math.min(127, Math.round(v / scale))));
                }
            }
        }
        return out.array();
    }

    /** The {@code n} values of {@code bytes} (as {@link #encode} wrote them). */
    public float[] decode(byte[] bytes, int n) {
        if (bytes.length != size(n)) {
            throw new IllegalArgumentException(
                    this
                            + " payload of "
                            + n
                            + " values has "
                            + bytes.length
                            + " bytes, expected "
                            + size(n));
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[n];
        switch (this) {
            case FP32 -> in.asFloatBuffer().get(values);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    values[i] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
                }
            }
            case INT8 -> {
                float scale = in.getFloat();
                for (int i = 0; i < n; i++) {
                    values[i] = in.get() * scale;
                }
            }
        }
        return values;
    }

    /** float32 to bfloat16, round to nearest even; NaN stays NaN. */
    static short bf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040); // keep it a (quiet) NaN
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
