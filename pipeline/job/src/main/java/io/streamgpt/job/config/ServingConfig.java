package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * The prompt responder.
 *
 * @param promptQueue prompt requests that may wait for the live model; more are answered "queue
 *     full"
 */
public record ServingConfig(int promptQueue) implements Serializable {

    public static final Param<Integer> PROMPT_QUEUE =
            Param.ofInt(
                            "prompt-queue",
                            "Prompt requests that may wait for the live model; more are answered"
                                    + " \"queue full\".",
                            32)
                    .atLeast(1);

    public static final List<Param<?>> PARAMS = List.of(PROMPT_QUEUE);

    public ServingConfig {
        Params.require("serving config", Params.errors(PARAMS, promptQueue));
    }

    public static ServingConfig defaults() {
        return Params.defaults(ServingConfig.class, PARAMS);
    }

    public <T> ServingConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
