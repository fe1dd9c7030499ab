package io.streamgpt.cli;

import io.streamgpt.cli.bench.BenchCommand;
import io.streamgpt.cli.cluster.AclsCommand;
import io.streamgpt.cli.cluster.JobsCommand;
import io.streamgpt.cli.cluster.SubmitCommand;
import io.streamgpt.cli.model.EvalCommand;
import io.streamgpt.cli.model.ExportCommand;
import io.streamgpt.cli.model.GenerateCommand;
import io.streamgpt.cli.model.ImportCommand;
import io.streamgpt.cli.model.TrainCommand;
import io.streamgpt.cli.serve.ServeCommand;
import io.streamgpt.cli.stack.StackCommand;
import io.streamgpt.cli.stream.FeedCommand;
import io.streamgpt.cli.stream.LocalCommand;
import io.streamgpt.cli.stream.LossesCommand;
import io.streamgpt.cli.stream.SamplesCommand;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code streamgpt} command line: one entry point, a subcommand per use. */
@Command(
        name = "streamgpt",
        mixinStandardHelpOptions = true,
        version = "streamgpt 0.1.0",
        description = "Train a character-level GPT, online on text streams or on a bounded corpus.",
        subcommands = {
            LocalCommand.class,
            StackCommand.class,
            SubmitCommand.class,
            AclsCommand.class,
            JobsCommand.List_.class,
            JobsCommand.Stop.class,
            JobsCommand.Cancel.class,
            FeedCommand.class,
            SamplesCommand.class,
            LossesCommand.class,
            GenerateCommand.class,
            ExportCommand.class,
            ImportCommand.class,
            ServeCommand.class,
            TrainCommand.class,
            EvalCommand.class,
            BenchCommand.class,
            ConfigReference.class
        })
public final class StreamGpt implements Runnable {

    /** Exit code of invalid options and configs, before any work starts. */
    static final int EXIT_USAGE = 2;

    /**
     * Exit code of a failure of the work: a {@link CommandFailure}, an unreachable service, a
     * runtime state (see {@link Failures}).
     */
    static final int EXIT_FAILURE = 1;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Read from the parse result by {@link Failures}; here so that every command takes it. */
    @CommandLine.Option(
            names = "--verbose",
            scope = CommandLine.ScopeType.INHERIT,
            description = "On a failure, print its stack trace too.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line on the process's streams and returns its exit code. */
    public static int run(String... args) {
        return run(
                new java.io.PrintWriter(System.out, true),
                new java.io.PrintWriter(System.err, true),
                args);
    }

    /** Runs the command line with the given output and error writers (for tests). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        return new CommandLine(new StreamGpt())
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler(Failures::report)
                .execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
