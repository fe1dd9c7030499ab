package io.streamgpt.job.input;

import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 12,000 random records (empty, random bytes, oversized, and text mixed with control characters,
 * unknown characters and bytes that are not UTF-8) through the window operator in Flink's harness,
 * restored from a snapshot half way: nothing throws, every structured record is tokenized exactly
 * as its generator says, each bad record has exactly one dead letter, the counters add up, and
 * every partition's windows are exactly the windows of its token stream: tokens in = windows x
 * stride + tail, the tail shorter than a window.
 */
class WindowAssemblerFuzzTest {

    private static final int RECORDS = 12_000;
    private static final int PARTITIONS = 3;
    private static final int BLOCK = 8;
    private static final int STRIDE = 6;
    private static final int MAX_BYTES = 256;
    private static final String KNOWN =
            "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // CR is not here: CRLF and a lone CR are newlines
    private static final String UNKNOWN = "\t\u00e9\u20ac\uD83D\uDE00\"(0#\u00a0\ufeff\u4e2d";
    private static final String CONTROL =
            "\u0000\u0001\u0007\u0008\u000b\u000c\u000e\u001b\u001f\u007f\u0080\u0085\u009f";
    private static final byte[][] TRUNCATED = {
        {(byte) 0xc3}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}
    };

    /** A generated record and, for structured ones, what tokenizing it must give. */
    private record Case(TextRecord record, Expected expected) {}

    private record Expected(String tokens, int malformed, int control, int unknown) {}

    @Test
    void randomRecordsNeverThrowAndEveryTokenIsAccountedFor() throws Exception {
        Vocabulary vocabulary = Vocabulary.named("shakespeare");
        RecordTokenizer tokenizer = new RecordTokenizer(vocabulary, MAX_BYTES);
        Random random = new Random(20240611);
        List<Case> cases = new ArrayList<>();
        long[] nextOffset = new long[PARTITIONS];
        for (int i = 0; i < RECORDS; i++) {
            int partition = random.nextInt(PARTITIONS);
            cases.add(
                    generate(
                            random,
                            new TextRecord("fuzz", partition, nextOffset[partition]++, null)));
        }

        Map<String, List<Integer>> streams = new TreeMap<>();
        Map<String, Reports.DeadLetter> expectedLetters = new HashMap<>();
        Map<String, Reports.DeadLetter> sampledLetters = new HashMap<>(); // only unknown characters
        long malformed = 0;
        long control = 0;
        long unknown = 0;
        long empty = 0;
        long oversized = 0;
        for (Case c : cases) {
            TextRecord record = c.record();
            RecordTokenizer.Tokens tokens = tokenizer.tokenize(record.value());
            if (c.expected() != null) {
                assertThat(tokens.tokens())
                        .as("tokens of %s", record)
                        .containsExactly(vocabulary.encode(c.expected().tokens()));
                assertThat(tokens.malformedBytes())
                        .as("malformed bytes of %s", record)
                        .isEqualTo(c.expected().malformed());
                assertThat(tokens.controlCharacters())
                        .as("control characters of %s", record)
                        .isEqualTo(c.expected().control());
                assertThat(tokens.unknownCharacters())
                        .as("unknown characters of %s", record)
                        .isEqualTo(c.expected().unknown());
            }
            int bytes = record.value().length;
            boolean clean = bytes > 0 && bytes <= MAX_BYTES && allKnown(record.value());
            assertThat(tokenizer.problem(tokens) == null).as("clean: %s", record).isEqualTo(clean);
            assertThat(
                            tokens.tokens().length
                                    + tokens.malformedBytes()
                                    + tokens.controlCharacters()
                                    + tokens.unknownCharacters())
                    .as("nothing counted twice in %s", record)
                    .isLessThanOrEqualTo(bytes);
            boolean onlyUnknown =
                    tokens.unknownCharacters() > 0
                            && tokens.malformedBytes() == 0
                            && tokens.controlCharacters() == 0
                            && !tokens.oversized();
            if (!clean) {
                (onlyUnknown ? sampledLetters : expectedLetters)
                        .put(
                                record.source() + "@" + record.offset(),
                                new Reports.DeadLetter(
                                        record.topic(),
                                        record.partition(),
                                        record.offset(),
                                        tokenizer.problem(tokens),
                                        bytes,
                                        0));
            }
            List<Integer> stream = streams.computeIfAbsent(record.source(), s -> new ArrayList<>());
            Arrays.stream(tokens.tokens()).forEach(stream::add);
            malformed += tokens.malformedBytes();
            control += tokens.controlCharacters();
            unknown += tokens.unknownCharacters();
            empty += tokens.empty() ? 1 : 0;
            oversized += tokens.oversized() ? 1 : 0;
        }
        assertThat(empty).isPositive();
        assertThat(oversized).isPositive();
        assertThat(malformed).isPositive();
        assertThat(control).isPositive();
        assertThat(unknown).isPositive();

        // through the operator, restored from a snapshot half way
        List<TokenWindow> windows = new ArrayList<>();
        List<Reports.DeadLetter> letters = new ArrayList<>();
        Map<String, Long> counters = new HashMap<>();
        OperatorSubtaskState snapshot;
        try (AssemblerHarness first =
                new AssemblerHarness(vocabulary, BLOCK, STRIDE, MAX_BYTES, null)) {
            for (Case c : cases.subList(0, RECORDS / 2)) {
                first.process(c.record());
            }
            snapshot = first.snapshot();
            collect(first, windows, letters, counters);
        }
        try (AssemblerHarness second =
                new AssemblerHarness(vocabulary, BLOCK, STRIDE, MAX_BYTES, snapshot)) {
            for (Case c : cases.subList(RECORDS / 2, RECORDS)) {
                second.process(c.record());
            }
            collect(second, windows, letters, counters);
        }

        // records with only unknown characters: sampled, the first of each harness at once
        List<Reports.DeadLetter> sampled =
                letters.stream()
                        .filter(
                                l ->
                                        sampledLetters.containsKey(
                                                "fuzz-" + l.partition() + "@" + l.offset()))
                        .toList();
        assertThat(sampledLetters).hasSizeGreaterThan(20); // 44 of this seed
        assertThat(sampled).hasSizeBetween(2, 2 + 10); // one per 10 s: the test takes < 100 s
        for (Reports.DeadLetter letter : sampled) {
            assertThat(letter.reason())
                    .startsWith(
                            sampledLetters
                                    .get("fuzz-" + letter.partition() + "@" + letter.offset())
                                    .reason());
        }
        // every other bad record: one dead letter, at its coordinates, with its reason
        letters = new ArrayList<>(letters);
        letters.removeAll(sampled);
        assertThat(letters).hasSize(expectedLetters.size());
        for (Reports.DeadLetter letter : letters) {
            Reports.DeadLetter expected =
                    expectedLetters.remove("fuzz-" + letter.partition() + "@" + letter.offset());
            assertThat(expected).as("dead letter %s is for a bad record, once", letter).isNotNull();
            assertThat(letter.reason()).isEqualTo(expected.reason());
            assertThat(letter.bytes()).isEqualTo(expected.bytes());
        }

        long tokensIn = streams.values().stream().mapToLong(List::size).sum();
        assertThat(counters)
                .containsEntry("text_records", (long) RECORDS)
                .containsEntry("tokens_in", tokensIn)
                .containsEntry("dead_letters", (long) letters.size() + sampled.size())
                .containsEntry("malformed_bytes", malformed)
                .containsEntry("control_characters", control)
                .containsEntry("unknown_characters", unknown)
                .containsEntry("empty_records", empty)
                .containsEntry("oversized_records", oversized)
                .containsEntry("windows", (long) windows.size())
                .containsEntry(
                        "windows_held_out", windows.stream().filter(TokenWindow::heldOut).count());

        // every partition: exactly the windows of its token stream, each once
        int width = BLOCK + 1;
        long windowed = 0;
        long tails = 0;
        for (var entry : streams.entrySet()) {
            List<Integer> stream = entry.getValue();
            List<TokenWindow> mine =
                    new ArrayList<>(
                            windows.stream()
                                    .filter(w -> w.source().equals(entry.getKey()))
                                    .toList());
            mine.sort((a, b) -> Long.compare(a.index(), b.index()));
            int expected = stream.size() < width ? 0 : (stream.size() - width) / STRIDE + 1;
            assertThat(mine).as(entry.getKey()).hasSize(expected);
            for (int i = 0; i < expected; i++) {
                TokenWindow w = mine.get(i);
                assertThat(w.index()).isEqualTo(i);
                assertThat(w.position()).isEqualTo((long) i * STRIDE);
                assertThat(w.tokens())
                        .containsExactly(
                                stream.subList(i * STRIDE, i * STRIDE + width).stream()
                                        .mapToInt(Integer::intValue)
                                        .toArray());
            }
            int tail = stream.size() - expected * STRIDE;
            assertThat(tail).as("tail of %s", entry.getKey()).isBetween(0, width - 1);
            windowed += (long) expected * STRIDE;
            tails += tail;
        }
        assertThat(tokensIn).isEqualTo(windowed + tails);
        assertThat(windows.size()).isGreaterThan(1000);
    }

    private static void collect(
            AssemblerHarness harness,
            List<TokenWindow> windows,
            List<Reports.DeadLetter> letters,
            Map<String, Long> counters) {
        List<TokenWindow> train = harness.trainWindows();
        List<TokenWindow> heldOut = harness.heldOutWindows();
        assertThat(train).noneMatch(TokenWindow::heldOut);
        assertThat(heldOut).allMatch(TokenWindow::heldOut);
        windows.addAll(train);
        windows.addAll(heldOut);
        letters.addAll(harness.deadLetters());
        for (String name :
                List.of(
                        "text_records",
                        "tokens_in",
                        "dead_letters",
                        "malformed_bytes",
                        "control_characters",
                        "unknown_characters",
                        "empty_records",
                        "oversized_records",
                        "windows",
                        "windows_held_out")) {
            counters.merge(name, harness.counter(name), Long::sum);
        }
    }

    private static Case generate(Random random, TextRecord at) {
        int kind = random.nextInt(10);
        if (kind == 0) {
            return new Case(with(at, new byte[0]), new Expected("", 0, 0, 0));
        }
        if (kind <= 2) { // random bytes, sometimes over the limit: no oracle but the invariants
            byte[] bytes = new byte[random.nextInt(MAX_BYTES + 40)];
            random.nextBytes(bytes);
            return new Case(with(at, bytes), null);
        }
        // text of known characters, mixed with control characters, unknown characters and bytes
        // that are not UTF-8
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringBuilder tokens = new StringBuilder();
        int malformed = 0;
        int control = 0;
        int unknown = 0;
        boolean clean = kind <= 5;
        for (int n = random.nextInt(60); n > 0; n--) {
            int part = clean ? 0 : random.nextInt(8);
            if (part <= 3) {
                char c = KNOWN.charAt(random.nextInt(KNOWN.length()));
                tokens.append(c);
                bytes.write(c);
            } else if (part == 4) {
                bytes.writeBytes(codePoint(CONTROL, random).getBytes(StandardCharsets.UTF_8));
                control++;
            } else if (part == 5) {
                bytes.writeBytes(codePoint(UNKNOWN, random).getBytes(StandardCharsets.UTF_8));
                unknown++;
            } else {
                bytes.write(
                        neverUtf8(
                                random)); // a byte that starts no character here: always malformed,
                // alone
                malformed++;
            }
        }
        if (!clean && random.nextInt(5) == 0) { // a character cut off by the end of the record
            byte[] cut = TRUNCATED[random.nextInt(TRUNCATED.length)];
            bytes.writeBytes(cut);
            malformed += cut.length;
        }
        return new Case(
                with(at, bytes.toByteArray()),
                new Expected(tokens.toString(), malformed, control, unknown));
    }

    /**
     * A continuation byte with nothing before it, an overlong lead byte, or a byte UTF-8 never
     * uses.
     */
    private static int neverUtf8(Random random) {
        return switch (random.nextInt(3)) {
            case 0 -> 0x80 + random.nextInt(0x40);
            case 1 -> 0xc0 + random.nextInt(2);
            default -> 0xf5 + random.nextInt(11);
        };
    }

    private static String codePoint(String alphabet, Random random) {
        int index = random.nextInt(alphabet.codePointCount(0, alphabet.length()));
        return new String(
                Character.toChars(alphabet.codePointAt(alphabet.offsetByCodePoints(0, index))));
    }

    private static boolean allKnown(byte[] bytes) {
        for (byte b : bytes) {
            if ((KNOWN.indexOf(b & 0xff) < 0 && b != '\r') || b < 0) { // CR: a newline
                return false;
            }
        }
        return true;
    }

    private static TextRecord with(TextRecord at, byte[] value) {
        return new TextRecord(at.topic(), at.partition(), at.offset(), value);
    }
}
