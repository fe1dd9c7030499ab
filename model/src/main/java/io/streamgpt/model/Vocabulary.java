package io.streamgpt.model;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fixed token vocabulary of a model: chosen when the model is created and saved with it, so a
 * stream never changes the meaning of a token id.
 *
 * <p>Two kinds exist. A <em>character</em> vocabulary maps each of a sorted set of Unicode code
 * points to its index, as the reference does with {@code sorted(set(text))}; characters outside it
 * are skipped and counted, never thrown, because a live stream will contain some. A <em>bytes</em>
 * vocabulary has the 256 byte values of the UTF-8 encoding and so accepts any text.
 *
 * <p>Line ends are one token: CRLF and a lone CR are read as LF ({@link #normalizeNewlines}) by the
 * tokenizer, by {@link #ofCorpus} and by {@code train}, so a Windows file neither adds CR to a
 * vocabulary nor loses it as unknown. docs/text.md has the whole policy.
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

    /**
     * Prefix of a character vocabulary named by its content: the Base64 of its UTF-8 characters.
     */
    public static final String CONTENT_PREFIX = "chars-base64:";

    /**
     * The sorted set of characters of a UTF-8 corpus file, its line ends normalised; read in
     * pieces, so a large file never sits in memory whole.
     */
    public static Vocabulary ofCorpus(Path file) throws IOException {
        TreeSet<Integer> distinct = new TreeSet<>();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            char[] buffer = new char[1 << 16];
            char pendingHigh = 0; // a surrogate pair cut by the buffer's end
            int n;
            while ((n = in.read(buffer)) > 0) {
                String piece =
                        (pendingHigh != 0 ? String.valueOf(pendingHigh) : "")
                                + new String(buffer, 0, n);
                pendingHigh = 0;
                if (Character.isHighSurrogate(piece.charAt(piece.length() - 1))) {
                    pendingHigh = piece.charAt(piece.length() - 1);
                    piece = piece.substring(0, piece.length() - 1);
                }
                piece.codePoints().forEach(cp -> distinct.add(cp == '\r' ? '\n' : cp));
            }
            if (pendingHigh != 0) {
                distinct.add((int) pendingHigh);
            }
        }
        if (distinct.isEmpty()) {
            throw new IllegalArgumentException("cannot build a vocabulary from empty file " + file);
        }
        return new Vocabulary(Kind.CHARS, distinct.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * CRLF and a lone CR as LF: text from Windows or old Mac files trains as the same tokens as
     * from Unix ones.
     */
    public static String normalizeNewlines(String text) {
        if (text.indexOf('\r') < 0) {
            return text;
        }
        return text.replace("\r\n", "\n").replace('\r', '\n');
    }

    /** The 256 byte values of UTF-8: any text can be encoded. */
    public static Vocabulary bytes() {
        return new Vocabulary(Kind.BYTES, new int[0]);
    }

    /**
     * A vocabulary by name: {@code shakespeare} (the 65 characters of tiny Shakespeare), {@code
     * bytes}, {@code chars-base64:...} (its characters, as {@link #spec} writes them), or otherwise
     * the path of a corpus file whose characters make the vocabulary.
     */
    public static Vocabulary named(String nameOrCorpus) throws IOException {
        if (nameOrCorpus.startsWith(CONTENT_PREFIX)) {
            String characters;
            try {
                characters =
                        new String(
                                Base64.getDecoder()
                                        .decode(nameOrCorpus.substring(CONTENT_PREFIX.length())),
                                StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "vocabulary " + CONTENT_PREFIX + "... is not Base64: " + e.getMessage());
            }
            return ofCharacters(characters);
        }
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

    /**
     * The vocabulary by content, for job arguments that travel to a cluster: {@code shakespeare}
     * and {@code bytes} by name, any other character vocabulary as {@code chars-base64:} and its
     * characters, never a path that only this machine can read.
     */
    public String spec() {
        if (kind == Kind.BYTES) {
            return "bytes";
        }
        if (characters().equals(SHAKESPEARE_CHARS)) {
            return "shakespeare";
        }
        return CONTENT_PREFIX
                + Base64.getEncoder().encodeToString(characters().getBytes(StandardCharsets.UTF_8));
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
