package io.streamgpt.connectors.chunks;

/**
 * Puts a flat parameter vector back together from its slices, in any order; complete once every
 * slice arrived. Repeated slices (redelivery) count once; a slice that does not fit the vector is
 * refused with an {@link IllegalArgumentException}.
 */
public final class VectorAssembly {

    private final float[] values;
    private final boolean[] arrived;
    private final int chunkSize;
    private int missing;

    public VectorAssembly(int parameters, int chunkSize) {
        this.values = new float[parameters];
        this.chunkSize = chunkSize;
        this.arrived = new boolean[Slice.count(parameters, chunkSize)];
        this.missing = arrived.length;
    }

    /** Adds a slice; repeated ones are ignored. */
    public void add(Slice slice) {
        int chunk = slice.index();
        if (chunk >= arrived.length || slice.count() != arrived.length) {
            throw new IllegalArgumentException(
                    "chunk "
                            + chunk
                            + "/"
                            + slice.count()
                            + " does not fit a vector of "
                            + arrived.length
                            + " chunks");
        }
        int expected = Math.min(chunkSize, values.length - chunk * chunkSize);
        if (slice.values().length != expected) {
            throw new IllegalArgumentException(
                    "chunk "
                            + chunk
                            + " has "
                            + slice.values().length
                            + " values, expected "
                            + expected);
        }
        if (!arrived[chunk]) {
            System.arraycopy(slice.values(), 0, values, chunk * chunkSize, expected);
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
