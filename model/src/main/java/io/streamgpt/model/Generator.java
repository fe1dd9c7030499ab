package io.streamgpt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation from a {@link Gpt}.
 *
 * <p>Without the KV cache every token re-runs the model over the last block_size tokens, as the
 * reference does. With it, each token costs one position: keys and values of earlier positions are
 * reused. Learned absolute position embeddings mean a window cannot slide one token at a time, so
 * when the cached window is full it restarts from the last block_size/2 tokens (one batched
 * prefill) and grows again; the logits of every step equal a full recomputation over the same
 * window. Within block_size the two paths see exactly the same context.
 */
public final class Generator {

    private final Gpt model;

    public Generator(Gpt model) {
        this.model = model;
    }

    /** Generates {@code count} tokens after {@code prompt}; an empty prompt starts from token 0. */
    public int[] generate(int[] prompt, int count, Sampler sampler, boolean kvCache) {
        return generate(prompt, count, sampler, kvCache, token -> {});
    }

    /**
     * As {@link #generate(int[], int, Sampler, boolean)}, handing each token to {@code onToken}.
     */
    public int[] generate(
            int[] prompt, int count, Sampler sampler, boolean kvCache, IntConsumer onToken) {
        int[] out = new int[count];
        try (Session session = open(prompt, kvCache)) {
            for (int i = 0; i < count; i++) {
                out[i] = sampler.sample(session.nextLogits());
                session.append(out[i]);
                onToken.accept(out[i]);
            }
        }
        return out;
    }

    /** A generation in progress: its context, and the cache if it uses one. */
    public Session open(int[] prompt, boolean kvCache) {
        return new Session(prompt.length == 0 ? new int[] {0} : prompt, kvCache);
    }

    /** Token-by-token access to a generation, for callers that pick tokens themselves. */
    public final class Session implements AutoCloseable {
        private final int blockSize = model.config().blockSize();
        private final KvCache cache;
        private final Gpt.Weights weights;
        private int[] context;
        private int size;
        private int windowStart;
        private int windowEnd;

        private Session(int[] prompt, boolean kvCache) {
            context = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
            size = prompt.length;
            cache = kvCache ? new KvCache(model.config().nLayer()) : null;
            try (NDScope scope = new NDScope();
                    GradMode off = GradMode.disabled()) {
                weights = model.weights(); // views of the parameters, cut once per generation
                weights.unregisterFromScope();
            }
        }

        /** Appends a token to the context. */
        public void append(int token) {
            if (size == context.length) {
                context = Arrays.copyOf(context, size * 2);
            }
            context[size++] = token;
        }

        /** The tokens that the last {@link #nextLogits()} was conditioned on. */
        public int[] lastWindow() {
            return Arrays.copyOfRange(context, windowStart, windowEnd);
        }

        /** Logits over the vocabulary for the token after the current context. */
        public float[] nextLogits() {
            windowEnd = size;
            try (NDScope scope = new NDScope();
                    GradMode off = GradMode.disabled()) {
                if (cache == null) {
                    windowStart = Math.max(0, size - blockSize);
                    return lastLogits(
                            model.forward(
                                    weights, tokens(windowStart, size), 0, null, false, true));
                }
                if (size - windowStart > blockSize) { // the window is full: restart it
                    boolean first = cache.length() == 0;
                    cache.close();
                    windowStart = size - (first ? blockSize : Math.max(1, blockSize / 2));
                }
                int fed = windowStart + cache.length();
                return lastLogits(
                        model.forward(
                                weights, tokens(fed, size), cache.length(), cache, false, true));
            }
        }

        private NDArray tokens(int from, int to) {
            long[] ids = new long[to - from];
            for (int i = from; i < to; i++) {
                ids[i - from] = context[i];
            }
            return model.manager().create(ids, new Shape(1, ids.length));
        }

        private float[] lastLogits(NDArray logits) {
            return logits.toFloatArray(); // (1, 1, vocab)
        }

        @Override
        public void close() {
            if (cache != null) {
                cache.close();
            }
            weights.close();
        }
    }
}
