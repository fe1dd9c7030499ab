package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Utf8Text;
import io.streamgpt.model.Vocabulary;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one text record's bytes into token ids and says what, if anything, was wrong with it. Bad
 * input never throws: what can be used is used, the rest is counted and named in a reason for the
 * dead-letter topic.
 *
 * <ul>
 *   <li><b>empty</b>: no bytes (a null value counts as empty).
 *   <li><b>oversized</b>: more than {@code max_record_bytes}; not decoded, not trained on.
 *   <li><b>malformed_utf8</b>: bytes that are not UTF-8 are skipped, the valid text around them is
 *       trained on.
 *   <li><b>control_characters</b>: NUL and the other C0/C1 control characters (and DEL) are never
 *       text and are skipped, whatever the vocabulary. Newline, tab and carriage return are text,
 *       not control characters: they are tokens where the vocabulary has them ({@code shakespeare}
 *       has the newline only) and unknown characters otherwise.
 *   <li><b>unknown_characters</b>: characters outside the vocabulary are skipped.
 *   <li><b>no_tokens</b>: added when a non-empty record leaves nothing to train on.
 * </ul>
 *
 * A {@code bytes} vocabulary trains on the raw bytes, any bytes: only empty and oversized records
 * are bad there.
 */
public final class RecordTokenizer implements Serializable {

    private static final long serialVersionUID = 1L;

    private final Vocabulary vocabulary;
    private final int maxRecordBytes;

    RecordTokenizer(Vocabulary vocabulary, int maxRecordBytes) {
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException(
                    "max_record_bytes must be >= 1, got " + maxRecordBytes);
        }
        this.vocabulary = vocabulary;
        this.maxRecordBytes = maxRecordBytes;
    }

    /**
     * The tokens of one record and its problems.
     *
     * @param tokens token ids to train on (empty for an empty or oversized record)
     * @param bytes size of the record's value
     * @param oversized the record exceeded max_record_bytes and was not decoded
     * @param malformedBytes bytes skipped as not UTF-8
     * @param controlCharacters control characters skipped
     * @param unknownCharacters characters skipped as outside the vocabulary
     */
    record Tokens(
            int[] tokens,
            int bytes,
            boolean oversized,
            int malformedBytes,
            int controlCharacters,
            int unknownCharacters) {

        boolean empty() {
            return bytes == 0;
        }
    }

    /**
     * Why the record was not, or only partly, trained on, problems joined by "; "; null for a clean
     * record.
     */
    String problem(Tokens t) {
        List<String> problems = new ArrayList<>();
        if (t.empty()) {
            problems.add("empty: the record has no bytes");
        }
        if (t.oversized()) {
            problems.add(
                    "oversized: "
                            + t.bytes()
                            + " bytes, over max_record_bytes ("
                            + maxRecordBytes
                            + "); not trained on");
        }
        if (t.malformedBytes() > 0) {
            problems.add(
                    "malformed_utf8: " + t.malformedBytes() + " bytes that are not UTF-8 skipped");
        }
        if (t.controlCharacters() > 0) {
            problems.add(
                    "control_characters: "
                            + t.controlCharacters()
                            + " NUL or other control characters skipped");
        }
        if (t.unknownCharacters() > 0) {
            problems.add(
                    "unknown_characters: "
                            + t.unknownCharacters()
                            + " characters outside the vocabulary skipped");
        }
        if (!problems.isEmpty() && t.tokens().length == 0 && !t.empty() && !t.oversized()) {
            problems.add("no_tokens: nothing left to train on");
        }
        return problems.isEmpty() ? null : String.join("; ", problems);
    }

    Tokens tokenize(byte[] value) {
        int bytes = value == null ? 0 : value.length;
        if (bytes == 0) {
            return new Tokens(new int[0], 0, false, 0, 0, 0);
        }
        if (bytes > maxRecordBytes) {
            return new Tokens(new int[0], bytes, true, 0, 0, 0);
        }
        if (vocabulary.kind() == Vocabulary.Kind.BYTES) {
            int[] ids = new int[bytes];
            for (int i = 0; i < bytes; i++) {
                ids[i] = value[i] & 0xff;
            }
            return new Tokens(ids, bytes, false, 0, 0, 0);
        }
        Utf8Text.Decoded decoded = Utf8Text.decode(value);
        StringBuilder text = new StringBuilder(decoded.text().length());
        int characters = 0;
        int control = 0;
        for (int i = 0; i < decoded.text().length(); ) {
            int cp = decoded.text().codePointAt(i);
            i += Character.charCount(cp);
            if (isControl(cp)) {
                control++;
            } else {
                text.appendCodePoint(cp);
                characters++;
            }
        }
        int[] ids = vocabulary.encode(text.toString());
        return new Tokens(
                ids, bytes, false, decoded.malformedBytes(), control, characters - ids.length);
    }

    /**
     * C0/C1 controls and DEL, except the whitespace of ordinary text: newline, tab, carriage
     * return.
     */
    static boolean isControl(int cp) {
        return Character.getType(cp) == Character.CONTROL && cp != '\n' && cp != '\t' && cp != '\r';
    }
}
