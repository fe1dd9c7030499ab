package io.streamgpt.model;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * float[] to bytes and back, the one codec of parameter vectors: model files and model chunks
 * (little-endian, as torch and safetensors store float32), checkpoint state (Java's big-endian
 * {@link DataOutput}), and the checksum replicas compare.
 */
public final class FloatArrays {

    private FloatArrays() {}

    /** The values as bytes in {@code order}. */
    public static byte[] toBytes(float[] values, ByteOrder order) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(order);
        bytes.asFloatBuffer().put(values);
        return bytes.array();
    }

    /** Writes the values at the buffer's position (in its byte order) and moves past them. */
    public static void put(ByteBuffer out, float[] values) {
        out.asFloatBuffer().put(values);
        out.position(out.position() + 4 * values.length);
    }

    /**
     * Reads {@code count} values at the buffer's position (in its byte order) and moves past them.
     */
    public static float[] get(ByteBuffer in, int count) {
        float[] values = new float[count];
        in.asFloatBuffer().get(values);
        in.position(in.position() + 4 * count);
        return values;
    }

    /** Writes the length, then the values, as {@link #read} reads them. */
    public static void write(DataOutput out, float[] values) throws IOException {
        out.writeInt(values.length);
        out.write(toBytes(values, ByteOrder.BIG_ENDIAN));
    }

    /** Reads what {@link #write} wrote. */
    public static float[] read(DataInput in) throws IOException {
        int count = in.readInt();
        if (count < 0) {
            throw new IOException("negative float array length " + count);
        }
        byte[] bytes = new byte[4 * count];
        in.readFully(bytes);
        return get(ByteBuffer.wrap(bytes), count);
    }

    /** Values converted to bytes at a time by {@link #crc32}. */
    private static final int CRC_BLOCK_VALUES = 16_384;

    /**
     * CRC32 of the values' big-endian bytes: equal vectors, equal checksums. The bytes go through
     * one 64 KB buffer rather than a copy of the whole vector: replicas take this checksum of the
     * model every round, and a 43 MB copy each time was garbage the collector paused for.
     */
    public static long crc32(float[] values) {
        CRC32 crc = new CRC32();
        ByteBuffer block = ByteBuffer.allocate(4 * Math.min(values.length, CRC_BLOCK_VALUES));
        for (int from = 0; from < values.length; from += CRC_BLOCK_VALUES) {
            int count = Math.min(CRC_BLOCK_VALUES, values.length - from);
            block.clear();
            block.asFloatBuffer().put(values, from, count);
            crc.update(block.array(), 0, 4 * count);
        }
        return crc.getValue();
    }
}
