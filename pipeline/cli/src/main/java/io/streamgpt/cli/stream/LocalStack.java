package io.streamgpt.cli.stream;

import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.config.JobConfig;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Topics, a fed corpus and the job on a MiniCluster in this JVM: what {@code local} and the
 * benchmarks share.
 */
public final class LocalStack {

    private LocalStack() {}

    /**
     * Creates the job's topics (text topics with one partition) and feeds {@code corpus} (if any)
     * to the first text topic.
     */
    public static long prepareTopics(JobConfig config, Path corpus) throws IOException {
        StreamingTrainerJob.createTopics(config);
        if (config.topics().text().isEmpty() || corpus == null) {
            return 0;
        }
        try (TextFeeder feeder =
                        new TextFeeder(
                                config.kafka().bootstrapServers(),
                                config.topics().text().get(0),
                                4096);
                InputStream in = Files.newInputStream(corpus)) {
            return feeder.feed(in, sent -> {});
        }
    }

    /** Starts the job on a MiniCluster: REST and the Prometheus reporter on 127.0.0.1. */
    public static JobClient startJob(JobConfig config, String prometheusPorts) throws Exception {
        return startJob(config, prometheusPorts, 0);
    }

    /** The same with the REST API on {@code restPort} (0: any free port). */
    public static JobClient startJob(JobConfig config, String prometheusPorts, int restPort)
            throws Exception {
        return startJob(config, prometheusPorts, restPort, new Configuration());
    }

    /** The same with {@code extra} cluster settings (a benchmark's metric reporter). */
    public static JobClient startJob(
            JobConfig config, String prometheusPorts, int restPort, Configuration extra)
            throws Exception {
        Configuration conf = LoopbackCluster.configuration();
        conf.addAll(extra);
        conf.setString("rest.port", String.valueOf(restPort));
        conf.addAll(StreamingTrainerJob.configuration(config));
        conf.setString("taskmanager.numberOfTaskSlots", String.valueOf(config.replicas().count()));
        if (prometheusPorts != null) {
            conf.setString(
                    "metrics.reporter.prom.factory.class",
                    "org.apache.flink.metrics.prometheus.HostPrometheusReporterFactory");
            conf.setString("metrics.reporter.prom.host", "127.0.0.1");
            conf.setString("metrics.reporter.prom.port", prometheusPorts);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(config.replicas().count());
        StreamingTrainerJob.enableCheckpointing(env, config);
        StreamingTrainerJob.build(env, config);
        return env.executeAsync("streamgpt");
    }
}
