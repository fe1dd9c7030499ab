package io.streamgpt.cli.cluster;

import io.streamgpt.cli.CommandFailure;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code jobs}, {@code stop} and {@code cancel}: the jobs of a Flink cluster through its REST API.
 */
public final class JobsCommand {

    private JobsCommand() {}

    static final class ClusterOption {
        @Option(
                names = "--flink",
                defaultValue = "http://127.0.0.1:8081",
                description = "Flink REST API. Default: ${DEFAULT-VALUE}.")
        String flink;

        /** The given job, else the one running streamgpt job. */
        String jobOrOnlyRunning(FlinkRest rest, String jobId) throws IOException {
            if (jobId != null) {
                return jobId;
            }
            List<FlinkRest.Job> running =
                    rest.jobs().stream()
                            .filter(
                                    j ->
                                            j.name().equals("streamgpt")
                                                    && j.state().equals("RUNNING"))
                            .toList();
            if (running.size() != 1) { // a state of the cluster, not of the options: exit 1
                throw new CommandFailure(
                        running.isEmpty()
                                ? "no streamgpt job is running on " + flink
                                : running.size()
                                        + " streamgpt jobs are running on "
                                        + flink
                                        + ": name one (`streamgpt jobs`)");
            }
            return running.get(0).id();
        }
    }

    @Command(
            name = "jobs",
            mixinStandardHelpOptions = true,
            description = "List the jobs of the Flink cluster.")
    public static final class List_ implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Mixin ClusterOption cluster;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            FlinkRest rest = new FlinkRest(cluster.flink);
            for (FlinkRest.Job job : rest.jobs()) {
                out.printf(
                        "%s  %-10s %-12s started %s  %s%n",
                        job.id(),
                        job.state(),
                        job.name(),
                        Instant.ofEpochMilli(job.startTime()),
                        rest.jobPage(job.id()));
            }
            out.flush();
            return 0;
        }
    }

    @Command(
            name = "stop",
            mixinStandardHelpOptions = true,
            description = "Stop a job with a savepoint; `submit --from-savepoint` resumes it.")
    public static final class Stop implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Mixin ClusterOption cluster;

        @Parameters(
                arity = "0..1",
                description = "Job id (default: the one running streamgpt job).")
        String jobId;

        @Option(
                names = "--savepoint",
                description =
                        "Savepoint directory (default: the cluster's"
                                + " execution.checkpointing.savepoint-dir).")
        String savepointDir;

        @Option(
                names = "--timeout",
                defaultValue = "300",
                description = "Seconds to wait for the savepoint. Default: ${DEFAULT-VALUE}.")
        long timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            FlinkRest rest = new FlinkRest(cluster.flink);
            String job = cluster.jobOrOnlyRunning(rest, jobId);
            String savepoint =
                    rest.stopWithSavepoint(
                            job,
                            savepointDir == null ? null : SubmitCommand.uri(savepointDir),
                            Duration.ofSeconds(timeoutSeconds));
            spec.commandLine().getOut().println("job " + job + " stopped; savepoint " + savepoint);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(
            name = "cancel",
            mixinStandardHelpOptions = true,
            description = "Cancel a job (no savepoint).")
    public static final class Cancel implements Callable<Integer> {
        @Spec CommandSpec spec;

        @Mixin ClusterOption cluster;

        @Parameters(
                arity = "0..1",
                description = "Job id (default: the one running streamgpt job).")
        String jobId;

        @Override
        public Integer call() throws Exception {
            FlinkRest rest = new FlinkRest(cluster.flink);
            String job = cluster.jobOrOnlyRunning(rest, jobId);
            rest.cancel(job);
            spec.commandLine().getOut().println("job " + job + " cancelled");
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
