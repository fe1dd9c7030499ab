package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkRejections;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.VectorAssembly;

import java.util.TreeMap;

/**
 * Assembles global model versions from the (verified) chunks on the model topic, for one reader (a
 * replica, the evaluator or the prompt responder). Only chunks of the reader's generation count:
 * rounds written before a restore are ignored, as are rounds older than the newest one completed. A
 * follower (evaluator, responder) moves to a newer generation once a whole round of it is complete,
 * so a lone chunk cannot take it away from the job. Chunk 0 of a round, which carries the replicas'
 * losses, is kept as the round's head.
 *
 * <p>Every chunk is checked against the model's layout before anything is allocated for it, and at
 * most {@value #MAX_ROUNDS_IN_FLIGHT} rounds are assembled at once: a chunk of a new round while
 * that many are in flight drops the round furthest ahead (itself, if it is). A legitimate round is
 * never that far ahead (SYNC keeps one round in flight, OVERLAP two), so what gets dropped is what
 * no averager wrote; a replica that fell behind still adopts the newest round it completes. Dropped
 * chunks are counted by reason in {@link #rejections()}, never thrown on.
 */
public final class GlobalRounds {

    /** Rounds assembled at once, at most: bounds a reader's memory to this many models. */
    public static final int MAX_ROUNDS_IN_FLIGHT = 4;

    /** What a reader counts: the reasons decided here. */
    public static final Reason[] READER_REASONS = {
        Reason.LAYOUT, Reason.STALE, Reason.TOO_MANY_ROUNDS
    };

    /** A complete global model version. */
    public record Round(RoundId version, GlobalChunk head, float[] parameters) {
        public long round() {
            return version.round();
        }
    }

    private final int parameters;
    private final int chunkSize;
    private final boolean followNewerGenerations;
    private final TreeMap<RoundId, VectorAssembly> incoming = new TreeMap<>();
    private final TreeMap<RoundId, GlobalChunk> heads = new TreeMap<>();
    private final ModelChunkRejections rejections = new ModelChunkRejections();
    private RoundId completed;

    /**
     * @param followNewerGenerations false for a replica, which knows its generation; true for the
     *     evaluator and the responder, which follow the newest generation they see complete
     */
    public GlobalRounds(
            int parameters,
            int chunkSize,
            int generation,
            long completedRound,
            boolean followNewerGenerations) {
        this.parameters = parameters;
        this.chunkSize = chunkSize;
        this.completed = new RoundId(generation, completedRound);
        this.followNewerGenerations = followNewerGenerations;
    }

    /** Adds a chunk; returns the round it completes, or null. */
    public Round offer(GlobalChunk chunk) {
        if (VectorAssembly.misfit(parameters, chunkSize, chunk.slice()) != null) {
            rejections.reject(Reason.LAYOUT);
            return null;
        }
        RoundId version = chunk.version();
        boolean stale =
                followNewerGenerations
                        ? version.compareTo(completed) <= 0
                        : version.generation() != completed.generation()
                                || version.round() <= completed.round();
        if (stale) {
            rejections.reject(Reason.STALE);
            return null;
        }
        VectorAssembly assembly = incoming.get(version);
        if (assembly == null) {
            if (incoming.size() >= MAX_ROUNDS_IN_FLIGHT) {
                RoundId furthest = incoming.lastKey();
                rejections.reject(Reason.TOO_MANY_ROUNDS);
                if (version.compareTo(furthest) > 0) {
                    return null;
                }
                incoming.remove(furthest);
                heads.remove(furthest);
            }
            assembly = new VectorAssembly(parameters, chunkSize);
            incoming.put(version, assembly);
        }
        assembly.add(chunk.slice());
        if (chunk.chunk() == 0) {
            heads.put(version, chunk);
        }
        if (!assembly.complete()) {
            return null;
        }
        GlobalChunk head = heads.get(version);
        incoming.headMap(version, true).clear();
        heads.headMap(version, true).clear();
        completed = version;
        return new Round(version, head, assembly.values());
    }

    /** Chunks dropped as stale (another generation, or a round already superseded). */
    public long ignored() {
        return rejections.count(Reason.STALE);
    }

    /** Chunks dropped, by reason. */
    public ModelChunkRejections rejections() {
        return rejections;
    }

    /** Rounds being assembled now: at most {@link #MAX_ROUNDS_IN_FLIGHT}. */
    public int roundsInFlight() {
        return incoming.size();
    }

    /** The generation whose rounds this reader takes. */
    public int generation() {
        return completed.generation();
    }
}
