package io.streamgpt.connectors.chunks;

import java.util.Arrays;

/** Cuts a flat parameter vector into fixed-size chunks and puts it back together. */
public final class ParameterChunks {

    private ParameterChunks() {}

    public static int count(long parameters, int chunkSize) {
        return (int) ((parameters + chunkSize - 1) / chunkSize);
    }

    public static float[] slice(float[] parameters, int chunk, int chunkSize) {
        int from = chunk * chunkSize;
        return Arrays.copyOfRange(parameters, from, Math.min(parameters.length, from + chunkSize));
    }

    /** Collects the chunks of one vector; complete once every chunk arrived. */
    public static final class Assembly {
        private final float[] values;
        private final boolean[] arrived;
        private final int chunkSize;
        private int missing;

        public Assembly(int parameters, int chunkSize) {
            this.values = new float[parameters];
            this.chunkSize = chunkSize;
            this.arrived = new boolean[count(parameters, chunkSize)];
            this.missing = arrived.length;
        }

        /** Adds a chunk; repeated chunks (redelivery) are ignored. */
        public void add(int chunk, float[] slice) {
            if (chunk < 0 || chunk >= arrived.length) {
                throw new IllegalArgumentException(
                        "chunk " + chunk + " outside 0.." + (arrived.length - 1));
            }
            int expected = Math.min(chunkSize, values.length - chunk * chunkSize);
            if (slice.length != expected) {
                throw new IllegalArgumentException(
                        "chunk "
                                + chunk
                                + " has "
                                + slice.length
                                + " values, expected "
                                + expected);
            }
            if (!arrived[chunk]) {
                System.arraycopy(slice, 0, values, chunk * chunkSize, slice.length);
                arrived[chunk] = true;
                missing--;
            }
        }

        public boolean complete() {
            return missing == 0;
        }

        public float[] values() {
            return values;
        }
    }
}
