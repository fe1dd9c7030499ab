package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
 * Because parameters, gradient and moments are each one vector, a step is a dozen tensor
 * operations whatever the model size. Gradients are zeroed after every step (torch accumulates
 * them otherwise).
 */
public final class AdamW implements AutoCloseable {

    private final GptConfig config;
    private final NDArray parameters;
    private final NDArray firstMoment;
    private final NDArray secondMoment;
    private long step;

    AdamW(Gpt model) {
        this.config = model.config();
        this.parameters = model.parameters();
        NDManager manager = model.manager();
        this.firstMoment = manager.zeros(parameters.getShape());
        this.secondMoment = manager.zeros(parameters.getShape());
    }

    /** Steps taken. */
    public long steps() {
        return step;
    }

    /**
     * Applies one update with the gradient accumulated by the last backward pass, then zeroes it.
     *
     * @return the gradient's global L2 norm before clipping, or NaN when clipping is off (it costs a
     *     reduction)
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
            if (config.weightDecay() > 0) {
                parameters.muli(1 - learningRate * config.weightDecay());
            }
            firstMoment.muli(b1).addi(grad.mul(1 - b1));
            secondMoment.muli(b2).addi(grad.square().muli(1 - b2));
            NDArray denominator = secondMoment.sqrt().divi(Math.sqrt(biasCorrection2)).addi(GptConfig.ADAM_EPSILON);
            parameters.subi(firstMoment.div(denominator).muli(learningRate / biasCorrection1));
            JniUtils.zeroGrad((PtNDArray) parameters);
            return norm;
        }
    }

    /** Optimizer state as plain arrays, for checkpoints: first moment, second moment. */
    public float[][] state() {
        return new float[][] {firstMoment.toFloatArray(), secondMoment.toFloatArray()};
    }

    @Override
    public void close() {
        firstMoment.close();
        secondMoment.close();
    }
}
