package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * AdamW over the model's flat parameter vector, exactly torch.optim.AdamW's update:
 *
 * <pre>
 *   p  = p * (1 - lr * wd)
 *   m  = b1 * m + (1 - b1) * g
 *   v  = b2 * v + (1 - b2) * g^2
 *   p  = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * Parameters, gradient and moments are each one flat vector, updated slice by slice. Gradients are
 * zeroed after every step (torch accumulates them otherwise).
 */
public final class AdamW implements AutoCloseable {

    /**
     * The update runs over slices of this many values: a dozen passes over a slice stay in the L2
     * cache, where a dozen passes over the whole vector would stream it from memory each time.
     */
    private static final int SLICE = 1 << 15;

    private final TrainingConfig config;
    private final NDManager manager;
    private final NDArray parameters;
    private final NDArray firstMoment;
    private final NDArray secondMoment;
    private final long[] slicePoints;
    private final NDList parameterSlices;
    private final NDList firstMomentSlices;
    private final NDList secondMomentSlices;
    private long step;

    AdamW(Gpt model, TrainingConfig training) {
        this.config = training;
        this.parameters = model.parameters();
        this.manager = model.manager();
        this.firstMoment = manager.zeros(parameters.getShape());
        this.secondMoment = manager.zeros(parameters.getShape());
        long size = parameters.size();
        this.slicePoints = new long[(int) ((size - 1) / SLICE)];
        for (int i = 0; i < slicePoints.length; i++) {
            slicePoints[i] = (long) (i + 1) * SLICE;
        }
        try (NDScope scope = new NDScope()) {
            parameterSlices = parameters.split(slicePoints, 0);
            firstMomentSlices = firstMoment.split(slicePoints, 0);
            secondMomentSlices = secondMoment.split(slicePoints, 0);
            NDScope.unregister(parameterSlices);
            NDScope.unregister(firstMomentSlices);
            NDScope.unregister(secondMomentSlices);
        }
    }

    /** Steps taken. */
    public long steps() {
        return step;
    }

    /**
     * Applies one update with the gradient accumulated by the last backward pass, then zeroes it.
     * Runs in the caller's {@link NDScope}.
     *
     * @return the gradient's global L2 norm before clipping, or NaN when clipping is off (it costs
     *     a reduction)
     */
    float update(double learningRate) {
        try (GradMode off = GradMode.disabled()) {
            NDArray grad = parameters.getGradient();
            float norm = Float.NaN;
            if (config.gradClip() > 0) {
                norm = grad.norm().getFloat();
                if (norm > config.gradClip()) {
                    grad.muli(config.gradClip() / norm);
                }
            }
            step++;
            double b1 = config.beta1();
            double b2 = config.beta2();
            double biasCorrection1 = 1 - Math.pow(b1, step);
            double biasCorrection2 = 1 - Math.pow(b2, step);
            // Scalars as tensors, made once per step: a Java number becomes a new tensor per use.
            NDArray decay = scalar(1 - learningRate * config.weightDecay());
            NDArray beta1 = scalar(b1);
            NDArray oneMinusBeta1 = scalar(1 - b1);
            NDArray beta2 = scalar(b2);
            NDArray oneMinusBeta2 = scalar(1 - b2);
            NDArray sqrtBiasCorrection2 = scalar(Math.sqrt(biasCorrection2));
            NDArray epsilon = scalar(TrainingConfig.ADAM_EPSILON);
            NDArray stepSize = scalar(learningRate / biasCorrection1);
            NDList gradSlices = grad.split(slicePoints, 0);
            for (int i = 0; i < gradSlices.size(); i++) {
                NDArray p = parameterSlices.get(i);
                NDArray g = gradSlices.get(i);
                NDArray m = firstMomentSlices.get(i);
                NDArray v = secondMomentSlices.get(i);
                if (config.weightDecay() > 0) {
                    p.muli(decay);
                }
                m.muli(beta1).addi(g.mul(oneMinusBeta1));
                v.muli(beta2).addi(g.square().muli(oneMinusBeta2));
                NDArray denominator = v.sqrt().divi(sqrtBiasCorrection2).addi(epsilon);
                p.subi(m.div(denominator).muli(stepSize));
            }
            JniUtils.zeroGrad((PtNDArray) parameters);
            return norm;
        }
    }

    private NDArray scalar(double value) {
        return manager.create((float) value);
    }

    /** Optimizer state as plain arrays, for checkpoints: first moment, second moment. */
    public float[][] state() {
        return new float[][] {firstMoment.toFloatArray(), secondMoment.toFloatArray()};
    }

    /** Restores the state that {@link #state()} and {@link #steps()} returned. */
    public void restore(long steps, float[] first, float[] second) {
        if (first.length != parameters.size() || second.length != parameters.size()) {
            throw new IllegalArgumentException(
                    "optimizer state of "
                            + first.length
                            + "/"
                            + second.length
                            + " values for "
                            + parameters.size()
                            + " parameters");
        }
        try (GradMode off = GradMode.disabled();
                NDArray m = manager.create(first);
                NDArray v = manager.create(second)) {
            firstMoment.set(new ai.djl.ndarray.index.NDIndex(":"), m);
            secondMoment.set(new ai.djl.ndarray.index.NDIndex(":"), v);
        }
        this.step = steps;
    }

    @Override
    public void close() {
        parameterSlices.close();
        firstMomentSlices.close();
        secondMomentSlices.close();
        firstMoment.close();
        secondMoment.close();
    }
}
