package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.VectorAssembly;

import java.util.TreeMap;

/**
 * Assembles global model versions from the chunks on the model topic, for one reader (a replica,
 * the evaluator or the prompt responder). Only chunks of the reader's generation count: rounds
 * written before a restore are ignored, as are rounds older than the newest one completed. Chunk 0
 * of a round, which carries the replicas' losses, is kept as the round's head.
 */
public final class GlobalRounds {

    /** A complete global model version. */
    public record Round(RoundId version, GlobalChunk head, float[] parameters) {
        public long round() {
            return version.round();
        }
    }

    private final int parameters;
    private final int chunkSize;
    private final boolean followNewerGenerations;
    private final TreeMap<Long, VectorAssembly> incoming = new TreeMap<>();
    private final TreeMap<Long, GlobalChunk> heads = new TreeMap<>();
    private int generation;
    private long completedRound;
    private long ignored;

    /**
     * @param followNewerGenerations false for a replica, which knows its generation; true for the
     *     evaluator and the responder, which follow the newest generation they see
     */
    public GlobalRounds(
            int parameters,
            int chunkSize,
            int generation,
            long completedRound,
            boolean followNewerGenerations) {
        this.parameters = parameters;
        this.chunkSize = chunkSize;
        this.generation = generation;
        this.completedRound = completedRound;
        this.followNewerGenerations = followNewerGenerations;
    }

    /** Adds a chunk; returns the round it completes, or null. */
    public Round offer(GlobalChunk chunk) {
        if (followNewerGenerations && chunk.generation() > generation) {
            generation = chunk.generation();
            completedRound = 0;
            incoming.clear();
            heads.clear();
        }
        if (chunk.generation() != generation || chunk.round() <= completedRound) {
            ignored++;
            return null;
        }
        VectorAssembly assembly =
                incoming.computeIfAbsent(
                        chunk.round(), r -> new VectorAssembly(parameters, chunkSize));
        assembly.add(chunk.slice());
        if (chunk.chunk() == 0) {
            heads.put(chunk.round(), chunk);
        }
        if (!assembly.complete()) {
            return null;
        }
        GlobalChunk head = heads.get(chunk.round());
        incoming.headMap(chunk.round(), true).clear();
        heads.headMap(chunk.round(), true).clear();
        completedRound = chunk.round();
        return new Round(chunk.version(), head, assembly.values());
    }

    /** Chunks dropped as stale (another generation, or a round already superseded). */
    public long ignored() {
        return ignored;
    }
}
