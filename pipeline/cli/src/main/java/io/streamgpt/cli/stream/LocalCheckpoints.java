package io.streamgpt.cli.stream;

import io.streamgpt.cli.CommandFailure;
import io.streamgpt.connectors.client.ModelMetadata;

import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What {@code local} leaves under its checkpoint directory. Flink writes a job's checkpoints to
 * {@code <dir>/<job id>/chk-N} and retains the newest when the job is cancelled (the job's
 * settings), about 50 MB for the {@code cpu} preset: without clean-up every run would leave one for
 * ever. So a clean stop either removes the job's directory, or, when asked to keep, stops the job
 * with a savepoint in that directory, the exact state at the stop, which {@code --resume} then
 * starts from. Only a {@code file:} directory is cleaned; a remote one is left as it is.
 */
final class LocalCheckpoints {

    private static final String METADATA = "_metadata";

    /** The model a job trains, beside its checkpoints: what a kept state can be resumed as. */
    static final String MODEL_FILE = "streamgpt-model.json";

    private static final long STOP_TIMEOUT_SECONDS = 120;

    private final Path directory; // null: not a file: URI

    /** The checkpoint directory {@code local} gives the job, as a URI. */
    LocalCheckpoints(String directoryUri) {
        URI uri = URI.create(directoryUri);
        this.directory = "file".equals(uri.getScheme()) ? Path.of(uri) : null;
    }

    /**
     * The newest state kept under the directory: the checkpoint or savepoint directory whose {@code
     * _metadata} was written last, at {@code <dir>/<job id>/<chk-N or savepoint-*>}.
     */
    Optional<Path> newest() throws IOException {
        if (directory == null || !Files.isDirectory(directory)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.find(directory, 3, (p, a) -> isMetadata(p))) {
            return files.max(Comparator.comparing(LocalCheckpoints::modified)).map(Path::getParent);
        }
    }

    /** {@link #newest()}, as the URI a job restores from, or a one-line failure. */
    String newestForResume() throws IOException {
        if (directory == null) {
            throw new IllegalArgumentException(
                    "--resume reads a local checkpoint directory (file:...), not this one");
        }
        return newest().map(p -> p.toUri().toString())
                .orElseThrow(
                        () ->
                                new CommandFailure(
                                        "no kept checkpoint under "
                                                + directory
                                                + " to resume from: run `streamgpt local"
                                                + " --keep-checkpoints` first"));
    }

    /**
     * Writes {@code model} into the job's directory, beside the checkpoints and the savepoint it
     * will hold, so that {@link #refuseAnotherModel} can tell what a kept state is of.
     */
    void recordModel(JobID job, ModelMetadata model) throws IOException {
        if (directory != null) {
            Path jobDirectory = Files.createDirectories(directory.resolve(job.toString()));
            Files.write(jobDirectory.resolve(MODEL_FILE), model.toJson());
        }
    }

    /**
     * Refuses, in one line, to resume {@code state} (from {@link #newestForResume}) as {@code
     * model} when the run that kept it recorded another model (shape or vocabulary): Flink would
     * restore the old parameters into the new model and fail and restart for ever. A state kept
     * before models were recorded is not checked.
     */
    static void refuseAnotherModel(String state, ModelMetadata model) throws IOException {
        Path recorded = Path.of(URI.create(state)).getParent().resolve(MODEL_FILE);
        if (!Files.isRegularFile(recorded)) {
            return;
        }
        ModelMetadata kept = ModelMetadata.fromJson(Files.readAllBytes(recorded));
        if (!kept.sameModel(model)) {
            throw new CommandFailure(
                    "the kept state "
                            + state
                            + " is of another model ("
                            + kept.mismatch(model.config(), model.vocabulary())
                                    .replace("(the job's)", "(kept)")
                            + "): resume with the kept run's model options, or start afresh"
                            + " without --resume");
        }
    }

    /** The cluster setting that restores a job from {@code state} (null: a fresh job). */
    static org.apache.flink.configuration.Configuration restoring(String state) {
        var conf = new org.apache.flink.configuration.Configuration();
        if (state != null) {
            conf.set(org.apache.flink.configuration.StateRecoveryOptions.SAVEPOINT_PATH, state);
        }
        return conf;
    }

    /**
     * Stops {@code job}, which this command started and which still runs: with {@code keep}, with a
     * savepoint in the job's checkpoint directory (then what {@code resumedFrom} named is
     * superseded and removed, so that one kept state remains); else cancelled, and the job's
     * checkpoints removed.
     */
    void stop(JobClient job, boolean keep, String resumedFrom, PrintWriter out) throws Exception {
        if (keep) {
            String savepoint =
                    job.stopWithSavepoint(
                                    false,
                                    jobDirectoryUri(job.getJobID()),
                                    SavepointFormatType.CANONICAL)
                            .get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            out.println("kept " + savepoint + ": `streamgpt local --resume` continues from it");
            if (resumedFrom != null) {
                removeKeptState(resumedFrom);
            }
            return;
        }
        job.cancel().get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        // cancel() returns once the request is taken; the checkpoint files are final when the job
        // has ended (its result, a cancellation here). The MiniCluster shuts down after that, so
        // its status cannot be polled.
        job.getJobExecutionResult()
                .handle((result, cancelled) -> null)
                .get(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (directory != null) {
            delete(directory.resolve(job.getJobID().toString()));
            out.println(
                    "removed this run's checkpoints from "
                            + directory
                            + " (--keep-checkpoints keeps its state for --resume)");
        }
    }

    /** {@code <dir>/<job id>}: where Flink puts the job's checkpoints, and the kept savepoint. */
    private String jobDirectoryUri(JobID job) {
        return directory == null ? null : directory.resolve(job.toString()).toUri().toString();
    }

    /** Removes a kept checkpoint or savepoint of an earlier run, if it lies under the directory. */
    private void removeKeptState(String uri) throws IOException {
        Path state = Path.of(URI.create(uri));
        if (directory != null && state.startsWith(directory) && !state.equals(directory)) {
            delete(state);
            Path job = state.getParent();
            if (!job.equals(directory)) {
                deleteIfEmptyTree(job);
            }
        }
    }

    private static boolean isMetadata(Path path) {
        return path.getFileName().toString().equals(METADATA) && Files.isRegularFile(path);
    }

    private static java.nio.file.attribute.FileTime modified(Path path) {
        try {
            return Files.getLastModifiedTime(path);
        } catch (IOException gone) {
            return java.nio.file.attribute.FileTime.fromMillis(0);
        }
    }

    static void delete(Path tree) throws IOException {
        if (!Files.exists(tree)) {
            return;
        }
        try (Stream<Path> files = Files.walk(tree)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Deletes {@code tree} if it holds directories only (Flink's empty shared/, taskowned/) and the
     * recorded model.
     */
    private static void deleteIfEmptyTree(Path tree) throws IOException {
        try (Stream<Path> files = Files.walk(tree)) {
            if (files.anyMatch(
                    f ->
                            Files.isRegularFile(f)
                                    && !f.getFileName().toString().equals(MODEL_FILE))) {
                return;
            }
        }
        delete(tree);
    }
}
