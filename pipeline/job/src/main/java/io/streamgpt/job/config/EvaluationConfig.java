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
 * @param valData a UTF-8 text file, read by the evaluator, whose {@code valDataSplit} is the fixed
 *     held-out set of {@code val_data} loss records; empty for none
 * @param valDataSplit which part of {@code valData}: the reference's last 10% (VAL), its first 90%
 *     (TRAIN) or all of it
 * @param prequentialEvery each replica scores one window in this many it receives with the global
 *     version it holds, before buffering it (test-then-train); 0 is off
 */
public record EvaluationConfig(
        int interval,
        int iters,
        int sampleInterval,
        int sampleTokens,
        String valData,
        HeldOutSplit valDataSplit,
        int prequentialEvery)
        implements Serializable {

    /** The part of the {@code --val-data} file that is held out. */
    public enum HeldOutSplit {
        VAL,
        TRAIN,
        ALL
    }

    public static final Param<Integer> INTERVAL =
            Param.ofInt("eval-interval", "Steps between loss records.", 100).atLeast(1);
    public static final Param<Integer> ITERS =
            Param.ofInt("eval-iters", "Held-out batches per validation loss.", 20).atLeast(1);
    public static final Param<Integer> SAMPLE_INTERVAL =
            Param.ofInt("sample-interval", "Steps between samples.", 500).atLeast(1);
    public static final Param<Integer> SAMPLE_TOKENS =
            Param.ofInt("sample-tokens", "Tokens per sample; 0 writes none.", 200).atLeast(0);

    public static final Param<String> VAL_DATA =
            Param.ofString(
                    "val-data",
                    "UTF-8 text file (read where the evaluator runs) whose --val-data-split is a"
                            + " fixed held-out set: every loss record is joined by a val_data"
                            + " record, the reference's estimate_loss over --eval-iters batches"
                            + " drawn from the training seed; empty for none.",
                    "");
    public static final Param<HeldOutSplit> VAL_DATA_SPLIT =
            Param.ofEnum(
                    "val-data-split",
                    "Part of --val-data held out: VAL (its last 10%, the reference's val split),"
                            + " TRAIN (its first 90%) or ALL.",
                    HeldOutSplit.class,
                    HeldOutSplit.ALL);
    public static final Param<Integer> PREQUENTIAL_EVERY =
            Param.ofInt(
                            "prequential-every",
                            "Test-then-train: each replica scores one window in this many"
                                    + " with the global version it holds before buffering it;"
                                    + " one prequential record per version; 0 is off. The"
                                    + " default costs about 2% of tokens/s (1 in 10: 8.5-9.5%,"
                                    + " docs/evaluation.md).",
                            40)
                    .atLeast(0);

    public static final List<Param<?>> PARAMS =
            List.of(
                    INTERVAL,
                    ITERS,
                    SAMPLE_INTERVAL,
                    SAMPLE_TOKENS,
                    VAL_DATA,
                    VAL_DATA_SPLIT,
                    PREQUENTIAL_EVERY);

    public EvaluationConfig {
        Params.require(
                "evaluation config",
                Params.errors(
                        PARAMS,
                        interval,
                        iters,
                        sampleInterval,
                        sampleTokens,
                        valData,
                        valDataSplit,
                        prequentialEvery));
    }

    public static EvaluationConfig defaults() {
        return Params.defaults(EvaluationConfig.class, PARAMS);
    }

    public <T> EvaluationConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
