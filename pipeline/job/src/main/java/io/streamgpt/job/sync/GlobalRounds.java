package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.Fragments;
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
 * never that far ahead (SYNC and OVERLAP keep one round in flight), so what gets dropped is what no
 * averager wrote; a replica that fell behind still adopts the newest round it completes. Dropped
 * chunks are counted by reason in {@link #rejections()}, never thrown on.
 *
 * <p>With streamed fragments ({@code --sync-fragments F > 1}) round r carries only the chunks of
 * fragment {@code r mod F} ({@link Fragments}) and is complete when they all arrived; "older than
 * the newest completed" then holds per fragment, so a late round of one fragment is not dropped
 * because a newer round of another completed first. A reader that needs a whole model takes {@link
 * #offerWhole}: the newest round of each fragment, put together; a whole model exists once every
 * fragment of the generation was seen (or from the start, for a replica given its starting model),
 * and each fragment round after that gives a new version named by that round. A fragment round is 1
 * / F of the vector, so F x {@value #MAX_ROUNDS_IN_FLIGHT} of them are assembled at once: the same
 * memory bound, and room for F times as many rounds in flight.
 */
public final class GlobalRounds {

    /** Rounds assembled at once, at most: bounds a reader's memory to this many models. */
    public static final int MAX_ROUNDS_IN_FLIGHT = 4;

    /** What a reader counts: the reasons decided here. */
    public static final Reason[] READER_REASONS = {
        Reason.LAYOUT, Reason.STALE, Reason.TOO_MANY_ROUNDS
    };

    /**
     * A complete round: a global model version.
     *
     * @param head the first chunk of the round's fragment (chunk 0 without fragments): the
     *     replicas' losses
     * @param parameters the whole model as of this round (with fragments: the newest round of every
     *     fragment), or null while some fragment was not seen yet
     * @param fragment the fragment the round carried (0 without fragments)
     * @param firstValue where {@code values} starts in the whole vector
     * @param values the round's fragment: {@code parameters[firstValue ..]} (the whole vector
     *     without fragments)
     */
    public record Round(
            RoundId version,
            GlobalChunk head,
            float[] parameters,
            int fragment,
            int firstValue,
            float[] values) {

        /** A round of the whole vector. */
        public Round(RoundId version, GlobalChunk head, float[] parameters) {
            this(version, head, parameters, 0, 0, parameters);
        }

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
    private RoundId completed; // the newest round completed, of any fragment
    private final Fragments fragments;
    private final long[] fragmentCompleted; // per fragment: its newest round completed
    private float[] whole; // with fragments: the newest round of each, put together (or null)
    private final boolean[] seen; // per fragment: whether whole holds a round of it
    private int unseen;

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
        this(parameters, chunkSize, 1, generation, completedRound, followNewerGenerations, null);
    }

    /**
     * @param fragments F: the streamed fragments the rounds carry (1: the whole vector)
     * @param start the whole model as of {@code completedRound}, which fragment rounds update (a
     *     copy is kept), or null: no whole model until every fragment was seen
     */
    public GlobalRounds(
            int parameters,
            int chunkSize,
            int fragments,
            int generation,
            long completedRound,
            boolean followNewerGenerations,
            float[] start) {
        this.parameters = parameters;
        this.chunkSize = chunkSize;
        this.completed = new RoundId(generation, completedRound);
        this.followNewerGenerations = followNewerGenerations;
        this.fragments = Fragments.of(fragments, parameters, chunkSize);
        this.fragmentCompleted = new long[fragments];
        java.util.Arrays.fill(fragmentCompleted, completedRound);
        this.seen = new boolean[fragments];
        if (fragments > 1 && start != null) {
            whole = start.clone();
            java.util.Arrays.fill(seen, true);
        } else {
            unseen = fragments;
        }
    }

    /**
     * Adds a chunk; returns the round it completes if a whole model exists then ({@link
     * Round#parameters()} not null), or null: for readers that run the whole model. Without
     * fragments the same as {@link #offer}.
     */
    public Round offerWhole(GlobalChunk chunk) {
        Round round = offer(chunk);
        return round == null || round.parameters() == null ? null : round;
    }

    /** Adds a chunk; returns the round it completes, or null. */
    public Round offer(GlobalChunk chunk) {
        if (VectorAssembly.misfit(parameters, chunkSize, chunk.slice()) != null) {
            rejections.reject(Reason.LAYOUT);
            return null;
        }
        RoundId version = chunk.version();
        int fragment = fragments.ofRound(version.round());
        if (fragments.ofChunk(chunk.chunk()) != fragment) {
            rejections.reject(Reason.LAYOUT); // a chunk that this round does not carry
            return null;
        }
        boolean sameGeneration = version.generation() == completed.generation();
        boolean stale =
                followNewerGenerations
                        ? version.generation() < completed.generation()
                                || (sameGeneration
                                        && version.round() <= fragmentCompleted[fragment])
                        : !sameGeneration || version.round() <= fragmentCompleted[fragment];
        if (stale) {
            rejections.reject(Reason.STALE);
            return null;
        }
        VectorAssembly assembly = incoming.get(version);
        if (assembly == null) {
            if (incoming.size() >= MAX_ROUNDS_IN_FLIGHT * fragments.count()) {
                RoundId furthest = incoming.lastKey();
                rejections.reject(Reason.TOO_MANY_ROUNDS);
                if (version.compareTo(furthest) > 0) {
                    return null;
                }
                incoming.remove(furthest);
                heads.remove(furthest);
            }
            assembly =
                    new VectorAssembly(
                            parameters,
                            chunkSize,
                            fragments.firstChunk(fragment),
                            fragments.endChunk(fragment));
            incoming.put(version, assembly);
        }
        assembly.add(chunk.slice());
        if (fragments.isFirstChunk(chunk.chunk())) {
            heads.put(version, chunk);
        }
        if (!assembly.complete()) {
            return null;
        }
        GlobalChunk head = heads.get(version);
        if (fragments.count() == 1) {
            incoming.headMap(version, true).clear();
            heads.headMap(version, true).clear();
            completed = version;
            fragmentCompleted[0] = version.round();
            return new Round(version, head, assembly.values());
        }
        return completeFragment(version, fragment, head, assembly);
    }

    /** A fragment round is complete: older rounds of that fragment go, the whole model moves on. */
    private Round completeFragment(
            RoundId version, int fragment, GlobalChunk head, VectorAssembly assembly) {
        if (version.generation() != completed.generation()) { // a follower moves on
            java.util.Arrays.fill(fragmentCompleted, Long.MIN_VALUE);
            java.util.Arrays.fill(seen, false);
            unseen = fragments.count();
        }
        for (RoundId older : new java.util.ArrayList<>(incoming.headMap(version, true).keySet())) {
            if (older.generation() < version.generation()
                    || fragments.ofRound(older.round()) == fragment) {
                incoming.remove(older);
                heads.remove(older);
            }
        }
        if (version.compareTo(completed) > 0) {
            completed = version;
        }
        fragmentCompleted[fragment] = version.round();
        float[] values = assembly.values();
        if (whole == null) {
            whole = new float[parameters];
        }
        System.arraycopy(values, 0, whole, assembly.firstValue(), values.length);
        if (!seen[fragment]) {
            seen[fragment] = true;
            unseen--;
        }
        return new Round(
                version,
                head,
                unseen == 0 ? whole.clone() : null,
                fragment,
                assembly.firstValue(),
                values);
    }

    /** Chunks dropped as stale (another generation, or a round already superseded). */
    public long ignored() {
        return rejections.count(Reason.STALE);
    }

    /** Chunks dropped, by reason. */
    public ModelChunkRejections rejections() {
        return rejections;
    }

    /** Rounds being assembled now: at most {@link #MAX_ROUNDS_IN_FLIGHT} x fragments. */
    public int roundsInFlight() {
        return incoming.size();
    }

    /** The generation whose rounds this reader takes. */
    public int generation() {
        return completed.generation();
    }
}
