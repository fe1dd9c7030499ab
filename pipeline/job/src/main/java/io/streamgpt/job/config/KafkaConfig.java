package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * Where the job's Kafka is.
 *
 * @param bootstrapServers Kafka bootstrap servers, host:port[,host:port...]
 */
public record KafkaConfig(String bootstrapServers) implements Serializable {

    public static final Param<String> BOOTSTRAP_SERVERS =
            Param.ofString("bootstrap-servers", "Kafka bootstrap servers.", "127.0.0.1:9092")
                    .mustBe(s -> !s.isBlank(), "non-empty")
                    .alias("--bootstrap-server") // as Kafka's own tools spell it
                    .environmentVariable("STREAMGPT_BOOTSTRAP_SERVERS");

    public static final List<Param<?>> PARAMS = List.of(BOOTSTRAP_SERVERS);

    public KafkaConfig {
        Params.require("Kafka config", Params.errors(PARAMS, bootstrapServers));
    }

    public static KafkaConfig defaults() {
        return Params.defaults(KafkaConfig.class, PARAMS);
    }

    public <T> KafkaConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
