package io.streamgpt.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fixed token vocabulary of a model: chosen when the model is created and saved with it, so a
 * stream never changes the meaning of a token id.
 *
 * <p>Two kinds exist. A <em>character</em> vocabulary maps each of a sorted set of Unicode code
 * points to its index, as the reference does with {@code sorted(set(text))}; characters outside it
 * are skipped and counted, never thrown, because a live stream will contain some. A <em>bytes</em>
 * vocabulary has the 256 byte values of the UTF-8 encoding and so accepts any text.
 */
public final class Vocabulary implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /** Kind of vocabulary, persisted in model files. */
    public enum Kind {
        CHARS,
        BYTES
    }

    /** The 65 characters of tiny Shakespeare, the reference's vocabulary. */
    static final String SHAKESPEARE_CHARS =
            "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private final Kind kind;
    private final int[] codePoints; // sorted; empty for BYTES
    private final AtomicLong unknownCharacters = new AtomicLong();

    private Vocabulary(Kind kind, int[] codePoints) {
        this.kind = kind;
        this.codePoints = codePoints;
    }

    /**
     * The sorted set of characters of {@code text}, like the reference's {@code sorted(set(text))}.
     */
    public static Vocabulary ofText(String text) {
        int[] distinct = text.codePoints().distinct().sorted().toArray();
        if (distinct.length == 0) {
            throw new IllegalArgumentException("cannot build a vocabulary from empty text");
        }
        return new Vocabulary(Kind.CHARS, distinct);
    }

    /** The sorted set of characters of a UTF-8 corpus file. */
    public static Vocabulary ofCorpus(Path file) throws IOException {
        return ofText(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** The 256 byte values of UTF-8: any text can be encoded. */
    public static Vocabulary bytes() {
        return new Vocabulary(Kind.BYTES, new int[0]);
    }

    /**
     * A vocabulary by name: {@code shakespeare} (the 65 characters of tiny Shakespeare), {@code
     * bytes}, or otherwise the path of a corpus file whose characters make the vocabulary.
     */
    public static Vocabulary named(String nameOrCorpus) throws IOException {
        switch (nameOrCorpus) {
            case "shakespeare":
                return ofText(SHAKESPEARE_CHARS);
            case "bytes":
                return bytes();
            default:
                Path file = Path.of(nameOrCorpus);
                if (!Files.isRegularFile(file)) {
                    throw new IllegalArgumentException(
                            "vocabulary must be 'shakespeare', 'bytes' or a corpus file; no file "
                                    + file);
                }
                return ofCorpus(file);
        }
    }

    /** Rebuilds a character vocabulary from its saved characters. */
    public static Vocabulary ofCharacters(String characters) {
        return ofText(characters);
    }

    public Kind kind() {
        return kind;
    }

    public int size() {
        return kind == Kind.BYTES ? 256 : codePoints.length;
    }

    /** The characters of a CHARS vocabulary, in token order; empty for BYTES. */
    public String characters() {
        return new String(codePoints, 0, codePoints.length);
    }

    /**
     * Token ids of {@code text}. Characters outside a character vocabulary are skipped and added to
     * {@link #unknownCharacters()}.
     */
    public int[] encode(String text) {
        if (kind == Kind.BYTES) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                ids[i] = utf8[i] & 0xff;
            }
            return ids;
        }
        int[] ids = new int[text.length()];
        int n = 0;
        long unknown = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int id = Arrays.binarySearch(codePoints, cp);
            if (id >= 0) {
                ids[n++] = id;
            } else {
                unknown++;
            }
        }
        if (unknown > 0) {
            unknownCharacters.addAndGet(unknown);
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    /** Text of token ids; a bytes vocabulary replaces invalid UTF-8 sequences with U+FFFD. */
    public String decode(int[] ids) {
        if (kind == Kind.BYTES) {
            byte[] utf8 = new byte[ids.length];
            for (int i = 0; i < ids.length; i++) {
                utf8[i] = (byte) checkId(ids[i]);
            }
            return new String(utf8, StandardCharsets.UTF_8);
        }
        StringBuilder text = new StringBuilder(ids.length);
        for (int id : ids) {
            text.appendCodePoint(codePoints[checkId(id)]);
        }
        return text.toString();
    }

    /** Characters skipped by {@link #encode} since this vocabulary was made. */
    public long unknownCharacters() {
        return unknownCharacters.get();
    }

    private int checkId(int id) {
        if (id < 0 || id >= size()) {
            throw new IllegalArgumentException(
                    "token id " + id + " outside vocabulary of size " + size());
        }
        return id;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Vocabulary other
                && kind == other.kind
                && Arrays.equals(codePoints, other.codePoints);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, Arrays.hashCode(codePoints));
    }

    @Override
    public String toString() {
        return kind == Kind.BYTES ? "bytes(256)" : "chars(" + codePoints.length + ")";
    }
}
