package io.streamgpt.job.sync;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which contributions to a chunk's round are averaged in. A replica whose training diverged must
 * not poison the global model that every replica adopts:
 *
 * <ul>
 *   <li>{@link #screen}, as a contribution arrives: its round's training loss or any of its values
 *       is NaN or infinite: rejected.
 *   <li>{@link #outliers}, when the round closes: each contribution's distance from the previous
 *       global chunk, {@code d_r = |x_r - g|_2} (from 0 before the first global chunk), against the
 *       median distance of the other contributions, floored by the previous round's median distance
 *       {@code f}: {@code d_r > factor * max(median_{s != r} d_s, f)} rejects it. With two replicas
 *       "the others" is the other one; the nearer of two is never rejected (its distance is below
 *       the farther one's, so below factor times it), so a round always keeps a contribution unless
 *       all were non-finite. The floor keeps a replica that trained a whole round from being called
 *       an outlier next to one that barely moved (it joined late, or had little data): only a jump
 *       far beyond the usual size of a round's move is rejected.
 * </ul>
 *
 * The averager is keyed by chunk, so each chunk is judged on its own: a replica whose loss went NaN
 * has NaN in every chunk after one more step, and loses all of them; a finite outlier may lose only
 * the chunks where it is far. A rejected replica re-adopts the global model of the round like every
 * other (SYNC: it replaces its parameters; OVERLAP: {@code LocalSgd} drops a non-finite local
 * delta), and resets its AdamW moments when its own loss or parameters were non-finite.
 */
public final class DivergenceGuard {

    /** Why a contribution is not averaged in, or that it is. */
    public enum Verdict {
        ACCEPTED,
        NON_FINITE_LOSS,
        NON_FINITE_VALUES,
        OUTLIER
    }

    private final double outlierFactor;

    /**
     * @param outlierFactor how many times the others' median distance is too far; 0 is off
     */
    public DivergenceGuard(double outlierFactor) {
        if (!(outlierFactor == 0 || outlierFactor > 1)) {
            throw new IllegalArgumentException("outlier factor must be 0 (off) or > 1");
        }
        this.outlierFactor = outlierFactor;
    }

    public boolean detectsOutliers() {
        return outlierFactor > 0;
    }

    /**
     * What the guard and the average need of a contribution, from one read of its values:
     *
     * <pre>
     *   squares  = sum_i x_i^2                 (double: the replicas' spread, and the finiteness test)
     *   distance = |x - reference|_2          (reference null: |x|_2)
     *   finite   = squares is finite
     * </pre>
     *
     * A NaN or infinite value makes {@code squares} NaN or infinite, and finite float32 values
     * cannot: each square is at most 1.2e77 in double precision, far from its 1.8e308 limit. One
     * pass instead of three (finiteness, squares, distance): on the {@code reference} preset each
     * pass reads 43 MB, and the averager is the one subtask every round goes through.
     */
    public record Measure(double squares, double distance) {

        public boolean finite() {
            return Double.isFinite(squares);
        }
    }

    /** The {@link Measure} of {@code values}; {@code reference} null is the zero vector. */
    public static Measure measure(float[] values, float[] reference) {
        double squares = 0;
        if (reference == null) {
            for (float v : values) {
                squares += (double) v * v;
            }
            return new Measure(squares, Math.sqrt(squares));
        }
        double distanceSquares = 0;
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            double d = v - reference[i];
            squares += v * v;
            distanceSquares += d * d;
        }
        return new Measure(squares, Math.sqrt(distanceSquares));
    }

    /** The verdict on a contribution as it arrives: finite loss and values, or why not. */
    public static Verdict screen(float loss, float[] values) {
        return screen(loss, measure(values, null));
    }

    /** The verdict on a contribution whose values were measured: finite loss and values. */
    public static Verdict screen(float loss, Measure values) {
        if (!Float.isFinite(loss)) {
            return Verdict.NON_FINITE_LOSS;
        }
        return values.finite() ? Verdict.ACCEPTED : Verdict.NON_FINITE_VALUES;
    }

    /** Whether every value is neither NaN nor infinite. */
    public static boolean finite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** {@code |values - reference|_2}; {@code reference} null is the zero vector. */
    public static double distance(float[] values, float[] reference) {
        return measure(values, reference).distance();
    }

    /**
     * The indices of {@code distances} (one per accepted contribution) that are outliers; none with
     * fewer than two contributions or with outlier detection off.
     *
     * @param floor the previous round's median distance, 0 if none
     */
    public List<Integer> outliers(double[] distances, double floor) {
        List<Integer> outliers = new ArrayList<>();
        if (!detectsOutliers() || distances.length < 2) {
            return outliers;
        }
        for (int r = 0; r < distances.length; r++) {
            double[] others = new double[distances.length - 1];
            for (int s = 0, k = 0; s < distances.length; s++) {
                if (s != r) {
                    others[k++] = distances[s];
                }
            }
            if (distances[r] > outlierFactor * Math.max(median(others), floor)) {
                outliers.add(r);
            }
        }
        return outliers;
    }

    /** The median; 0 for none. */
    public static double median(double[] values) {
        if (values.length == 0) {
            return 0;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
