package io.streamgpt.connectors.chunks;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * One piece of a flat parameter vector: piece {@code index} of {@code count}, each {@code
 * chunk_size} values but the last.
 */
public record Slice(int index, int count, float[] values) implements Serializable {

    public Slice {
        Objects.requireNonNull(values, "values");
        if (index < 0 || index >= count) {
            throw new IllegalArgumentException("chunk " + index + " outside 0.." + (count - 1));
        }
    }

    /** Pieces of a vector of {@code parameters} values cut every {@code chunkSize}. */
    public static int count(long parameters, int chunkSize) {
        return (int) ((parameters + chunkSize - 1) / chunkSize);
    }

    /** Piece {@code index} of {@code vector} cut every {@code chunkSize} values. */
    public static Slice of(float[] vector, int index, int chunkSize) {
        int from = index * chunkSize;
        return new Slice(
                index,
                count(vector.length, chunkSize),
                Arrays.copyOfRange(vector, from, Math.min(vector.length, from + chunkSize)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Slice s
                && index == s.index
                && count == s.count
                && Arrays.equals(values, s.values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, count, Arrays.hashCode(values));
    }

    @Override
    public String toString() {
        return "chunk " + index + "/" + count + " (" + values.length + " values)";
    }
}
