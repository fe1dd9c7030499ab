package io.streamgpt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;

import java.util.List;

/**
 * A decoder-only transformer, the reference's character-level GPT: token and learned position
 * embeddings, {@code n_layer} pre-LayerNorm blocks of causal multi-head self-attention and a 4x
 * ReLU MLP, a final LayerNorm and a linear head to the vocabulary (no weight tying).
 *
 * <p>All parameters live in one flat vector that requires gradients (see {@link ParameterLayout});
 * every forward pass cuts it into named, shaped views with a single split, so autograd delivers the
 * whole gradient as one contiguous vector too.
 *
 * <p>Operations run on the thread's current {@link ai.djl.ndarray.NDScope}: callers open one per
 * step so intermediate tensors are freed as soon as the step ends.
 */
public final class Gpt implements AutoCloseable {

    private static final float LAYER_NORM_EPS = 1e-5f;

    private final GptConfig config;
    private final ParameterLayout layout;
    private final NDManager manager;
    private final NDArray parameters;
    private final NDArray causalMask;
    private final long[] splitPoints;
    // tensors: multiplying by a Java number creates one per call
    private final NDArray attentionScale;
    private final NDArray dropoutScale;

    private Gpt(GptConfig config, Device device, float[] values) {
        this.config = config;
        this.layout = ParameterLayout.of(config);
        if (values.length != layout.size()) {
            throw new IllegalArgumentException(
                    "expected "
                            + layout.size()
                            + " parameters for "
                            + config
                            + ", got "
                            + values.length);
        }
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        this.parameters = manager.create(values);
        parameters.setRequiresGradient(true);
        this.causalMask = buildCausalMask(manager, config.blockSize());
        this.splitPoints = layout.splitPoints();
        this.attentionScale = manager.create((float) (1.0 / Math.sqrt(config.headSize())));
        this.dropoutScale = manager.create((float) (1.0 / (1.0 - config.dropout())));
    }

    /** A new model initialised as the reference does, from {@code seed}. */
    public static Gpt create(GptConfig config, long seed, Device device) {
        return new Gpt(config, device, ParameterLayout.of(config).initialValues(seed));
    }

    /** A model with the given flat parameter vector (for example from a model file). */
    public static Gpt withParameters(GptConfig config, float[] values, Device device) {
        return new Gpt(config, device, values);
    }

    public GptConfig config() {
        return config;
    }

    public ParameterLayout layout() {
        return layout;
    }

    public NDManager manager() {
        return manager;
    }

    public long parameterCount() {
        return layout.size();
    }

    /** The flat parameter vector itself, for the optimizer. */
    NDArray parameters() {
        return parameters;
    }

    /** A copy of the flat parameter vector. */
    public float[] parameterValues() {
        return parameters.toFloatArray();
    }

    /**
     * Overwrites the flat parameter vector in place; gradients and optimizer state stay attached.
     */
    public void setParameterValues(float[] values) {
        if (values.length != layout.size()) {
            throw new IllegalArgumentException(
                    "expected " + layout.size() + " parameters, got " + values.length);
        }
        try (GradMode off = GradMode.disabled();
                NDArray source = manager.create(values)) {
            parameters.set(new NDIndex(":"), source);
        }
    }

    // ---------------------------------------------------------------- the forward pass

    /** Logits (B, T, vocab) for token ids (B, T), T at most block_size. */
    public NDArray logits(NDArray tokens, boolean training) {
        return forward(weights(), tokens, 0, null, training, false);
    }

    /** Mean cross-entropy of predicting {@code targets} (B, T) from {@code tokens} (B, T). */
    public NDArray loss(NDArray tokens, NDArray targets, boolean training) {
        NDArray logits = logits(tokens, training);
        NDArray logProbs = logits.reshape(-1, config.vocabSize()).logSoftmax(1);
        return logProbs.gather(targets.reshape(-1, 1), 1).mean().neg();
    }

    /** Loss of {@code batch} in evaluation mode (no dropout, no graph), in its own scope. */
    public float evaluate(TokenCorpus.Batch batch) {
        try (NDScope scope = new NDScope();
                GradMode off = GradMode.disabled()) {
            Shape shape = new Shape(batch.batchSize(), batch.blockSize());
            return loss(
                            manager.create(batch.inputs(), shape),
                            manager.create(batch.targets(), shape),
                            false)
                    .getFloat();
        }
    }

