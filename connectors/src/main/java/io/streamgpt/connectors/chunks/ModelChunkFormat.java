package io.streamgpt.connectors.chunks;

import io.streamgpt.model.FloatArrays;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The binary form of a {@link ModelChunk} on the model topic, little-endian. A header, then the
 * payload:
 *
 * <pre>
 * byte    format version (2; version 1 records, still read, have no encoding byte: float32 values)
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
 * -- payload --
 * byte    payload encoding ({@link PayloadEncoding}): 0 FP32 parameters; 1 BF16 or 2 INT8: a delta
 *         from a global model (contributions only, see {@link EncodedDelta})
 * int32   base generation, int64 base round         (delta only)
 * int32   N, then the N values in the encoding: FP32 4N bytes, BF16 2N, INT8 a float32 scale + N
 * </pre>
 */
public final class ModelChunkFormat {

    private static final byte VERSION = 2;
    private static final byte VERSION_1 = 1;
    private static final byte CONTRIBUTION = 0;
    private static final byte GLOBAL = 1;
    private static final int FIXED_V1 = 1 + 1 + 4 + 8 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 4 + 4;
    private static final int FIXED = FIXED_V1 + 1; // the encoding byte
    private static final int DELTA_BASE = 4 + 8;

    private ModelChunkFormat() {}

    /**
     * Bytes of a serialized chunk of {@code values} parameters carrying {@code replicaLosses}
     * losses.
     */
    public static int serializedSize(int values, int replicaLosses) {
        return FIXED + 4 * (replicaLosses + values);
    }

    /** Bytes of {@code chunk} serialized. */
    public static int serializedSize(ModelChunk chunk) {
        if (chunk instanceof Contribution c && c.delta() != null) {
            EncodedDelta d = c.delta();
            return FIXED + DELTA_BASE + d.bytes().length; // no replica losses
        }
        return serializedSize(
                chunk.slice().values().length,
                chunk instanceof GlobalChunk g ? g.replicaLosses().length : 0);
    }

    public static byte[] serialize(ModelChunk chunk) {
        float[] losses = chunk instanceof GlobalChunk g ? g.replicaLosses() : new float[0];
        Slice slice = chunk.slice();
        EncodedDelta delta = chunk instanceof Contribution c ? c.delta() : null;
        ByteBuffer out = ByteBuffer.allocate(serializedSize(chunk)).order(ByteOrder.LITTLE_ENDIAN);
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
        if (delta == null) {
            out.put(PayloadEncoding.FP32.code());
            out.putInt(slice.values().length);
            FloatArrays.put(out, slice.values());
        } else {
            out.put(delta.encoding().code());
            out.putInt(delta.base().generation()).putLong(delta.base().round());
            out.putInt(delta.count());
            out.put(delta.bytes());
        }
        return out.array();
    }

    /**
     * Parses a chunk; throws {@link IllegalArgumentException} with the reason for a malformed one.
     */
    public static ModelChunk deserialize(byte[] bytes) {
        if (bytes == null || bytes.length < FIXED_V1) {
            throw new IllegalArgumentException(
                    "model chunk too short: " + (bytes == null ? 0 : bytes.length) + " bytes");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        byte version = in.get();
        if (version != VERSION && version != VERSION_1) {
            throw new IllegalArgumentException(
                    "model chunk format version "
                            + version
                            + ", expected "
                            + VERSION_1
                            + " or "
                            + VERSION);
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
        PayloadEncoding encoding = PayloadEncoding.FP32;
        if (version == VERSION) {
            if (!in.hasRemaining()) {
                throw new IllegalArgumentException("model chunk ends before its payload encoding");
            }
            encoding = PayloadEncoding.ofCode(in.get());
        }
        float[] values;
        EncodedDelta delta = null;
        if (encoding == PayloadEncoding.FP32) {
            values = floats(in, bytes.length);
        } else {
            if (kind != CONTRIBUTION) {
                throw new IllegalArgumentException("a global chunk is FP32, not " + encoding);
            }
            if (in.remaining() < DELTA_BASE + 4) {
                throw new IllegalArgumentException("model chunk ends inside its delta's base");
            }
            RoundId deltaBase = new RoundId(in.getInt(), in.getLong());
            int n = in.getInt();
            if (n < 0 || encoding.size(n) != in.remaining()) {
                throw new IllegalArgumentException(
                        "model chunk claims "
                                + n
                                + " "
                                + encoding
                                + " values, "
                                + in.remaining()
                                + " bytes left of "
                                + bytes.length);
            }
            byte[] encoded = new byte[in.remaining()];
            in.get(encoded);
            delta = new EncodedDelta(deltaBase, encoding, n, encoded);
            values = new float[0];
        }
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
                ? new Contribution(round, sender, progress, base, slice, delta)
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
