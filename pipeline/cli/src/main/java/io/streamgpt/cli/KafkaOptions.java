package io.streamgpt.cli;

import io.streamgpt.config.Param;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;

import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Where Kafka is, for the commands that talk to a running job through its topics ({@code feed},
 * {@code samples}, {@code generate}, {@code serve}, {@code export}): the job's own Kafka setting
 * ({@code --bootstrap-servers}, also spelt {@code --bootstrap-server} as Kafka's tools do, default
 * {@code $STREAMGPT_BOOTSTRAP_SERVERS}), plus the topics a command names.
 */
public class KafkaOptions extends ParamOptions {

    public KafkaOptions() {
        super("Kafka", KafkaConfig.BOOTSTRAP_SERVERS);
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

    /** The bootstrap servers the command line or the environment gave, else the default. */
    public static String bootstrapServers(CommandSpec spec) {
        return value(spec, KafkaConfig.BOOTSTRAP_SERVERS);
    }
}
