package io.streamgpt.cli;

import io.streamgpt.config.Param;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;

import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Where Kafka is, for the commands that talk to a running job through its topics ({@code feed},
 * {@code samples}, {@code generate}, {@code serve}, {@code export}): the job's own Kafka setting
 * ({@code --bootstrap-servers}, also spelt {@code --bootstrap-server} as Kafka's tools do, default
 * {@code $STREAMGPT_BOOTSTRAP_SERVERS}; {@code --kafka-config FILE}, default {@code
 * $STREAMGPT_KAFKA_CONFIG}; {@code --kafka-property k=v}), plus the topics a command names.
 */
public class KafkaOptions extends ParamOptions {

    public KafkaOptions() {
        super("Kafka", KafkaConfig.PARAMS.toArray(Param<?>[]::new));
    }

    /** Kafka and the given topic settings of the job. */
    protected KafkaOptions(Param<?>... topics) {
        super(sections(topics));
    }

    private static List<JobConfig.Section> sections(Param<?>... topics) {
        List<JobConfig.Section> sections = new ArrayList<>();
        sections.add(new JobConfig.Section("Kafka", KafkaConfig.PARAMS));
        sections.add(new JobConfig.Section("Topics", List.of(topics)));
        return sections;
    }

    /**
     * What the command's Kafka clients are made from: the bootstrap servers, client config file and
     * properties the command line or the environment gave, else the defaults; checked.
     */
    public static KafkaClientSettings settings(CommandSpec spec) {
        return config(spec).clientSettings();
    }

    /** The Kafka section as the command line or the environment gives it. */
    public static KafkaConfig config(CommandSpec spec) {
        return JobConfig.parse(arguments(spec, KafkaConfig.PARAMS)).kafka();
    }
}
