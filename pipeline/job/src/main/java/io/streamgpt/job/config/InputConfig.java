package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * How text records become training windows.
 *
 * @param vocabulary {@code shakespeare}, {@code bytes} or the path of a corpus file, fixed for the
 *     job's life
 * @param maxRecordBytes text records larger than this are not trained on but dead-lettered
 * @param stride tokens between window starts; 0 means block_size (consecutive windows share one
 *     token)
 * @param runWindows consecutive windows of a partition that go to the same replica
 */
public record InputConfig(String vocabulary, int maxRecordBytes, int stride, int runWindows)
        implements Serializable {

    public static final Param<String> VOCABULARY =
            Param.ofString(
                            "vocab",
                            "Vocabulary, fixed for the job's life: shakespeare (65 characters),"
                                    + " bytes (any UTF-8), or a corpus file.",
                            "shakespeare")
                    .mustBe(s -> !s.isBlank(), "non-empty");
    public static final Param<Integer> MAX_RECORD_BYTES =
            Param.ofInt(
                            "max-record-bytes",
                            "Text records above this size are dead-lettered, not trained on.",
                            1 << 20)
                    .atLeast(1);
    public static final Param<Integer> STRIDE =
            Param.ofInt(
                            "stride",
                            "Tokens between window starts; 0 is block_size (consecutive windows"
                                    + " share one token).",
                            0)
                    .atLeast(0);
    public static final Param<Integer> RUN_WINDOWS =
            Param.ofInt("run-windows", "Consecutive windows sent to the same replica.", 64)
                    .atLeast(1);

    public static final List<Param<?>> PARAMS =
            List.of(VOCABULARY, MAX_RECORD_BYTES, STRIDE, RUN_WINDOWS);

    public InputConfig {
        Params.require(
                "input config",
                Params.errors(PARAMS, vocabulary, maxRecordBytes, stride, runWindows));
    }

    public static InputConfig defaults() {
        return Params.defaults(InputConfig.class, PARAMS);
    }

    public <T> InputConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
