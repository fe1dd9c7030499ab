package io.streamgpt.job;

import io.streamgpt.connectors.chunks.ModelSecret;
import io.streamgpt.job.config.JobConfig;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The job jar's entry point: what a Flink cluster runs when {@code streamgpt submit} asks it to,
 * with the {@code --NAME=VALUE} arguments of {@link JobConfig#toArguments} that the submit command
 * validated. It runs inside the JobManager, so it never calls {@code System.exit}: bad arguments
 * are exceptions that the REST call reports.
 */
public final class JobMain {

    private JobMain() {}

    public static void main(String[] args) throws Exception {
        JobConfig config = JobConfig.fromArguments(args);
        System.out.print(config.describe());
        // fail the submission, not every task at open, when the cluster lacks the model loop's key
        ModelSecret.read(config.topics().modelSecret());
        // readers of the model topic (export, the HTTP API's users) rebuild the model from this;
        // submit published it too, but a deployment manifest runs this class directly
        JobModelMetadata.ensureTopicAndPublish(config);
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(
                        StreamingTrainerJob.configuration(config));
        env.setParallelism(config.replicas().count());
        StreamingTrainerJob.enableCheckpointing(env, config);
        StreamingTrainerJob.build(env, config);
        env.execute("streamgpt");
    }
}
