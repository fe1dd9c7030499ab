package io.streamgpt.connectors.chunks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The binary form of a {@link ModelChunk} on the model topic, little-endian:
 *
 * <pre>
 * byte    format version (1)
 * byte    kind: 0 contribution, 1 global
 * int32   generation
 * int64   round
 * int32   replica
 * int32   chunk
 * int32   chunk count
 * int64   step
 * int64   tokens
 * float32 loss
 * int64   base checksum
 * int32   L, then L float32 replica losses
 * int32   N, then N float32 values
 * </pre>
 */
public final class ModelChunkFormat {

    private static final byte VERSION = 1;
    private static final int FIXED = 1 + 1 + 4 + 8 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 4 + 4;

    private ModelChunkFormat() {}

    /**
     * Bytes of a serialized chunk of {@code values} parameters carrying {@code replicaLosses}
     * losses.
     */
    public static int serializedSize(int values, int replicaLosses) {
        return FIXED + 4 * (replicaLosses + values);
    }

    public static byte[] serialize(ModelChunk c) {
        ByteBuffer out =
                ByteBuffer.allocate(serializedSize(c.values().length, c.replicaLosses().length))
                        .order(ByteOrder.LITTLE_ENDIAN);
        out.put(VERSION)
                .put((byte) c.kind().ordinal())
                .putInt(c.generation())
                .putLong(c.round())
                .putInt(c.replica())
                .putInt(c.chunk())
                .putInt(c.chunkCount())
                .putLong(c.step())
                .putLong(c.tokens())
                .putFloat(c.loss())
                .putLong(c.baseChecksum());
        out.putInt(c.replicaLosses().length);
        out.asFloatBuffer().put(c.replicaLosses());
        out.position(out.position() + 4 * c.replicaLosses().length);
        out.putInt(c.values().length);
        out.asFloatBuffer().put(c.values());
        return out.array();
    }

    /**
     * Parses a chunk; throws {@link IllegalArgumentException} with the reason for a malformed one.
     */
    public static ModelChunk deserialize(byte[] bytes) {
        if (bytes == null || bytes.length < FIXED) {
            throw new IllegalArgumentException(
                    "model chunk too short: " + (bytes == null ? 0 : bytes.length) + " bytes");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte version = in.get();
        if (version != VERSION) {
            throw new IllegalArgumentException(
                    "model chunk format version " + version + ", expected " + VERSION);
        }
        int kind = in.get();
        if (kind < 0 || kind >= ModelChunk.Kind.values().length) {
            throw new IllegalArgumentException("unknown model chunk kind " + kind);
        }
        int generation = in.getInt();
        long round = in.getLong();
        int replica = in.getInt();
        int chunk = in.getInt();
        int chunkCount = in.getInt();
        long step = in.getLong();
        long tokens = in.getLong();
        float loss = in.getFloat();
        long base = in.getLong();
        float[] losses = floats(in, bytes.length);
        float[] values = floats(in, bytes.length);
        if (in.hasRemaining()) {
            throw new IllegalArgumentException(
                    "model chunk has " + in.remaining() + " trailing bytes");
        }
        return new ModelChunk(
                ModelChunk.Kind.values()[kind],
                generation,
                round,
                replica,
                chunk,
                chunkCount,
                step,
                tokens,
                loss,
                base,
                losses,
                values);
    }

    private static float[] floats(ByteBuffer in, int total) {
        int n = in.getInt();
        if (n < 0 || 4L * n > in.remaining()) {
            throw new IllegalArgumentException(
                    "model chunk claims "
                            + n
                            + " floats, "
                            + in.remaining()
                            + " bytes left of "
                            + total);
        }
        float[] values = new float[n];
        in.asFloatBuffer().get(values);
        in.position(in.position() + 4 * n);
        return values;
    }
}
