package io.streamgpt.job.sync;

/**
 * Turns the average of the replicas' parameters into the next global parameters.
 *
 * <p>{@code AVERAGE} takes the average as it is (federated averaging / local SGD). {@code NESTEROV}
 * is DiLoCo's outer step: the outer gradient is how far the replicas moved the global parameters,
 * {@code g = global - average}; a Nesterov momentum buffer {@code m = mu * m + g} accumulates it
 * and {@code global -= lr * (g + mu * m)}. With lr 1 and mu 0 both are the same.
 */
public enum OuterOptimizer {
    AVERAGE,
    NESTEROV;

    /**
     * The next global chunk. {@code previous} and {@code momentum} (same length as {@code average})
     * are the averager's state for this chunk; {@code momentum} is updated in place.
     */
    float[] apply(
            float[] previous, float[] average, float[] momentum, double learningRate, double mu) {
        if (this == AVERAGE || previous == null) {
            return average.clone();
        }
        float[] next = new float[average.length];
        for (int i = 0; i < average.length; i++) {
            double g = previous[i] - average[i];
            double m = mu * momentum[i] + g;
            momentum[i] = (float) m;
            next[i] = (float) (previous[i] - learningRate * (g + mu * m));
        }
        return next;
    }
}
