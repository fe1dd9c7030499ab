package io.streamgpt.connectors.chunks;

/**
 * Puts a flat parameter vector, or one contiguous range of its chunks (a {@link Fragments}
 * fragment), back together from its slices, in any order; complete once every slice of the range
 * arrived. Repeated slices (redelivery) count once; a slice that does not fit the vector is refused
 * with an {@link IllegalArgumentException} ({@link #misfit} tells beforehand).
 */
public final class VectorAssembly {

    private final float[] values;
    private final boolean[] arrived;
    private final int chunkSize;
    private final int parameters;
    private final int fromChunk;
    private int missing;

    public VectorAssembly(int parameters, int chunkSize) {
        this(parameters, chunkSize, 0, Slice.count(parameters, chunkSize));
    }

    /**
     * Assembles chunks {@code fromChunk} (inclusive) to {@code toChunk} (exclusive) of a vector of
     * {@code parameters} values: {@link #values()} holds only their values, from value {@link
     * #firstValue()} on.
     */
    public VectorAssembly(int parameters, int chunkSize, int fromChunk, int toChunk) {
        this.parameters = parameters;
        this.chunkSize = chunkSize;
        this.fromChunk = fromChunk;
        this.arrived = new boolean[toChunk - fromChunk];
        this.missing = arrived.length;
        this.values =
                new float
                        [(int) Math.min(parameters, (long) toChunk * chunkSize)
                                - fromChunk * chunkSize];
    }

    /** Adds a slice; repeated ones are ignored. */
    public void add(Slice slice) {
        String misfit = misfit(parameters, chunkSize, slice);
        if (misfit != null) {
            throw new IllegalArgumentException(misfit);
        }
        int chunk = slice.index() - fromChunk;
        if (chunk < 0 || chunk >= arrived.length) {
            throw new IllegalArgumentException(
                    "chunk "
                            + slice.index()
                            + " outside this range, chunks "
                            + fromChunk
                            + ".."
                            + (fromChunk + arrived.length - 1));
        }
        int expected = slice.values().length;
        if (!arrived[chunk]) {
            System.arraycopy(slice.values(), 0, values, chunk * chunkSize, expected);
            arrived[chunk] = true;
            missing--;
        }
    }

    /**
     * Why {@code slice} cannot be a piece of a vector of {@code parameters} values cut every {@code
     * chunkSize}, or null if it can: readers check this before they allocate anything for it.
     */
    public static String misfit(int parameters, int chunkSize, Slice slice) {
        int count = Slice.count(parameters, chunkSize);
        if (slice.count() != count) {
            return "chunk "
                    + slice.index()
                    + "/"
                    + slice.count()
                    + " does not fit a vector of "
                    + count
                    + " chunks";
        }
        // index < count (Slice's rule), so index * chunkSize < parameters: no overflow
        int expected = Math.min(chunkSize, parameters - slice.index() * chunkSize);
        if (slice.values().length != expected) {
            return "chunk "
                    + slice.index()
                    + " has "
                    + slice.values().length
                    + " values, expected "
                    + expected;
        }
        return null;
    }

    /** Values per slice, the last excepted. */
    public int chunkSize() {
        return chunkSize;
    }

    public boolean complete() {
        return missing == 0;
    }

    /** The index in the whole vector of {@code values()[0]}. */
    public int firstValue() {
        return fromChunk * chunkSize;
    }

    public float[] values() {
        return values;
    }
}
