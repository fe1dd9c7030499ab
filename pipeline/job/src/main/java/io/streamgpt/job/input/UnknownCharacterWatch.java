package io.streamgpt.job.input;

import java.io.Serializable;
import java.util.Locale;

/**
 * What one subtask of the window operator does about characters outside a character vocabulary:
 * counts them against the characters offered (the rate, a metric), warns once when the first
 * records already lose more than {@link #WARN_RATE} of their characters, and samples the dead
 * letters, so that a stream in the wrong vocabulary does not write one per record.
 *
 * <p>Sampling: the first record with unknown characters is dead-lettered; after it, at most one per
 * {@code intervalMs}, carrying how many records and characters were skipped since the last one (it
 * included). The unknown_characters counter counts them all. What arrives after the last letter is
 * in the counter only until the next unknown character comes after the interval.
 */
final class UnknownCharacterWatch implements Serializable {

    private static final long serialVersionUID = 1L;

    /** At most one unknown-character dead letter per subtask in this time. */
    static final long INTERVAL_MS = 10_000;

    /** Above this share of unknown characters in the first records, the job warns at start. */
    static final double WARN_RATE = 0.001;

    /** "The first records": this many characters, or {@link #FIRST_RECORDS} records. */
    static final long FIRST_CHARACTERS = 10_000;

    static final long FIRST_RECORDS = 20;

    /** The dead letter due now: records and unknown characters since the last one, it included. */
    record Sample(long records, long unknownCharacters) {}

    private final long intervalMs;
    private long characters;
    private long unknown;
    private long records;
    private boolean firstRecordsJudged;
    private boolean lettered;
    private long lastLetterMs;
    private long pendingRecords;
    private long pendingUnknown;

    UnknownCharacterWatch(long intervalMs) {
        this.intervalMs = intervalMs;
    }

    /**
     * Counts one record's characters; returns the warning to log if these are the first records and
     * too many of their characters are unknown, else null.
     */
    String count(int characters, int unknownCharacters) {
        this.characters += characters;
        this.unknown += unknownCharacters;
        records++;
        if (firstRecordsJudged || (this.characters < FIRST_CHARACTERS && records < FIRST_RECORDS)) {
            return null;
        }
        firstRecordsJudged = true;
        if (rate() <= WARN_RATE) {
            return null;
        }
        return String.format(
                Locale.ROOT,
                "%.2f%% of the first %,d characters (%d records) are outside the vocabulary and"
                        + " are not trained on: is it the stream's? A character vocabulary of the"
                        + " stream's own text (--vocab FILE) or --vocab bytes learns all of it"
                        + " (docs/text.md)",
                100 * rate(),
                this.characters,
                records);
    }

    /**
     * A record with unknown characters: the dead letter to write for it now, or null while the
     * interval since the last one runs.
     */
    Sample sample(int unknownCharacters, long nowMs) {
        pendingRecords++;
        pendingUnknown += unknownCharacters;
        if (lettered && nowMs - lastLetterMs < intervalMs) {
            return null;
        }
        Sample due = new Sample(pendingRecords, pendingUnknown);
        lettered = true;
        lastLetterMs = nowMs;
        pendingRecords = 0;
        pendingUnknown = 0;
        return due;
    }

    /** Unknown characters per character offered, since this subtask started; 0 before any. */
    double rate() {
        return characters == 0 ? 0 : (double) unknown / characters;
    }
}
