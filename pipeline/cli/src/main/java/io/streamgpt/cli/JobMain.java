package io.streamgpt.cli;

import io.streamgpt.job.JobConfig;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The job jar's entry point: what a Flink cluster runs when {@code streamgpt submit} asks it to,
 * with the job options the submit command validated. It runs inside the JobManager, so it never
 * calls {@code System.exit}: bad options are exceptions that the REST call reports.
 */
@Command(
        name = "streamgpt-job",
        description = "The streaming trainer, as submitted to a Flink cluster.")
public final class JobMain {

    @Mixin JobOptions job;

    public static void main(String[] args) throws Exception {
        JobMain main = new JobMain();
        new CommandLine(main).parseArgs(args);
        main.run();
    }

    private void run() throws Exception {
        Vocabulary vocabulary = job.vocabulary();
        JobConfig config = job.toConfig(vocabulary);
        System.out.print(config.describe());
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        StreamingTrainerJob.configuration(config));
        env.setParallelism(config.replicas());
        StreamingTrainerJob.enableCheckpointing(env, config);
        StreamingTrainerJob.build(env, config, vocabulary);
        env.execute("streamgpt");
    }
}
