package io.streamgpt.connectors.chunks;

import io.streamgpt.model.FloatArrays;

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
 * int32   replica (contribution) or contributors (global)
 * int32   chunk
 * int32   chunk count
 * int64   step
 * int64   tokens
 * float32 loss
 * int64   base checksum (global: 0)
 * int32   L, then L float32 replica losses (contribution: 0)
 * int32   N, then N float32 values
 * </pre>
 */
public final class ModelChunkFormat {

    private static final byte VERSION = 1;
    private static final byte CONTRIBUTION = 0;
    private static final byte GLOBAL = 1;
    private static final int FIXED = 1 + 1 + 4 + 8 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 4 + 4;

    private ModelChunkFormat() {}

    /**
     * Bytes of a serialized chunk of {@code values} parameters carrying {@code replicaLosses}
     * losses.
     */
    public static int serializedSize(int values, int replicaLosses) {
        return FIXED + 4 * (replicaLosses + values);
    }

    public static byte[] serialize(ModelChunk chunk) {
        float[] losses = chunk instanceof GlobalChunk g ? g.replicaLosses() : new float[0];
        Slice slice = chunk.slice();
        ByteBuffer out =
                ByteBuffer.allocate(serializedSize(slice.values().length, losses.length))
                        .order(ByteOrder.LITTLE_ENDIAN);
        boolean contribution = chunk instanceof Contribution;
        out.put(VERSION).put(contribution ? CONTRIBUTION : GLOBAL);
        out.putInt(chunk.generation()).putLong(chunk.round());
        out.putInt(
                contribution
                        ? ((Contribution) chunk).replica()
                        : ((GlobalChunk) chunk).contributors());
        out.putInt(slice.index()).putInt(slice.count());
        Progress progress = chunk.progress();
        out.putLong(progress.step()).putLong(progress.tokens()).putFloat(progress.loss());
        out.putLong(contribution ? ((Contribution) chunk).baseChecksum() : 0L);
        out.putInt(losses.length);
        FloatArrays.put(out, losses);
        out.putInt(slice.values().length);
        FloatArrays.put(out, slice.values());
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
        byte kind = in.get();
        if (kind != CONTRIBUTION && kind != GLOBAL) {
            throw new IllegalArgumentException("unknown model chunk kind " + kind);
        }
        RoundId round = new RoundId(in.getInt(), in.getLong());
        int sender = in.getInt();
        int chunk = in.getInt();
        int chunkCount = in.getInt();
        Progress progress = new Progress(in.getLong(), in.getLong(), in.getFloat());
        long base = in.getLong();
        float[] losses = floats(in, bytes.length);
        float[] values = floats(in, bytes.length);
        if (in.hasRemaining()) {
            throw new IllegalArgumentException(
                    "model chunk has " + in.remaining() + " trailing bytes");
        }
        if (chunk < 0 || chunk >= chunkCount) {
            throw new IllegalArgumentException(
                    "chunk " + chunk + " outside 0.." + (chunkCount - 1));
        }
        Slice slice = new Slice(chunk, chunkCount, values);
        return kind == CONTRIBUTION
                ? new Contribution(round, sender, progress, base, slice)
                : new GlobalChunk(round, sender, progress, losses, slice);
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
        return FloatArrays.get(in, n);
    }
}
