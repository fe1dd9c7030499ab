package io.streamgpt.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code local --keep-checkpoints} keeps the state of a clean stop and the model it is of, {@code
 * local --resume} goes on from it (and refuses it as another model); a run that does not keep
 * removes its own checkpoints.
 */
class LocalResumeTest {

    private static final Pattern STEP = Pattern.compile("step +(\\d+) \\| round");

    /** The steps of the loss lines a run printed, in order. */
    private static List<Integer> steps(String out) {
        List<Integer> steps = new ArrayList<>();
        Matcher m = STEP.matcher(out);
        while (m.find()) {
            steps.add(Integer.parseInt(m.group(1)));
        }
        return steps;
    }

    private static List<String> local(Path corpus, Path checkpoints, int maxSteps, String flag) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "local",
                                flag,
                                "--data",
                                corpus.toString(),
                                // one vocabulary for both corpora: a file's own characters
                                // (local's default) would differ between 40 and 80 KB of it
                                "--vocab",
                                "shakespeare",
                                "--max-steps",
                                String.valueOf(maxSteps),
                                "--sync-every",
                                "5",
                                "--eval-interval",
                                "10",
                                "--eval-iters",
                                "2",
                                "--sample-interval",
                                "1000",
                                "--prometheus-ports",
                                "0",
                                "--checkpoint-interval-ms",
                                "2000",
                                "--checkpoint-dir",
                                checkpoints.toUri().toString()));
        args.addAll(List.of(JobArgs.tinyModel()));
        return args;
    }

    private static List<Path> metadataFiles(Path dir) throws Exception {
        try (var files = Files.walk(dir)) {
            return files.filter(f -> f.getFileName().toString().equals("_metadata")).toList();
        }
    }

    @Test
    void aKeptRunIsResumedAtItsStepAndTheResumedRunRemovesItsOwnCheckpoints(@TempDir Path dir)
            throws Exception {
        String shakespeare = Files.readString(Paths.shakespeare());
        Path corpus = Files.writeString(dir.resolve("c.txt"), shakespeare.substring(0, 40_000));
        // the resumed run's broker is new and fed again: the same first 40 KB (the restored
        // offsets point past them: the first run read them all) and 40 KB more to train on
        Path longer = Files.writeString(dir.resolve("c2.txt"), shakespeare.substring(0, 80_000));
        Path checkpoints = dir.resolve("runs").resolve("checkpoints");

        // 20 steps, kept: the stop writes a savepoint at step 20 into the job's directory
        CliRun first =
                CliRun.of(
                        local(corpus, checkpoints, 20, "--keep-checkpoints")
                                .toArray(String[]::new));
        assertThat(first.exit()).as(first.err()).isEqualTo(0);
        List<Integer> firstSteps = steps(first.out());
        assertThat(firstSteps).startsWith(5).endsWith(20); // a fresh run reports its first round
        List<Path> kept = metadataFiles(checkpoints);
        assertThat(kept).hasSize(1);
        Path savepoint = kept.get(0).getParent();
        assertThat(savepoint.getFileName().toString()).startsWith("savepoint-");
        assertThat(first.out()) // Flink names it file:/..., as its own paths print
                .containsPattern("kept file:/+" + Pattern.quote(savepoint.toString().substring(1)));

        // the kept state asked to resume as another model (n-embd 16, not 32): refused in one
        // line before anything starts, rather than restored into the wrong shape and restarted
        List<String> otherShape = local(longer, checkpoints, 40, "--resume");
        otherShape.set(otherShape.indexOf("--n-embd") + 1, "16");
        CliRun refused = CliRun.of(otherShape.toArray(String[]::new));
        assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
        assertThat(refused.err().strip())
                .isEqualTo(
                        "streamgpt: the kept state "
                                + savepoint.toUri()
                                + " is of another model (n-embd 16 (given) vs 32 (kept)): resume"
                                + " with the kept run's model options, or start afresh without"
                                + " --resume");
        assertThat(refused.out()).doesNotContain("Kafka broker"); // nothing was started

        // resumed to 40 steps: it goes on after step 20, never reports the steps a fresh run does
        CliRun second =
                CliRun.of(local(longer, checkpoints, 40, "--resume").toArray(String[]::new));
        assertThat(second.exit()).as(second.err()).isEqualTo(0);
        assertThat(second.out()).contains("resumed from " + savepoint.toUri());
        assertThat(steps(second.out())).isNotEmpty().allMatch(step -> step > 20).endsWith(40);
        // it did not keep: its own checkpoints are gone, the state it resumed from stays
        assertThat(metadataFiles(checkpoints)).containsExactly(kept.get(0));
        try (var jobs = Files.list(checkpoints)) {
            assertThat(jobs.toList()).containsExactly(savepoint.getParent());
        }
    }

    @Test
    void resumeWithNothingKeptFailsInOneLine(@TempDir Path dir) throws Exception {
        CliRun r =
                CliRun.of(
                        "local",
                        "--resume",
                        "--checkpoint-dir",
                        dir.resolve("empty").toUri().toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().strip())
                .isEqualTo(
                        "streamgpt: no kept checkpoint under "
                                + dir.resolve("empty")
                                + " to resume from: run `streamgpt local --keep-checkpoints`"
                                + " first");
    }
}
