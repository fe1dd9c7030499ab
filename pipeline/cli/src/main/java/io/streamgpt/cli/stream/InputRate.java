package io.streamgpt.cli.stream;

import io.streamgpt.cli.cluster.FlinkRest;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The live view's line about the job's input: characters read, tokens made, and the share of
 * characters outside the vocabulary (not trained on), from the tokenize operator's counters
 * (characters_in, tokens_in, unknown_characters) summed over its subtasks through Flink's REST API.
 */
final class InputRate {

    /** Above this share of unknown characters the line says so as a warning. */
    static final double WARN_RATE = 0.001;

    private final FlinkRest rest;
    private final String jobId;
    private String last;
    private long lastQueryMs;
    private String lastError = "no characters_in counter yet";

    InputRate(String restUrl, String jobId) {
        this.rest = new FlinkRest(restUrl);
        this.jobId = jobId;
    }

    /** The line if it changed since the last call, else null; null too while nothing was read. */
    String changedLine() {
        long now = System.currentTimeMillis();
        if (now - lastQueryMs < 2000) {
            return null; // Flink's REST API refreshes its metrics every second or more
        }
        lastQueryMs = now;
        String line = query();
        if (line == null || line.equals(last)) {
            return null;
        }
        last = line;
        return line;
    }

    /**
     * At the end of a run: the line once the counters have settled (two reads a second apart agree;
     * at most 12 s, past the 10 s of Flink's default refresh), if it is not the one printed last;
     * else null.
     */
    String finalLine() throws InterruptedException {
        String previous = null;
        long deadline = System.currentTimeMillis() + 12_000;
        while (System.currentTimeMillis() < deadline) {
            String line = query();
            if (line != null && line.equals(previous)) {
                break;
            }
            previous = line;
            Thread.sleep(1000);
        }
        if (previous == null) {
            return "input: the job's input counters could not be read (" + lastError + ")";
        }
        if (previous.equals(last)) {
            return null;
        }
        last = previous;
        return previous;
    }

    private String query() {
        Map<String, Double> sums;
        try {
            sums =
                    rest.summedMetrics(
                            jobId,
                            "tokenize",
                            List.of("characters_in", "tokens_in", "unknown_characters"));
        } catch (IOException e) {
            lastError = e.getMessage();
            return null; // the job is starting or stopping: the next poll tries again
        }
        long characters = sums.getOrDefault("characters_in", 0.0).longValue();
        if (characters == 0) {
            lastError = "no characters read yet: " + sums;
            return null;
        }
        return line(
                characters,
                sums.getOrDefault("tokens_in", 0.0).longValue(),
                sums.getOrDefault("unknown_characters", 0.0).longValue());
    }

    static String line(long characters, long tokens, long unknown) {
        double rate = (double) unknown / characters;
        return String.format(
                Locale.ROOT,
                "input: %,d characters in, %,d tokens | unknown characters %,d (%.3f%%)%s",
                characters,
                tokens,
                unknown,
                100 * rate,
                rate > WARN_RATE
                        ? " | WARNING: over 0.1% of the text is outside the vocabulary and not"
                                + " trained on; --vocab bytes or the stream's own characters"
                                + " (docs/text.md)"
                        : "");
    }
}
