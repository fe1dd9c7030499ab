package io.streamgpt.cli.bench;

import org.apache.commons.math3.stat.regression.OLSMultipleLinearRegression;

import java.util.List;

/**
 * The cost of one synchronisation round, fitted by least squares to rounds measured at several
 * replica counts N and payloads B (megabytes each replica sends):
 *
 * <pre>
 *   T(N, B) = t0 + b * B + c * N * B
 *
 *   t0  ms per round whatever its size: flush timeouts, Kafka's produce and fetch round trips,
 *       assembling a round
 *   b   ms per MB moved once per round: the averager's output, the Kafka write and read of the
 *       global model
 *   c   ms per MB per replica: each replica's contribution into the averager and the broadcast of
 *       the global model back to it
 * </pre>
 *
 * Ordinary least squares with an intercept ({@link OLSMultipleLinearRegression}); at least four
 * points with at least two payloads and two replica counts make the three terms separable.
 *
 * @param fixedMs t0
 * @param msPerMegabyte b
 * @param msPerMegabytePerReplica c
 * @param rSquared the share of the measured variance the model explains
 */
public record SyncCostModel(
        double fixedMs, double msPerMegabyte, double msPerMegabytePerReplica, double rSquared) {

    /** One measured round time: the median of the rounds of one run. */
    public record Point(int replicas, double megabytes, double ms) {}

    public static SyncCostModel fit(List<Point> points) {
        long payloads = points.stream().mapToDouble(Point::megabytes).distinct().count();
        long counts = points.stream().mapToInt(Point::replicas).distinct().count();
        if (points.size() < 4 || payloads < 2 || counts < 2) {
            throw new IllegalArgumentException(
                    "a cost model needs >= 4 rounds over >= 2 payloads and >= 2 replica counts, got"
                            + " "
                            + points.size()
                            + " over "
                            + payloads
                            + " and "
                            + counts);
        }
        double[] y = new double[points.size()];
        double[][] x = new double[points.size()][];
        for (int i = 0; i < y.length; i++) {
            Point p = points.get(i);
            y[i] = p.ms();
            x[i] = new double[] {p.megabytes(), p.replicas() * p.megabytes()};
        }
        OLSMultipleLinearRegression ols = new OLSMultipleLinearRegression();
        ols.newSampleData(y, x);
        double[] beta = ols.estimateRegressionParameters(); // intercept first
        return new SyncCostModel(beta[0], beta[1], beta[2], ols.calculateRSquared());
    }

    /** Predicted milliseconds of a round of N replicas each sending {@code megabytes}. */
    public double predictMs(int replicas, double megabytes) {
        return fixedMs + msPerMegabyte * megabytes + msPerMegabytePerReplica * replicas * megabytes;
    }
}
