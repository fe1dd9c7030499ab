package io.streamgpt.cli.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One service of the stack as an operating-system process: started detached (it outlives the
 * command that started it), its pid in {@code <run dir>/<name>.pid}, its log in {@code <run
 * dir>/logs/<name>.log}. Only a process whose pid file this stack wrote, and whose command line
 * still names the run directory, counts as ours: a recycled pid is not stopped.
 *
 * <p>Logs stay bounded ({@link LogLimit}): a Java service logs through log4j's rolling appender
 * ({@link #log4jOptions}) into {@code <name>.log}, rolled at the limit while it runs, and its
 * stdout/stderr (the JVM's own messages) goes to {@code <name>.out}; any other service's output
 * goes to {@code <name>.log}. Every file over the limit is rolled when the service starts. Rolled
 * files are {@code <name>.log.1} (newest) to {@code <name>.log.N}.
 */
public final class ManagedProcess {

    /**
     * How large a log grows before it is rolled, and how many rolled files are kept: a service's
     * logs take at most {@code (backups + 1) x maxBytes} per file kind, plus one line.
     */
    public record LogLimit(long maxBytes, int backups) {
        /** 10 MB, 4 rolled files: at most 50 MB of log per service. */
        public static final LogLimit DEFAULT = new LogLimit(10L << 20, 4);

        public LogLimit {
            if (maxBytes < 1024 || backups < 1) {
                throw new IllegalArgumentException(
                        "a log limit needs >= 1 KB and >= 1 rolled file, got "
                                + maxBytes
                                + " bytes, "
                                + backups);
            }
        }
    }

    private static final String START_MARKER = "--- streamgpt stack: starting ";
    private static final java.util.regex.Pattern EXCEPTION_LINE =
            java.util.regex.Pattern.compile(
                    "(Caused by: )?([\\w$]+\\.)+[\\w$]*(Exception|Error)(: .*)?");

    private final String name;
    private final Path runDir;
    private final LogLimit logLimit;

    ManagedProcess(String name, Path runDir) {
        this(name, runDir, LogLimit.DEFAULT);
    }

    ManagedProcess(String name, Path runDir, LogLimit logLimit) {
        this.name = name;
        this.runDir = runDir;
        this.logLimit = logLimit;
    }

    String name() {
        return name;
    }

    Path log() {
        return runDir.resolve("logs").resolve(name + ".log");
    }

    /** stdout and stderr of a service that writes {@link #log()} itself. */
    Path output() {
        return runDir.resolve("logs").resolve(name + ".out");
    }

    /**
     * The JVM options that make a Java service log into {@link #log()} through the rolling appender
     * of {@code config} ({@code deploy/flink/log4j-stack.properties}), within the limit.
     */
    List<String> log4jOptions(Path config) {
        return List.of(
                "-Dlog4j.configurationFile=" + config,
                "-Dstreamgpt.log.file=" + log(),
                "-Dstreamgpt.log.max-size=" + logLimit.maxBytes() + "B",
                "-Dstreamgpt.log.backups=" + logLimit.backups());
    }

    /**
     * Rolls {@code file} if it is over the limit: {@code file.N-1} to {@code file.N}, ..., {@code
     * file} to {@code file.1}; the oldest beyond the limit is deleted. log4j's rolling appender
     * ({@code fileIndex = min}) names its files the same way.
     */
    void rollIfOverLimit(Path file) throws IOException {
        if (!Files.exists(file) || Files.size(file) <= logLimit.maxBytes()) {
            return;
        }
        Files.deleteIfExists(rolled(file, logLimit.backups()));
        for (int i = logLimit.backups() - 1; i >= 1; i--) {
            if (Files.exists(rolled(file, i))) {
                Files.move(rolled(file, i), rolled(file, i + 1));
            }
        }
        Files.move(file, rolled(file, 1));
    }

    static Path rolled(Path file, int index) {
        return file.resolveSibling(file.getFileName() + "." + index);
    }

    private Path pidFile() {
        return runDir.resolve(name + ".pid");
    }

    /** The running process this stack started, if any. */
    Optional<ProcessHandle> handle() {
        try {
            if (!Files.exists(pidFile())) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile()).trim());
            return ProcessHandle.of(pid)
                    .filter(ProcessHandle::isAlive)
                    .filter(p -> commandLine(p).contains(runDir.toString()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * /proc's full command line: ProcessHandle.Info gives none for command lines as long as a
     * classpath.
     */
    private static String commandLine(ProcessHandle process) {
        try {
            return Files.readString(Path.of("/proc", String.valueOf(process.pid()), "cmdline"))
                    .replace('\0', ' ');
        } catch (IOException e) {
            return process.info().commandLine().orElse("");
        }
    }

    boolean running() {
        return handle().isPresent();
    }

    /**
     * Starts {@code command}, which must name the run directory somewhere (see the class comment).
     */
    void start(List<String> command, Map<String, String> environment) throws IOException {
        if (command.stream().noneMatch(arg -> arg.contains(runDir.toString()))) {
            throw new IllegalArgumentException(
                    "command of " + name + " does not name the run directory " + runDir);
        }
        // a service given log4jOptions writes log() itself (and rolls it); its output goes aside
        boolean writesOwnLog = command.contains("-Dstreamgpt.log.file=" + log());
        Path output = writesOwnLog ? output() : log();
        Files.createDirectories(log().getParent());
        for (Path file : writesOwnLog ? List.of(log(), output()) : List.of(log())) {
            rollIfOverLimit(file);
            Files.writeString(
                    file,
                    START_MARKER + name + " at " + java.time.Instant.now() + " ---\n",
                    java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        }
        ProcessBuilder builder =
                new ProcessBuilder(command)
                        .directory(runDir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(environment);
        Process process = builder.start();
        Files.writeString(pidFile(), process.pid() + "\n");
        // Until the child has exec'd, its command line is the spawn helper's: wait for ours.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (process.isAlive()
                && !commandLine(process.toHandle()).contains(runDir.toString())
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting " + name, e);
            }
        }
    }

    /**
     * The last exception or ERROR line the log has since the latest start, for a one-line report of
     * a service that exited while starting.
     */
    Optional<String> lastError() {
        return lastError(log()).or(() -> lastError(output()));
    }

    private static Optional<String> lastError(Path log) {
        try {
            if (!Files.exists(log)) {
                return Optional.empty();
            }
            String text;
            try (var file = new java.io.RandomAccessFile(log.toFile(), "r")) {
                long from = Math.max(0, file.length() - 256 * 1024);
                byte[] tail = new byte[(int) (file.length() - from)];
                file.seek(from);
                file.readFully(tail);
                text = new String(tail, java.nio.charset.StandardCharsets.UTF_8);
            }
            int marker = text.lastIndexOf(START_MARKER);
            List<String> lines = List.of((marker < 0 ? text : text.substring(marker)).split("\n"));
            Optional<String> found = Optional.empty();
            for (String line : lines) {
                String trimmed = line.strip();
                if (EXCEPTION_LINE.matcher(trimmed).matches()) {
                    found = Optional.of(trimmed); // the last one: the root cause of a trace
                } else if (found.isEmpty() && trimmed.contains(" ERROR ")) {
                    found = Optional.of(trimmed);
                }
            }
            return found.map(line -> line.length() > 300 ? line.substring(0, 300) + "..." : line);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Stops the process (TERM, then KILL after {@code grace}) and its children; returns whether one
     * ran.
     */
    boolean stop(Duration grace) throws IOException {
        Optional<ProcessHandle> handle = handle();
        if (handle.isPresent()) {
            ProcessHandle process = handle.get();
            List<ProcessHandle> children = process.descendants().toList();
            process.destroy();
            try {
                process.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception timedOut) {
                process.destroyForcibly();
                process.onExit().join();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        }
        Files.deleteIfExists(pidFile());
        return handle.isPresent();
    }
}
