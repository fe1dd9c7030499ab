package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.Fragments;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.FloatArrays;

import java.util.Arrays;
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
 * <p>OVERLAP keeps one round in flight: the replica steps on after sending round r, and when round
 * r + 1 is due while r has not come back it holds r + 1 and waits; once r is adopted, r + 1 goes
 * out with the merged parameters (what the replica continues from, so that its own {@code local -
 * sent} at r + 1 is progress only). Its staleness is bounded: a global model is merged at most K
 * local steps after it was sent. (Without the bound a replica faster than its rounds ran ahead
 * without limit, and readers dropped the rounds it sent that far ahead.)
 *
 * <p>A replica that missed rounds (no data, or slower) jumps to the newest one it receives.
 *
 * <p>With a compressed {@code sync_encoding} a contribution to round r is the delta from the global
 * model the averager made for the same chunks one schedule earlier (round r - 1; with F fragments
 * round r - F, the fragment's previous round) and keeps, through {@link DeltaCompressor}, when the
 * replica adopted that model; otherwise (the first round of each fragment, after a restore, a
 * replica that fell behind) it sends those parameters as float32.
 *
 * <p>Streamed fragments ({@code sync_fragments} F > 1, Streaming DiLoCo): a round ends every K / F
 * steps and carries only fragment f = r mod F ({@link Fragments}); adopting it merges only that
 * range and keeps the rest of the local parameters:
 *
 * <pre>
 *   next[f] = global[f] + (local - sent)[f]      next[rest] = local[rest]      (SYNC and OVERLAP)
 * </pre>
 *
 * in SYNC mode too: the replica stepped on while the fragment was out, and replacing the fragment
 * by the global one ({@code next[f] = global[f]}) would throw those up to K / F steps of progress
 * on it away every K steps (a 2-replica, 100-step {@code bench pipeline} run with F = 2 lost 0.107
 * of validation loss that way).
 *
 * <p>With fragments SYNC mode keeps one round in flight too, as OVERLAP does (round r + 1 carries
 * another fragment, which adopting r does not touch), so a fragment round's communication overlaps
 * K / F steps of compute, and the staleness bound is: a fragment's global average is merged at most
 * K / F local steps after it was sent, and each fragment is averaged every K steps, as without
 * fragments.
 *
 * <p>A held-back round that a newer adopted round overtook (the awaited one never came: dropped by
 * the reader, or closed without this replica) is not sent: the averager would drop it as late, and
 * the replica would stay one round behind ever after.
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
    private final Fragments fragments;
    private Deferred deferred; // one round in flight: the round due while the previous one is out

    /**
     * A round's contribution held back until the round before it is adopted; its parameters are the
     * replica's when it goes out (the replica does not step in between).
     */
    private record Deferred(long round, long step, long tokens, float lastLoss) {}

    // compressed deltas: per fragment, the round whose global values base holds in its range
    private final RoundId[] baseVersions;
    private float[] base;

    /**
     * @param adoptedRound the newest round this replica took the global model of
     * @param awaitingRound the round it waits for (SYNC) or has in flight (one round in flight), or
     *     -1
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
                        : new DeltaCompressor(sync.encoding(), sync.chunkSize());
        this.fragments = Fragments.of(sync.fragments(), parameters.length, sync.chunkSize());
        this.baseVersions = new RoundId[fragments.count()];
    }

    /**
     * Whether the replica waits for a round's average and must not step: in SYNC mode from sending
     * a round; with one round in flight from when the next one is due.
     */
    boolean waiting() {
        return oneRoundInFlight() ? deferred != null : awaitingRound >= 0;
    }

    private boolean fragmented() {
        return fragments.count() > 1;
    }

    /**
     * OVERLAP, and fragments in either mode: the replica steps on while a round is out and holds
     * the next one back until it is adopted. Otherwise (SYNC) it waits from sending a round.
     */
    private boolean oneRoundInFlight() {
        return fragmented() || sync.mode() == SyncConfig.Mode.OVERLAP;
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
     * time the replica could not step; with one round in flight from when the next round was due to
     * when it went out), in all.
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
        return step % sync.stepsPerRound() == 0;
    }

    /**
     * The contributions of the round that step {@code step} ends, from {@code parameters}; in SYNC
     * mode the replica waits for that round from now on. With one round in flight (OVERLAP,
     * fragments): none while the previous round is not adopted (the replica waits); they come from
     * {@link #release} once it is.
     */
    Contribution[] contribute(
            long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        long round = step / sync.stepsPerRound();
        if (oneRoundInFlight() && awaitingRound >= 0) { // the previous round is still out
            deferred = new Deferred(round, step, tokens, lastLoss);
            waitingSinceNanos = nowNanos;
            return new Contribution[0];
        }
        Contribution[] chunks = send(round, step, tokens, lastLoss, parameters, nowNanos);
        awaitingRound = round; // SYNC: waits for it; one round in flight: steps on meanwhile
        waitingSinceNanos = nowNanos;
        return chunks;
    }

    /**
     * The contributions to the awaited round again, after a restore: what was sent before the
     * failure belongs to the old generation and is dropped by the averager.
     */
    Contribution[] resend(
            long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        waitingSinceNanos = nowNanos;
        Contribution[] chunks = send(awaitingRound, step, tokens, lastLoss, parameters, nowNanos);
        long due = step / sync.stepsPerRound();
        if (oneRoundInFlight() && roundEndsAt(step) && due > awaitingRound) {
            // the snapshot was taken while the round ending at this step waited for that one
            deferred = new Deferred(due, step, tokens, lastLoss);
        }
        return chunks;
    }

    /**
     * With one round in flight: the contributions held back by {@link #contribute}, from the
     * replica's parameters now (after the merge), once the round they waited for is adopted (then
     * theirs is in flight); otherwise none.
     */
    Contribution[] release(Supplier<float[]> localNow, long nowNanos) {
        if (deferred == null || awaitingRound >= 0) {
            return new Contribution[0];
        }
        Deferred d = deferred;
        deferred = null;
        waitedNanos += nowNanos - waitingSinceNanos;
        Contribution[] chunks =
                send(d.round(), d.step(), d.tokens(), d.lastLoss(), localNow.get(), nowNanos);
        awaitingRound = d.round();
        waitingSinceNanos = nowNanos;
        return chunks;
    }

    private Contribution[] send(
            long round, long step, long tokens, float lastLoss, float[] parameters, long nowNanos) {
        float loss = roundLossSteps == 0 ? lastLoss : (float) (roundLossSum / roundLossSteps);
        roundLossSum = 0;
        roundLossSteps = 0;
        int fragment = fragments.ofRound(round);
        int from = fragments.firstValue(fragment, sync.chunkSize());
        int to = fragments.endValue(fragment, sync.chunkSize(), parameters.length);
        if (oneRoundInFlight()) {
            // with fragments only the fragment's range, and a round of each fragment kept
            sentParameters.put(
                    round, fragmented() ? Arrays.copyOfRange(parameters, from, to) : parameters);
            while (sentParameters.size() > ROUNDS_KEPT * fragments.count()) {
                sentParameters.pollFirstEntry();
            }
        }
        sentAtNanos.put(round, nowNanos);
        while (sentAtNanos.size() > LATENCIES_KEPT) {
            sentAtNanos.pollFirstEntry();
        }
        RoundId version = new RoundId(generation, round);
        Progress progress = new Progress(step, tokens, loss);
        RoundId baseVersion = baseVersions[fragment];
        if (compressor != null
                && baseVersion != null
                && baseVersion.equals(new RoundId(generation, round - fragments.count()))) {
            return compressor.contribute(
                    new DeltaCompressor.Header(version, replica, progress, baseChecksum),
                    baseVersion,
                    base,
                    parameters,
                    fragments.firstChunk(fragment),
                    fragments.endChunk(fragment));
        }
        if (compressor != null) {
            compressor.reset(from, to); // float32 carries everything of the fragment
        }
        if (fragmented()) {
            return Contribution.of(
                    version,
                    replica,
                    progress,
                    baseChecksum,
                    parameters,
                    sync.chunkSize(),
                    fragments.firstChunk(fragment),
                    fragments.endChunk(fragment));
        }
        return Contribution.of(
                version, replica, progress, baseChecksum, parameters, sync.chunkSize());
    }

    /**
     * Takes a complete round: its whole global model without fragments ({@link #adopt(long,
     * float[], Supplier, long)}), else merges its fragment into the local parameters.
     */
    float[] adopt(GlobalRounds.Round complete, Supplier<float[]> localNow, long nowNanos) {
        if (!fragmented()) {
            return adopt(complete.round(), complete.parameters(), localNow, nowNanos);
        }
        long round = complete.round();
        float[] global = complete.values(); // [to - from]: the fragment's global values
        int from = complete.firstValue();
        float[] next = localNow.get(); // a fresh copy of the local parameters
        float[] sent = sentParameters.remove(round); // [to - from]; null: not sent by this one
        if (sent == null || !merge(global, next, from, sent, next, from)) {
            // a round it did not send (it fell behind) is taken as it is; a diverged delta dropped
            System.arraycopy(global, 0, next, from, global.length);
        }
        if (compressor != null) { // the base of the fragment's next delta
            if (base == null) {
                base = new float[next.length];
            }
            System.arraycopy(global, 0, base, from, global.length);
            baseVersions[complete.fragment()] = new RoundId(generation, round);
        }
        baseChecksum = FloatArrays.crc32(next);
        adoptedRound = Math.max(adoptedRound, round);
        if (awaitingRound >= 0 && round >= awaitingRound) {
            awaitingRound = -1; // the deferred round, if any, goes out in release
        }
        dropOvertaken(round, nowNanos);
        Long sentAt = sentAtNanos.remove(round);
        if (sentAt != null) {
            lastLatencyMs = (nowNanos - sentAt) / 1_000_000;
            roundsTimed++;
        }
        return next;
    }

    /**
     * Takes the global model of {@code round}: the parameters to continue from, given the local
     * ones now (read only in OVERLAP mode).
     */
    float[] adopt(long round, float[] global, Supplier<float[]> localNow, long nowNanos) {
        float[] next = global;
        float[] sent = sentParameters.remove(round);
        if (sync.mode() == SyncConfig.Mode.OVERLAP && sent != null) {
            next = new float[global.length];
            if (!merge(global, localNow.get(), 0, sent, next, 0)) {
                next = global; // a diverged local delta is dropped: the replica re-adopts global
            }
        }
        sentParameters.headMap(round).clear();
        baseChecksum = FloatArrays.crc32(next);
        adoptedRound = round;
        if (compressor != null) {
            base = global; // never written to: adopt returns it or a new array
            baseVersions[0] = new RoundId(generation, round);
        }
        if (awaitingRound >= 0 && round >= awaitingRound) {
            awaitingRound = -1; // one round in flight: the held-back round goes out in release
            if (!oneRoundInFlight()) {
                waitedNanos += nowNanos - waitingSinceNanos; // SYNC: it could not step since
            }
        }
        dropOvertaken(round, nowNanos);
        Long sentAt = sentAtNanos.remove(round);
        if (sentAt != null) {
            lastLatencyMs = (nowNanos - sentAt) / 1_000_000;
            roundsTimed++;
        }
        return next;
    }

    /**
     * {@code out[at + i] = global[i] + (local[from + i] - sent[i])} for the {@code global.length}
     * values of a round (the progress made since sending stays); whether every merged value is
     * finite, tested in the same pass ({@code local} and {@code out} may be one array).
     */
    private static boolean merge(
            float[] global, float[] local, int from, float[] sent, float[] out, int at) {
        boolean finite = true;
        for (int i = 0; i < global.length; i++) {
            float v = global[i] + (local[from + i] - sent[i]);
            out[at + i] = v;
            finite &= Float.isFinite(v);
        }
        return finite;
    }

    /**
     * A held-back round that adopting {@code round} overtook is not sent: its round is closed, the
     * averager would drop it as late. The wait ends here.
     */
    private void dropOvertaken(long round, long nowNanos) {
        if (deferred != null && round >= deferred.round()) {
            deferred = null;
            waitedNanos += nowNanos - waitingSinceNanos;
        }
    }

    /** The global step after adopting {@code round}: a replica that fell behind catches up. */
    long stepAfterAdopting(long round, long step) {
        return Math.max(step, round * sync.stepsPerRound());
    }
}
