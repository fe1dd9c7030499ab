package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.model.Vocabulary;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each kind of bad text record between good ones, through the window operator in Flink's harness:
 * exactly one dead letter per bad record with its coordinates and reason (records with only unknown
 * characters: one per 10 s, the first at once), exact counters, and the good text windowed as if
 * the bad parts had never been there.
 */
class BadInputTest {

    private static final int BLOCK = 8;
    private static final int MAX_BYTES = 64;

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            out.writeBytes(part instanceof String s ? utf8(s) : (byte[]) part);
        }
        return out.toByteArray();
    }

    @Test
    void everyBadRecordIsDeadLetteredOnceAndTheGoodTextIsStillWindowed() throws Exception {
        Vocabulary vocabulary = Vocabulary.named("shakespeare");
        // value, the text that should reach the model from it
        List<byte[]> values =
                List.of(
                        utf8("First Citizen:\nBefore we proceed"), // 0 good
                        concat(
                                "speak",
                                new byte[] {(byte) 0xff, (byte) 0xfe},
                                " hear",
                                new byte[] {(byte) 0x80}), // 1 invalid UTF-8
                        utf8("all:\u0000 speak\u0007,\u009b"), // 2 NUL, BEL, a C1 control
                        utf8("caf\u00e9 \u20ac5 \uD83D\uDE00"), // 3 é, €, 5, 😀 unknown
                        new byte[0], // 4 empty
                        utf8("a".repeat(MAX_BYTES + 1)), // 5 oversized
                        utf8("\u00e9\u00e9\u00e9\u20ac"), // 6 only unknown characters
                        utf8("a\tb\r\nc"), // 7 CRLF is a newline; tab is not in this vocabulary
                        utf8("You are all resolved rather to die than to famish?"), // 8 good
                        utf8("\u0000\u0000"), // 9 only NUL
                        utf8("b".repeat(MAX_BYTES))); // 10 at the limit: good
        String trained =
                "First Citizen:\nBefore we proceed"
                        + "speak hear"
                        + "all: speak,"
                        + "caf  "
                        + "ab\nc"
                        + "You are all resolved rather to die than to famish?"
                        + "b".repeat(MAX_BYTES);

        List<TokenWindow> windows = new ArrayList<>();
        try (AssemblerHarness harness =
                new AssemblerHarness(vocabulary, BLOCK, BLOCK, MAX_BYTES, null)) {
            for (int offset = 0; offset < values.size(); offset++) {
                harness.process(new TextRecord("text", 3, offset, values.get(offset)));
            }

            List<Reports.DeadLetter> letters = harness.deadLetters();
            assertThat(letters).extracting(Reports.DeadLetter::topic).containsOnly("text");
            assertThat(letters).extracting(Reports.DeadLetter::partition).containsOnly(3);
            assertThat(letters)
                    .extracting(Reports.DeadLetter::offset)
                    .containsExactly(1L, 2L, 3L, 4L, 5L, 9L); // 6 and 7 within 10 s of 3
            assertThat(letters)
                    .extracting(Reports.DeadLetter::bytes)
                    .containsExactly(13L, 15L, 15L, 0L, 65L, 2L);
            assertThat(letters)
                    .extracting(Reports.DeadLetter::reason)
                    .containsExactly(
                            "malformed_utf8: 3 bytes that are not UTF-8 skipped",
                            "control_characters: 3 NUL or other control characters skipped",
                            "unknown_characters: 4 characters outside the vocabulary skipped",
                            "empty: the record has no bytes",
                            "oversized: 65 bytes, over max_record_bytes (64); not trained on",
                            "control_characters: 2 NUL or other control characters skipped;"
                                    + " no_tokens: nothing left to train on");
            assertThat(letters).allSatisfy(l -> assertThat(l.timeMs()).isPositive());

            assertThat(harness.counter("text_records")).isEqualTo(11);
            assertThat(harness.counter("dead_letters")).isEqualTo(6);
            assertThat(harness.counter("malformed_bytes")).isEqualTo(3);
            assertThat(harness.counter("control_characters")).isEqualTo(5);
            assertThat(harness.counter("unknown_characters")).isEqualTo(4 + 4 + 1);
            assertThat(harness.counter("empty_records")).isEqualTo(1);
            assertThat(harness.counter("oversized_records")).isEqualTo(1);
            assertThat(harness.counter("tokens_in")).isEqualTo(trained.length());
            // every character offered to the vocabulary is a token or unknown
            assertThat(harness.counter("characters_in")).isEqualTo(trained.length() + 9);

            windows.addAll(harness.trainWindows());
            windows.addAll(harness.heldOutWindows());
            assertThat(harness.counter("windows")).isEqualTo(windows.size());
            assertThat(harness.counter("windows_held_out"))
                    .isEqualTo(harness.heldOutWindows().size());
        }
        int[] stream = vocabulary.encode(trained);
        int expected = (stream.length - (BLOCK + 1)) / BLOCK + 1;
        assertThat(windows).hasSize(expected);
        windows.sort((a, b) -> Long.compare(a.index(), b.index()));
        for (int i = 0; i < expected; i++) {
            TokenWindow window = windows.get(i);
            assertThat(window.index()).isEqualTo(i);
            assertThat(window.source()).isEqualTo("text-3");
            assertThat(window.tokens())
                    .containsExactly(Arrays.copyOfRange(stream, i * BLOCK, i * BLOCK + BLOCK + 1));
        }
    }

    @Test
    void aBytesVocabularyTrainsOnAnyBytesAndRejectsOnlyEmptyAndOversizedRecords() throws Exception {
        byte[] binary = {0, (byte) 0xff, (byte) 0xc3, 7, '\n', (byte) 0x80};
        try (AssemblerHarness harness =
                new AssemblerHarness(Vocabulary.bytes(), BLOCK, BLOCK, MAX_BYTES, null)) {
            harness.process(new TextRecord("raw", 0, 10, binary));
            harness.process(new TextRecord("raw", 0, 11, new byte[0]));
            harness.process(new TextRecord("raw", 0, 12, new byte[MAX_BYTES + 1]));
            harness.process(new TextRecord("raw", 0, 13, binary));

            assertThat(harness.deadLetters())
                    .extracting(Reports.DeadLetter::offset, Reports.DeadLetter::reason)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(
                                    11L, "empty: the record has no bytes"),
                            org.assertj.core.groups.Tuple.tuple(
                                    12L,
                                    "oversized: 65 bytes, over max_record_bytes (64); not trained"
                                            + " on"));
            assertThat(harness.counter("tokens_in")).isEqualTo(12);
            assertThat(harness.counter("malformed_bytes")).isZero();
            assertThat(harness.counter("control_characters")).isZero();
            assertThat(harness.trainWindows())
                    .singleElement()
                    .satisfies(
                            w ->
                                    assertThat(w.tokens())
                                            .containsExactly(
                                                    0, 0xff, 0xc3, 7, '\n', 0x80, 0, 0xff, 0xc3));
        }
    }
}
