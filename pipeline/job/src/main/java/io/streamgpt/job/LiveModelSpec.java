package io.streamgpt.job;

import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.Vocabulary;

import java.io.Serializable;
import java.util.OptionalInt;

/**
 * What the readers of the model topic (the evaluator and the prompt responder) need to rebuild and
 * run the live model: its shape and vocabulary, how its vector is chunked (and in how many streamed
 * fragments its rounds come), and the libtorch threads to run it on.
 */
public record LiveModelSpec(
        GptConfig shape, Vocabulary vocabulary, int chunkSize, int threads, int fragments)
        implements Serializable {

    /** Rounds of the whole vector (no streamed fragments). */
    public LiveModelSpec(GptConfig shape, Vocabulary vocabulary, int chunkSize, int threads) {
        this(shape, vocabulary, chunkSize, threads, 1);
    }

    /** Values of the flat parameter vector. */
    public int parameters() {
        return Math.toIntExact(ParameterLayout.of(shape).size());
    }

    /** libtorch set up for this reader, on the first device. */
    public ModelHost host() {
        return ModelHost.forReplica(threads, 0, OptionalInt.empty());
    }
}
