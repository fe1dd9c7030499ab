package io.streamgpt.cli;

import io.streamgpt.job.Preflight;
import io.streamgpt.job.config.JobConfig;

import picocli.CommandLine.Option;

import java.time.Duration;

/** How long the checks before a job starts wait for Kafka ({@code local}, {@code submit}). */
public final class PreflightOption {

    @Option(
            names = "--preflight-timeout-ms",
            defaultValue = "5000",
            description =
                    "How long the checks before the job starts wait for Kafka to answer. Default:"
                            + " ${DEFAULT-VALUE}.")
    long timeoutMs;

    /** Kafka answers and an existing model topic suits the job (see {@link Preflight}). */
    public void check(JobConfig config) {
        if (timeoutMs < 1) {
            throw new IllegalArgumentException(
                    "--preflight-timeout-ms must be >= 1, got " + timeoutMs);
        }
        Preflight.check(config, Duration.ofMillis(timeoutMs));
    }
}
