package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.FloatArrays;

import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The local-SGD bookkeeping of one replica, without Flink: after every {@code sync_every} local
 * steps it cuts the parameters into contributions to a round; in SYNC mode the replica then waits
 * until that round's global model comes back; adopting a global model replaces the local parameters
 * (SYNC) or keeps the local progress made since they were sent on top of it (OVERLAP):
 *
 * <pre>
 *   SYNC:     next = global
 *   OVERLAP:  next = global + (local - sent)     sent: the parameters contributed to that round
 * </pre>
 *
 * A replica that missed rounds (no data, or slower) jumps to the newest one it receives.
 *
 * <p>With a compressed {@code sync_encoding} a contribution to round r is the delta from the global
 * model of round r - 1 (which the averager made and keeps), through {@link DeltaCompressor}, when
 * the replica adopted that model; otherwise (the first round, after a restore, a replica that fell
 * behind) it sends its parameters as float32.
 */
final class LocalSgd {

    /** Contributions and rounds in flight kept for OVERLAP merges and latency; older ones go. */
    private static final int ROUNDS_KEPT = 2;

    private static final int LATENCIES_KEPT = 8;

    private final SyncConfig sync;
    private final int replica;
    private final int generation;
    private final TreeMap<Long, float[]> sentParameters = new TreeMap<>();
    private final TreeMap<Long, Long> sentAtNanos = new TreeMap<>();
    private long adoptedRound;
    private long awaitingRound;
    private long baseChecksum;
    private double roundLossSum; // losses of the steps since the last send: the round's train loss
    private int roundLossSteps;
    private long lastLatencyMs;
    private long roundsTimed;
    private long waitingSinceNanos;
    private long waitedNanos;
    private final DeltaCompressor compressor; // null: float32 parameters
    private RoundId baseVersion; // the global model adopted last, the base of compressed deltas
    private float[] base;

    /**
     * @param adoptedRound the newest round this replica took the global model of
     * @param awaitingRound the round it waits for (SYNC), or -1
     * @param parameters the parameters it trains on now: the base of its next contribution
     */
    LocalSgd(
            SyncConfig sync,
            int replica,
            int generation,
            long adoptedRound,
            long awaitingRound,
            float[] parameters) {
        this.sync = sync;
        this.replica = replica;
        this.generation = generation;
        this.adoptedRound = adoptedRound;
        this.awaitingRound = awaitingRound;
        this.baseChecksum = FloatArrays.crc32(parameters);
        this.waitingSinceNanos = System.nanoTime(); // a restored replica waits from now
        this.compressor =
                sync.encoding() == PayloadEncoding.FP32
                        ? null
                        : new DeltaCompressor(sync.encoding());
    }

    /** Whether the replica waits for a round's average (SYNC mode) and must not step. */
    boolean waiting() {
        return awaitingRound >= 0;
    }

    long adoptedRound() {
        return adoptedRound;
    }

    long awaitingRound() {
        return awaitingRound;
    }

    /** Milliseconds from sending the last timed round to adopting it. */
    long lastLatencyMs() {
        return lastLatencyMs;
    }

    /** Rounds adopted whose send time was known: each one set {@link #lastLatencyMs()}. */
    long roundsTimed() {
        return roundsTimed;
    }

    /**
     * Milliseconds spent waiting for rounds (SYNC mode: from sending a round to adopting it, the
     * time the replica could not step), in all.
     */
    double waitedMs() {
        return waitedNanos / 1e6;
    }

    /** Counts one step's training loss into the round's mean. */
    void stepped(float loss) {
        roundLossSum += loss;
        roundLossSteps++;
    }

    /** Whether global step {@code step} ends a round: then its parameters are contributed. */
    boolean roundEndsAt(long step) {
        return step % sync.every() == 0;
    }

    /**
     * The contributions of the round that step {@code step} ends, from {@code parameters}; in SYNC
     * mode the replica waits for that round from now on.
     */
    Contribution[] contribute(
            long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        long round = step / sync.every();
        Contribution[] chunks = send(round, step, tokens, lastLoss, parameters, nowNanos);
        if (sync.mode() == SyncConfig.Mode.SYNC) {
            awaitingRound = round;
            waitingSinceNanos = nowNanos;
        }
        return chunks;
    }

    /**
     * The contributions to the awaited round again, after a restore: what was sent before the
     * failure belongs to the old generation and is dropped by the averager.
     */
    Contribution[] resend(
            long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        waitingSinceNanos = nowNanos;
        return send(awaitingRound, step, tokens, lastLoss, parameters, nowNanos);
    }

    private Contribution[] send(
            long round, long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        float loss = roundLossSteps == 0 ? lastLoss : (float) (roundLossSum / roundLossSteps);
        roundLossSum = 0;
        roundLossSteps = 0;
        if (sync.mode() == SyncConfig.Mode.OVERLAP) {
            sentParameters.put(round, parameters);
            while (sentParameters.size() > ROUNDS_KEPT) {
                sentParameters.pollFirstEntry();
            }
        }
        sentAtNanos.put(round, nowNanos);
        while (sentAtNanos.size() > LATENCIES_KEPT) {
            sentAtNanos.pollFirstEntry();
        }
        RoundId version = new RoundId(generation, round);
        Progress progress = new Progress(step, tokens, loss);
        if (compressor != null
                && base != null
                && baseVersion.equals(new RoundId(generation, round - 1))) {
            return compressor.contribute(
                    version,
                    replica,
                    progress,
                    baseChecksum,
                    baseVersion,
                    base,
                    parameters,
                    sync.chunkSize());
        }
        if (compressor != null) {
            compressor.reset();
        }
        return Contribution.of(
                version, replica, progress, baseChecksum, parameters, sync.chunkSize());
    }

    /**
     * Takes the global model of {@code round}: the parameters to continue from, given the local
     * ones now (read only in OVERLAP mode).
     */
    float[] adopt(long round, float[] global, Supplier<float[]> localNow, long nowNanos) {
        float[] next = global;
        float[] sent = sentParameters.remove(round);
        if (sync.mode() == SyncConfig.Mode.OVERLAP && sent != null) {
            float[] local = localNow.get();
            next = new float[global.length];
            for (int i = 0; i < next.length; i++) {
                next[i] = global[i] + (local[i] - sent[i]);
            }
            if (!io.streamgpt.job.sync.DivergenceGuard.finite(next)) {
                next = global; // a diverged local delta is dropped: the replica re-adopts global
            }
        }
        sentParameters.headMap(round).clear();
        baseChecksum = FloatArrays.crc32(next);
        adoptedRound = round;
        if (compressor != null) {
            base = global; // never written to: adopt returns it or a new array
            baseVersion = new RoundId(generation, round);
        }
        if (awaitingRound >= 0 && round >= awaitingRound) {
            awaitingRound = -1;
            waitedNanos += nowNanos - waitingSinceNanos;
        }
        Long sentAt = sentAtNanos.remove(round);
        if (sentAt != null) {
            lastLatencyMs = (nowNanos - sentAt) / 1_000_000;
            roundsTimed++;
        }
        return next;
    }

    /** The global step after adopting {@code round}: a replica that fell behind catches up. */
    long stepAfterAdopting(long round, long step) {
        return Math.max(step, round * sync.every());
    }
}
