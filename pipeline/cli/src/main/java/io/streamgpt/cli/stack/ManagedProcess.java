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
 * command that started it), its pid in {@code <run dir>/<name>.pid}, its output appended to {@code
 * <run dir>/logs/<name>.log}. Only a process whose pid file this stack wrote, and whose command
 * line still names the run directory, counts as ours: a recycled pid is not stopped.
 */
public final class ManagedProcess {

    private final String name;
    private final Path runDir;

    ManagedProcess(String name, Path runDir) {
        this.name = name;
        this.runDir = runDir;
    }

    String name() {
        return name;
    }

    Path log() {
        return runDir.resolve("logs").resolve(name + ".log");
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
        Files.createDirectories(log().getParent());
        ProcessBuilder builder =
                new ProcessBuilder(command)
                        .directory(runDir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
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
