package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns recording of the autograd graph on or off for the calling thread, and restores the previous
 * state on close.
 *
 * <p>DJL's {@code GradientCollector} for PyTorch allows only one collector in the whole JVM at a
 * time, which would serialise replicas that share a TaskManager. Torch's grad mode itself is
 * thread-local, so this class uses it directly and each training thread records its own graph.
 */
public final class GradMode implements AutoCloseable {

    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    /** Records operations for backpropagation until closed. */
    public static GradMode enabled() {
        return new GradMode(true);
    }

    /** Records nothing until closed: evaluation, sampling and in-place parameter updates. */
    public static GradMode disabled() {
        return new GradMode(false);
    }

    /** Backpropagates the scalar {@code loss} into the gradients of the leaves it depends on. */
    public static void backward(NDArray loss) {
        try (NDArray seed = loss.onesLike()) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, false, false);
        }
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