    /**
     * The forward pass over tokens (B, t) at positions start..start+t-1. With a cache, keys and
     * values of earlier positions come from it and those of these tokens are appended to it. With
     * {@code lastOnly} the head runs on the last position alone (B, 1, vocab): all that sampling
     * needs.
     */
    NDArray forward(
            Weights w,
            NDArray tokens,
            int start,
            KvCache cache,
            boolean training,
            boolean lastOnly) {
        long t = tokens.getShape().get(1);
        if (start + t > config.blockSize()) {
            throw new IllegalArgumentException(
                    "sequence of "
                            + (start + t)
                            + " positions exceeds block_size "
                            + config.blockSize());
        }
        NDArray tokenEmbeddings =
                ex(tokens).embedding(tokens, w.wte, SparseFormat.DENSE).singletonOrThrow();
        NDArray positions =
                t == 1 ? w.wpe.get(start) : w.wpe.get(new NDIndex().addSliceDim(start, start + t));
        NDArray x = tokenEmbeddings.add(positions);
        for (int layer = 0; layer < config.nLayer(); layer++) {
            Block b = w.blocks.get(layer);
            x =
                    x.add(
                            attention(
                                    layerNorm(x, b.ln1Weight, b.ln1Bias),
                                    b,
                                    layer,
                                    start,
                                    cache,
                                    training));
            x = x.add(mlp(layerNorm(x, b.ln2Weight, b.ln2Bias), b, training));
        }
        if (cache != null) {
            cache.advance(t);
        }
        if (lastOnly && t > 1) {
            x = x.get(new NDIndex().addAllDim().addSliceDim(t - 1, t));
        }
        return linear(layerNorm(x, w.lnFWeight, w.lnFBias), w.headWeight, w.headBias);
    }

    /**
     * Causal multi-head self-attention, all heads in one matmul.
     *
     * <p>Written for the large preset, where the (B, H, t, t) attention tensors dominate: q, k and
     * v come out of one contiguous copy of the projection (matmuls on strided views would copy each
     * of them, forward and backward); q is scaled instead of the scores (B x H x t x head_size
     * values instead of B x H x t x t); the causal mask is added in place; and attention dropout
     * keeps a boolean mask and scales the (B, H, t, head_size) output instead of the weights.
     */
    private NDArray attention(
            NDArray x, Block b, int layer, int start, KvCache cache, boolean training) {
        long batch = x.getShape().get(0);
        long t = x.getShape().get(1);
        int heads = config.nHead();
        int headSize = config.headSize();
        NDArray qkv =
                linear(x, b.attnWeight, null) // (B, t, 3C) -> (3, B, H, t, head_size), contiguous
                        .reshape(batch, t, 3, heads, headSize)
                        .transpose(2, 0, 3, 1, 4)
                        .reshape(3, batch * heads, t, headSize) // the one copy
                        .reshape(3, batch, heads, t, headSize);
        NDArray q = qkv.get(0).mul(attentionScale);
        NDArray k = qkv.get(1);
        NDArray v = qkv.get(2);
        if (cache != null) {
            k = cache.appendKeys(layer, k);
            v = cache.appendValues(layer, v);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // (B, H, t, start+t)
        if (t > 1) { // a single new token may attend to every earlier position: nothing to mask
            long end = start + t;
            // Indices built directly: parsing an NDIndex string costs more than a cached step's
            // matmuls.
            scores.addi(causalMask.get(new NDIndex().addSliceDim(start, end).addSliceDim(0, end)));
        }
        NDArray weights = scores.softmax(-1);
        NDArray y; // (B, H, t, head_size)
        if (dropsOut(training)) {
            y = weights.mul(keepMask(weights.getShape())).matMul(v).muli(dropoutScale);
        } else {
            y = weights.matMul(v);
        }
        y = y.transpose(0, 2, 1, 3).reshape(batch, t, config.nEmbd());
        return dropout(linear(y, b.projWeight, b.projBias), training);
    }

    /** Position-wise feed-forward: 4x wider, ReLU, back to n_embd. */
    private NDArray mlp(NDArray x, Block b, boolean training) {
        NDArray hidden = Activation.relu(linear(x, b.fcWeight, b.fcBias));
        return dropout(linear(hidden, b.mlpProjWeight, b.mlpProjBias), training);
    }

    private static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return ex(x).linear(x, weight, bias).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta) {
        return ex(x).layerNorm(x, new Shape(config.nEmbd()), gamma, beta, LAYER_NORM_EPS)
                .singletonOrThrow();
    }

