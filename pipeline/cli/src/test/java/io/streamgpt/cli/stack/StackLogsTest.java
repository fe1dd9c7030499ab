package io.streamgpt.cli.stack;

import io.streamgpt.cli.Paths;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stack service's logs stay under their limit: a real JVM logging through the stack's log4j
 * configuration rolls its log at the size limit and keeps the configured number of files; output
 * outside log4j goes to its own file, rolled when the service starts again.
 */
class StackLogsTest {

    /** 8 KB per file, 2 rolled files: at most 3 x 8 KB (+ one line each) of log. */
    private static final ManagedProcess.LogLimit LIMIT = new ManagedProcess.LogLimit(8 * 1024, 2);

    private static final Path CONFIG =
            Paths.home().resolve("deploy").resolve("flink").resolve("log4j-stack.properties");

    /** Runs {@link LogFlood} as a stack service and waits until it exited. */
    private static void flood(ManagedProcess service, Path runDir, int lines, String printed)
            throws Exception {
        List<String> command =
                new ArrayList<>(
                        List.of(
                                ProcessHandle.current().info().command().orElse("java"),
                                "-Dstreamgpt.stack=" + runDir));
        command.addAll(service.log4jOptions(CONFIG));
        command.addAll(
                List.of(
                        "-cp",
                        System.getProperty("java.class.path"),
                        LogFlood.class.getName(),
                        String.valueOf(lines),
                        printed));
        service.start(command, Map.of());
        ProcessHandle process = service.handle().orElseThrow();
        process.onExit().get(60, TimeUnit.SECONDS);
        service.stop(Duration.ofSeconds(1)); // removes the pid file
    }

    @Test
    void aServiceThatLogsFarPastTheLimitKeepsThreeFilesOfAtMost8Kb(@TempDir Path runDir)
            throws Exception {
        ManagedProcess service = new ManagedProcess("flood", runDir, LIMIT);
        // 2,000 lines of ~150 bytes with the layout: ~300 KB, 37 times the limit
        flood(service, runDir, 2000, "printed to stdout");

        Path log = service.log();
        List<Path> logs;
        try (var files = Files.list(log.getParent())) {
            logs =
                    files.filter(f -> f.getFileName().toString().startsWith("flood.log"))
                            .sorted()
                            .toList();
        }
        assertThat(logs)
                .containsExactly(log, ManagedProcess.rolled(log, 1), ManagedProcess.rolled(log, 2));
        long longestLine = 300;
        for (Path file : logs) {
            assertThat(Files.size(file))
                    .as(file.toString())
                    .isLessThanOrEqualTo(8 * 1024 + longestLine);
        }
        // the newest lines are in the current file, the oldest were dropped
        assertThat(Files.readString(log)).contains("line 1999 ");
        String all = Files.readString(log) + Files.readString(ManagedProcess.rolled(log, 1));
        assertThat(all + Files.readString(ManagedProcess.rolled(log, 2))).doesNotContain("line 0 ");
        // stdout is not in the log but beside it
        assertThat(Files.readString(service.output())).contains("printed to stdout");
        assertThat(Files.readString(log)).doesNotContain("printed to stdout");
    }

    @Test
    void outputOverTheLimitIsRolledWhenTheServiceStartsAgain(@TempDir Path runDir)
            throws Exception {
        ManagedProcess service = new ManagedProcess("flood", runDir, LIMIT);
        Files.createDirectories(service.output().getParent());
        Files.writeString(service.output(), "old output\n".repeat(1000)); // 11 KB > 8 KB
        flood(service, runDir, 1, "new output");

        assertThat(Files.readString(service.output()))
                .contains("new output")
                .doesNotContain("old output");
        assertThat(Files.readString(ManagedProcess.rolled(service.output(), 1)))
                .startsWith("old output");
    }
}
