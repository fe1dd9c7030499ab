package io.streamgpt.job.replica;

import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TrainingConfig;

/**
 * A step that sleeps instead of computing, for measuring synchronisation at accelerator step times
 * on a CPU: replicas that sleep do not compete for the cores the transport needs. It holds the
 * preset's real initial parameter vector (same size, same values as the model's) and moves every
 * parameter by a known amount per step:
 *
 * <pre>
 *   step n of replica r:   theta_i += delta * (r + 1)          delta = 2^-12 (exact in float32)
 * </pre>
 *
 * so that with N replicas, K steps per round, SYNC mode and plain averaging the global model after
 * round R is
 *
 * <pre>
 *   global_R,i = theta_0,i + R * K * delta * (N + 1) / 2
 * </pre>
 *
 * (the mean of (r + 1) over r = 0..N-1 is (N + 1) / 2), which {@code bench sync} and the tests
 * check. The shift is kept as one number and added when the parameters are read (once per round),
 * not written to 10 million floats per step. The loss it reports is 0; it has no optimizer moments.
 */
public final class SimulatedStep implements ReplicaStep {

    /** The shift per step of replica 0; replica r moves (r + 1) times as far. */
    static final float DELTA = 1f / 4096;

    private final long sleepMs;
    private final float perStep;
    private float[] base;
    private double shift; // added to every parameter of base: the steps since setParameters
    private long steps;

    private SimulatedStep(float[] initial, int replica, long sleepMs) {
        this.base = initial;
        this.perStep = DELTA * (replica + 1);
        this.sleepMs = sleepMs;
    }

    /**
     * How far every parameter of the global model has moved from the initial one after {@code
     * round} rounds of {@code every} steps of {@code replicas} replicas (SYNC mode, plain
     * averaging, every replica in every round): R * K * delta * (N + 1) / 2.
     */
    public static double shiftAfter(long round, int every, int replicas) {
        return round * every * (double) DELTA * (replicas + 1) / 2.0;
    }

    /** The preset's initial parameters (the model is created once to read them, then closed). */
    static SimulatedStep of(
            GptConfig shape, TrainingConfig training, ModelHost host, int replica, long sleepMs) {
        try (Gpt model = host.create(shape, training.seed())) {
            return new SimulatedStep(model.parameterValues(), replica, sleepMs);
        }
    }

    /** A simulated step over {@code initial}, for tests. */
    static SimulatedStep over(float[] initial, int replica, long sleepMs) {
        return new SimulatedStep(initial, replica, sleepMs);
    }

    @Override
    public long parameterCount() {
        return base.length;
    }

    @Override
    public float[] parameters() {
        float[] values = new float[base.length];
        float s = (float) shift;
        for (int i = 0; i < values.length; i++) {
            values[i] = base[i] + s;
        }
        return values;
    }

    @Override
    public void setParameters(float[] values) {
        base = values; // never written: parameters() makes a new array
        shift = 0;
    }

    @Override
    public float step(TokenCorpus.Batch batch) {
        try {
            Thread.sleep(sleepMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the task is being cancelled
        }
        shift += perStep;
        steps++;
        return 0f;
    }

    @Override
    public long optimizerSteps() {
        return steps;
    }

    @Override
    public float[][] optimizerState() {
        return new float[][] {new float[0], new float[0]};
    }

    @Override
    public void restoreOptimizer(long steps, float[] firstMoment, float[] secondMoment) {
        this.steps = steps;
    }

    @Override
    public void close() {}
}
