package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.connectors.kafka.KafkaClientSettings;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the job's Kafka is and how its clients connect: every client of the job and of every
 * command is made from {@link #clientSettings()}.
 *
 * @param bootstrapServers Kafka bootstrap servers, host:port[,host:port...]
 * @param configFile a Kafka client properties file (security settings, secrets), read where each
 *     client is made: on the cluster for the job, so the path is the cluster's; null for none
 * @param properties extra Kafka client properties; secrets belong in the file, or as
 *     config-provider placeholders
 */
public record KafkaConfig(
        String bootstrapServers, String configFile, Map<String, String> properties)
        implements Serializable {

    public static final Param<String> BOOTSTRAP_SERVERS =
            Param.ofString("bootstrap-servers", "Kafka bootstrap servers.", "127.0.0.1:9092")
                    .mustBe(s -> !s.isBlank(), "non-empty")
                    .alias("--bootstrap-server") // as Kafka's own tools spell it
                    .environmentVariable("STREAMGPT_BOOTSTRAP_SERVERS");

    public static final Param<String> CONFIG_FILE =
            Param.ofString(
                            "kafka-config",
                            "A Kafka client properties file for every Kafka client (security"
                                    + " protocol, SASL, TLS), as --command-config of Kafka's"
                                    + " tools. It is read where each client is made, so a"
                                    + " submitted job reads it on the cluster; its secrets reach"
                                    + " clients as config-provider placeholders, never as job"
                                    + " arguments. See docs/security.md.",
                            null)
                    .environmentVariable("STREAMGPT_KAFKA_CONFIG");

    public static final Param<Map<String, String>> PROPERTIES =
            Param.ofProperties(
                            "kafka-property",
                            "A Kafka client property key=value for every Kafka client, after"
                                    + " --kafka-config; repeatable. Secret values belong in"
                                    + " --kafka-config or a config-provider placeholder:"
                                    + " submit refuses them inline.")
                    .mustBe(
                            map -> map.keySet().stream().noneMatch(String::isBlank),
                            "key=value with a key")
                    .describedBy(KafkaClientSettings::shown);

    public static final List<Param<?>> PARAMS = List.of(BOOTSTRAP_SERVERS, CONFIG_FILE, PROPERTIES);

    public KafkaConfig {
        properties = properties == null ? Map.of() : properties;
        List<String> errors =
                new ArrayList<>(Params.errors(PARAMS, bootstrapServers, configFile, properties));
        if (properties.containsKey("bootstrap.servers")) {
            errors.add("give the bootstrap servers as --bootstrap-servers, not as a property");
        }
        Params.require("Kafka config", errors);
        properties = new KafkaClientSettings(bootstrapServers, configFile, properties).properties();
    }

    public static KafkaConfig defaults() {
        return Params.defaults(KafkaConfig.class, PARAMS);
    }

    public <T> KafkaConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    /** What every Kafka client of the job is made from. */
    public KafkaClientSettings clientSettings() {
        return new KafkaClientSettings(bootstrapServers, configFile, properties);
    }

    /** These settings for another client's settings (e.g. a broker a command started). */
    public static KafkaConfig of(KafkaClientSettings settings) {
        return new KafkaConfig(
                settings.bootstrapServers(), settings.configFile(), settings.properties());
    }
}
