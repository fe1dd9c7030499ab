package io.streamgpt.cli;

import io.streamgpt.job.config.JobConfig;

import picocli.CommandLine.Model.CommandSpec;

import java.util.Map;

/**
 * Every setting of the streaming job as options, section by section: what {@code local}, {@code
 * submit} and {@code bench soak} take.
 */
public final class JobOptions extends ParamOptions {

    public JobOptions() {
        super(JobConfig.SECTIONS);
    }

    /** The job settings the command line gave, by name. */
    public static Map<String, String> arguments(CommandSpec spec) {
        return arguments(spec, jobParams());
    }

    /** The job as the command line says, every other setting at its default; checked. */
    public static JobConfig config(CommandSpec spec) {
        return JobConfig.parse(arguments(spec));
    }
}
