package io.streamgpt.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One run of the {@code streamgpt} command line in this JVM, as the launcher runs it ({@link
 * StreamGpt#run}): the exit code and what it printed. The one runner of the cli tests.
 */
public record CliRun(int exit, String out, String err) {

    public static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = StreamGpt.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    public static CliRun of(List<String> args) {
        return of(args.toArray(String[]::new));
    }

    /** What it printed on stdout; the test fails, showing stderr, unless it exited 0. */
    public String successfulOut() {
        assertThat(exit).as(err).isZero();
        return out;
    }

    /** The one line on stderr, without its "streamgpt: " prefix. */
    public String line() {
        assertThat(err).as("one line on stderr").startsWith("streamgpt: ");
        assertThat(err.strip()).as("one line on stderr").doesNotContain("\n");
        return err.strip().substring("streamgpt: ".length());
    }
}
