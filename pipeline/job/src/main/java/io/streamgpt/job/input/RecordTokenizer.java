package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Utf8Text;
import io.streamgpt.model.Vocabulary;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
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
 *       text and are skipped, whatever the vocabulary. Newline and tab are text, not control
 *       characters: they are tokens where the vocabulary has them ({@code shakespeare} has the
 *       newline only) and unknown characters otherwise. CRLF and a lone CR are read as a newline
 *       ({@link Vocabulary#normalizeNewlines}), in both kinds of vocabulary.
 *   <li><b>unknown_characters</b>: characters outside the vocabulary are skipped.
 *   <li><b>no_tokens</b>: added when a non-empty record leaves nothing to train on.
 * </ul>
 *
 * A {@code bytes} vocabulary trains on the raw bytes (line ends normalised), any bytes: only empty
 * and oversized records are bad there.
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
     * @param characters characters offered to the vocabulary after line ends were normalised and
     *     control characters skipped: the tokens plus the unknown characters of a character
     *     vocabulary, the UTF-8 characters of a bytes one
     */
    record Tokens(
            int[] tokens,
            int bytes,
            boolean oversized,
            int malformedBytes,
            int controlCharacters,
            int unknownCharacters,
            int characters) {

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
            return new Tokens(new int[0], 0, false, 0, 0, 0, 0);
        }
        if (bytes > maxRecordBytes) {
            return new Tokens(new int[0], bytes, true, 0, 0, 0, 0);
        }
        if (vocabulary.kind() == Vocabulary.Kind.BYTES) {
            int[] ids = new int[bytes];
            int n = 0;
            int characters = 0;
            for (int i = 0; i < bytes; i++) {
                int b = value[i] & 0xff;
                if (b == '\r') {
                    if (i + 1 < bytes && value[i + 1] == '\n') {
                        continue; // CRLF: the LF that follows is the line end
                    }
                    b = '\n'; // a lone CR
                }
                ids[n++] = b;
                if ((b & 0xC0) != 0x80) { // not a continuation byte: a character starts here
                    characters++;
                }
            }
            return new Tokens(
                    n == bytes ? ids : Arrays.copyOf(ids, n), bytes, false, 0, 0, 0, characters);
        }
        Utf8Text.Decoded decoded = Utf8Text.decode(value);
        String normalized = Vocabulary.normalizeNewlines(decoded.text());
        StringBuilder text = new StringBuilder(normalized.length());
        int characters = 0;
        int control = 0;
        for (int i = 0; i < normalized.length(); ) {
            int cp = normalized.codePointAt(i);
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
                ids,
                bytes,
                false,
                decoded.malformedBytes(),
                control,
                characters - ids.length,
                characters);
    }

    /**
     * C0/C1 controls and DEL, except the whitespace of ordinary text: newline, tab, carriage
     * return.
     */
    static boolean isControl(int cp) {
        return Character.getType(cp) == Character.CONTROL && cp != '\n' && cp != '\t';
    }
}
