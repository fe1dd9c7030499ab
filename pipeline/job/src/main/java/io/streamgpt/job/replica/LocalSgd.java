package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.FloatArrays;

import java.util.TreeMap;

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
    private long latenciesMeasured; // rounds adopted that this replica had sent: each one a latency

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

    long lastLatencyMs() {
        return lastLatencyMs;
    }

    /** How many round trips were measured: {@link #lastLatencyMs()} is new when this grows. */
    long latenciesMeasured() {
        return latenciesMeasured;
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
        }
        return chunks;
    }

    /**
     * The contributions to the awaited round again, after a restore: what was sent before the
     * failure belongs to the old generation and is dropped by the averager.
     */
    Contribution[] resend(
            long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
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
        return Contribution.of(
                new RoundId(generation, round),
                replica,
                new Progress(step, tokens, loss),
                baseChecksum,
                parameters,
                sync.chunkSize());
    }

    /**
     * Takes the global model of {@code round}: the parameters to continue from, given the local
     * ones now.
     */
    float[] adopt(long round, float[] global, float[] local, long nowNanos) {
        float[] next = global;
        float[] sent = sentParameters.remove(round);
        if (sync.mode() == SyncConfig.Mode.OVERLAP && sent != null) {
            next = new float[global.length];
            for (int i = 0; i < next.length; i++) {
                next[i] = global[i] + (local[i] - sent[i]);
            }
        }
        sentParameters.headMap(round).clear();
        baseChecksum = FloatArrays.crc32(next);
        adoptedRound = round;
        if (awaitingRound >= 0 && round >= awaitingRound) {
            awaitingRound = -1;
        }
        Long sentAt = sentAtNanos.remove(round);
        if (sentAt != null) {
            lastLatencyMs = (nowNanos - sentAt) / 1_000_000;
            latenciesMeasured++;
        }
        return next;
    }

    /** The global step after adopting {@code round}: a replica that fell behind catches up. */
    long stepAfterAdopting(long round, long step) {
        return Math.max(step, round * sync.every());
    }
}
