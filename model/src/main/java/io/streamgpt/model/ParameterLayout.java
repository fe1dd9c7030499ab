package io.streamgpt.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Where each named tensor of the GPT lives in its one flat parameter vector.
 *
 * <p>The model keeps all parameters in a single contiguous float vector so that the optimizer
 * updates them in a handful of operations, a model file is one array, and replicas can average
 * parameters as plain vectors. The order is the order of the paper: embeddings, blocks, final norm,
 * head.
 */
public final class ParameterLayout {

    /** How a tensor starts: N(0, 0.02) for weights of linear and embedding layers, else 0 or 1. */
    public enum Init {
        NORMAL,
        ZEROS,
        ONES
    }

    /** One named tensor: its shape and its offset in the flat vector. */
    public record Tensor(String name, long[] shape, long offset, long size, Init init) {}

    private final List<Tensor> tensors;
    private final long size;

    private ParameterLayout(List<Tensor> tensors, long size) {
        this.tensors = Collections.unmodifiableList(tensors);
        this.size = size;
    }

    public static ParameterLayout of(GptConfig config) {
        int v = config.vocabSize();
        int c = config.nEmbd();
        Builder b = new Builder();
        b.add("wte", Init.NORMAL, v, c);
        b.add("wpe", Init.NORMAL, config.blockSize(), c);
        for (int l = 0; l < config.nLayer(); l++) {
            String p = "h." + l + ".";
            b.add(p + "ln_1.weight", Init.ONES, c);
            b.add(p + "ln_1.bias", Init.ZEROS, c);
            b.add(p + "attn.c_attn.weight", Init.NORMAL, 3L * c, c); // q, k, v of all heads
            b.add(p + "attn.c_proj.weight", Init.NORMAL, c, c);
            b.add(p + "attn.c_proj.bias", Init.ZEROS, c);
            b.add(p + "ln_2.weight", Init.ONES, c);
            b.add(p + "ln_2.bias", Init.ZEROS, c);
            b.add(p + "mlp.c_fc.weight", Init.NORMAL, 4L * c, c);
            b.add(p + "mlp.c_fc.bias", Init.ZEROS, 4L * c);
            b.add(p + "mlp.c_proj.weight", Init.NORMAL, c, 4L * c);
            b.add(p + "mlp.c_proj.bias", Init.ZEROS, c);
        }
        b.add("ln_f.weight", Init.ONES, c);
        b.add("ln_f.bias", Init.ZEROS, c);
        b.add("lm_head.weight", Init.NORMAL, v, c);
        b.add("lm_head.bias", Init.ZEROS, v);
        return new ParameterLayout(b.tensors, b.offset);
    }

    /** Number of parameters: the length of the flat vector. */
    public long size() {
        return size;
    }

    public List<Tensor> tensors() {
        return tensors;
    }

    /** Offsets where the flat vector is cut into tensors (all but the first tensor's offset). */
    long[] splitPoints() {
        long[] points = new long[tensors.size() - 1];
        for (int i = 1; i < tensors.size(); i++) {
            points[i - 1] = tensors.get(i).offset();
        }
        return points;
    }

    /** Initial parameters as the reference initialises them, from {@code seed}. */
    public float[] initialValues(long seed) {
        float[] values = new float[Math.toIntExact(size)];
        SplittableRandom random = new SplittableRandom(seed);
        for (Tensor t : tensors) {
            int from = (int) t.offset();
            int to = (int) (t.offset() + t.size());
            for (int i = from; i < to; i++) {
                values[i] =
                        switch (t.init()) {
                            case NORMAL -> (float) (0.02 * gaussian(random));
                            case ONES -> 1f;
                            case ZEROS -> 0f;
                        };
            }
        }
        return values;
    }

    private static double gaussian(SplittableRandom random) {
        // Marsaglia's polar method: SplittableRandom has no nextGaussian on Java 17.
        double u;
        double v;
        double s;
        do {
            u = 2 * random.nextDouble() - 1;
            v = 2 * random.nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * Math.sqrt(-2 * Math.log(s) / s);
    }

    private static final class Builder {
        final List<Tensor> tensors = new ArrayList<>();
        long offset;

        void add(String name, Init init, long... shape) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            tensors.add(new Tensor(name, shape, offset, n, init));
            offset += n;
        }
    }
}
