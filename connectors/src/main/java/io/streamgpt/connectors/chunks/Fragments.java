package io.streamgpt.connectors.chunks;

import java.io.Serializable;

/**
 * Streamed fragments (Streaming DiLoCo, Douillard et al. 2025): the {@code chunks} chunks of the
 * parameter vector split into {@code count} fixed, contiguous ranges of chunks, as equal as
 * possible. Sync round r carries only fragment {@code r mod count}, so each fragment is
 * synchronised every {@code count} rounds, the fragments staggered by one round:
 *
 * <pre>
 *   first chunk of fragment f = floor(f x chunks / count)      (f = 0 .. count; f = count: the end)
 *   fragment of round r      = r mod count
 * </pre>
 *
 * e.g. 5 chunks in 2 fragments: chunks 0-1 and 2-4. One fragment is the whole vector: every round
 * carries every chunk, as without fragments.
 *
 * @param count F, the number of fragments: 1 .. chunks
 * @param chunks the chunks of the parameter vector
 */
public record Fragments(int count, int chunks) implements Serializable {

    public Fragments {
        if (chunks < 1 || count < 1 || count > chunks) {
            throw new IllegalArgumentException(
                    "sync-fragments must be in [1, chunks of the model = "
                            + chunks
                            + "], got "
                            + count);
        }
    }

    /** One fragment: every round carries the whole vector. */
    public static Fragments whole(int chunks) {
        return new Fragments(1, chunks);
    }

    /**
     * {@code count} fragments of a vector of {@code parameters} values cut every {@code chunkSize}.
     */
    public static Fragments of(int count, long parameters, int chunkSize) {
        return new Fragments(count, Slice.count(parameters, chunkSize));
    }

    /** The fragment round {@code round} carries. */
    public int ofRound(long round) {
        return (int) Math.floorMod(round, (long) count);
    }

    /** The fragment chunk {@code chunk} belongs to. */
    public int ofChunk(int chunk) {
        // the largest f with firstChunk(f) <= chunk; count is small, so a scan
        int f = 0;
        while (f + 1 < count && firstChunk(f + 1) <= chunk) {
            f++;
        }
        return f;
    }

    /** The first chunk of {@code fragment}; {@code firstChunk(count)} is {@code chunks}. */
    public int firstChunk(int fragment) {
        return (int) ((long) fragment * chunks / count);
    }

    /** One past the last chunk of {@code fragment}. */
    public int endChunk(int fragment) {
        return firstChunk(fragment + 1);
    }

    /** Whether {@code chunk} is the first of its fragment: the one that carries a round's head. */
    public boolean isFirstChunk(int chunk) {
        return firstChunk(ofChunk(chunk)) == chunk;
    }

    /** The first value of {@code fragment} in a vector cut every {@code chunkSize}. */
    public int firstValue(int fragment, int chunkSize) {
        return firstChunk(fragment) * chunkSize;
    }

    /** One past the last value of {@code fragment} in a vector of {@code parameters} values. */
    public int endValue(int fragment, int chunkSize, int parameters) {
        return (int) Math.min(parameters, (long) endChunk(fragment) * chunkSize);
    }
}
