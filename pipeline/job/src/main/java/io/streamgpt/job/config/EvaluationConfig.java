package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * When the evaluator reports: loss records and generated samples, by global step.
 *
 * @param interval steps between loss records
 * @param iters batches of held-out windows per validation loss
 * @param sampleInterval steps between generated samples
 * @param sampleTokens tokens per sample; 0 writes no samples
 */
public record EvaluationConfig(int interval, int iters, int sampleInterval, int sampleTokens)
        implements Serializable {

    public static final Param<Integer> INTERVAL =
            Param.ofInt("eval-interval", "Steps between loss records.", 100).atLeast(1);
    public static final Param<Integer> ITERS =
            Param.ofInt("eval-iters", "Held-out batches per validation loss.", 20).atLeast(1);
    public static final Param<Integer> SAMPLE_INTERVAL =
            Param.ofInt("sample-interval", "Steps between samples.", 500).atLeast(1);
    public static final Param<Integer> SAMPLE_TOKENS =
            Param.ofInt("sample-tokens", "Tokens per sample; 0 writes none.", 200).atLeast(0);

    public static final List<Param<?>> PARAMS =
            List.of(INTERVAL, ITERS, SAMPLE_INTERVAL, SAMPLE_TOKENS);

    public EvaluationConfig {
        Params.require(
                "evaluation config",
                Params.errors(PARAMS, interval, iters, sampleInterval, sampleTokens));
    }

    public static EvaluationConfig defaults() {
        return Params.defaults(EvaluationConfig.class, PARAMS);
    }

    public <T> EvaluationConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