    private boolean dropsOut(boolean training) {
        return training && config.dropout() > 0;
    }

    /**
     * Inverted dropout as torch's: each value kept with probability 1 - p and scaled by 1 / (1 -
     * p). Drawn as uniform >= p into a boolean mask: libtorch's CPU dropout draws a float Bernoulli
     * tensor, divides it and multiplies (three passes and a float mask kept for backward), and its
     * Bernoulli sampler is slower than its uniform one.
     */
    NDArray dropout(NDArray x, boolean training) {
        if (!dropsOut(training)) {
            return x;
        }
        // mul's backward needs only the mask, so its output may be scaled in place
        return x.mul(keepMask(x.getShape())).muli(dropoutScale);
    }

    /** True with probability 1 - dropout, from libtorch's generator. */
    private NDArray keepMask(Shape shape) {
        NDArray uniform = manager.randomUniform(0f, 1f, shape);
        NDArray keep = uniform.gte((float) config.dropout());
        uniform.close();
        return keep;
    }

    private static NDArrayEx ex(NDArray x) {
        return x.getNDArrayInternal();
    }

    // ---------------------------------------------------------------- parameters as tensors

    /** Named views of the flat vector, shaped; cut once per forward pass. */
    Weights weights() {
        NDList parts = parameters.split(splitPoints, 0);
        List<ParameterLayout.Tensor> tensors = layout.tensors();
        NDArray[] views = new NDArray[tensors.size()];
        for (int i = 0; i < views.length; i++) {
            long[] shape = tensors.get(i).shape();
            views[i] = shape.length == 1 ? parts.get(i) : parts.get(i).reshape(shape);
        }
        return new Weights(views, config.nLayer());
    }

    /** The tensors of one transformer block, in layout order. */
    record Block(
            NDArray ln1Weight,
            NDArray ln1Bias,
            NDArray attnWeight,
            NDArray projWeight,
            NDArray projBias,
            NDArray ln2Weight,
            NDArray ln2Bias,
            NDArray fcWeight,
            NDArray fcBias,
            NDArray mlpProjWeight,
            NDArray mlpProjBias) {}

    /** All tensors of the model, in layout order. */
    static final class Weights implements AutoCloseable {
        private final NDArray[] all;
        final NDArray wte;
        final NDArray wpe;
        final List<Block> blocks;
        final NDArray lnFWeight;
        final NDArray lnFBias;
        final NDArray headWeight;
        final NDArray headBias;

        Weights(NDArray[] v, int layers) {
            all = v;
            wte = v[0];
            wpe = v[1];
            Block[] b = new Block[layers];
            int i = 2;
            for (int l = 0; l < layers; l++, i += 11) {
                b[l] =
                        new Block(
                                v[i], v[i + 1], v[i + 2], v[i + 3], v[i + 4], v[i + 5], v[i + 6],
                                v[i + 7], v[i + 8], v[i + 9], v[i + 10]);
            }
            blocks = List.of(b);
            lnFWeight = v[i];
            lnFBias = v[i + 1];
            headWeight = v[i + 2];
            headBias = v[i + 3];
        }

        /** Keeps the views alive beyond the current scope, until {@link #close()}. */
        void unregisterFromScope() {
            NDScope.unregister(all);
        }

        @Override
        public void close() {
            for (NDArray a : all) {
                a.close();
            }
        }
    }

    /** 0 on and below the diagonal, -inf above: added to attention scores, built once. */
    private static NDArray buildCausalMask(NDManager manager, int block) {
        float[] mask = new float[block * block];
        for (int row = 0; row < block; row++) {
            for (int col = row + 1; col < block; col++) {
                mask[row * block + col] = Float.NEGATIVE_INFINITY;
            }
        }
        return manager.create(mask, new Shape(block, block));
    }

    @Override
    public void close() {
        manager.close();
    }
}
