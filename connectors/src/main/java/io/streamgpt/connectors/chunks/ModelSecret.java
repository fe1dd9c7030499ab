package io.streamgpt.connectors.chunks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Where the model loop's HMAC key is, and reading it. A location is {@code file:PATH} (a leading
 * {@code ~/} is the home directory) or {@code env:NAME}; the key is the file's content or the
 * variable's value, UTF-8, surrounding whitespace trimmed, at least {@value #MIN_BYTES} bytes. Only
 * the location travels (job arguments, the printed config); the key is read where it is used, and
 * no message here ever contains it.
 */
public final class ModelSecret {

    /** The shortest key accepted: 256 bits, as many as the tag has. */
    public static final int MIN_BYTES = 32;

    private static final String FILE = "file:";
    private static final String ENV = "env:";

    private ModelSecret() {}

    /** Whether {@code location} is one this class reads. */
    public static boolean isLocation(String location) {
        return location != null
                && ((location.startsWith(FILE) && location.length() > FILE.length())
                        || (location.startsWith(ENV) && location.length() > ENV.length()));
    }

    /**
     * The key at {@code location}.
     *
     * @throws IllegalArgumentException naming the location (never the key) if it is missing,
     *     unreadable or too short
     */
    public static byte[] read(String location) {
        String text;
        if (!isLocation(location)) {
            throw new IllegalArgumentException(
                    "model secret location must be file:PATH or env:NAME, got " + location);
        }
        if (location.startsWith(ENV)) {
            String name = location.substring(ENV.length());
            text = System.getenv(name);
            if (text == null) {
                throw new IllegalArgumentException(
                        "the model secret's environment variable " + name + " is not set");
            }
        } else {
            Path path = path(location);
            try {
                text = Files.readString(path, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        "cannot read the model secret file "
                                + path
                                + " ("
                                + e.getClass().getSimpleName()
                                + "): create it with `streamgpt local`/`submit`, or"
                                + " `head -c 32 /dev/urandom | xxd -p -c 64 > FILE`",
                        e);
            }
        }
        byte[] key = text.strip().getBytes(StandardCharsets.UTF_8);
        if (key.length < MIN_BYTES) {
            throw new IllegalArgumentException(
                    "the model secret at "
                            + location
                            + " has "
                            + key.length
                            + " bytes, at least "
                            + MIN_BYTES
                            + " needed");
        }
        return key;
    }

    /**
     * Makes sure a key exists at {@code location}: a missing {@code file:} is created with 32
     * random bytes (64 hex digits), readable by its owner only; an {@code env:} variable must be
     * set. Returns true if it created the file.
     */
    public static boolean ensure(String location) {
        if (location != null && location.startsWith(FILE)) {
            Path path = path(location);
            if (!Files.exists(path)) {
                byte[] random = new byte[32];
                new SecureRandom().nextBytes(random);
                try {
                    create(path, HexFormat.of().formatHex(random) + "\n");
                    return true;
                } catch (FileAlreadyExistsException raced) {
                    // another process created it first: theirs is the key
                } catch (IOException e) {
                    throw new UncheckedIOException(
                            "cannot create the model secret file " + path, e);
                }
            }
        }
        read(location); // an env: variable that is not set, or a file too short, fails here
        return false;
    }

    /** The file of a {@code file:} location. */
    public static Path path(String location) {
        String file = location.substring(FILE.length());
        if (file.startsWith("~/")) {
            return Path.of(System.getProperty("user.home"), file.substring(2));
        }
        return Path.of(file);
    }

    private static void create(Path path, String content) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        boolean posix = path.getFileSystem().supportedFileAttributeViews().contains("posix");
        if (parent != null && !Files.isDirectory(parent)) {
            if (posix) {
                Files.createDirectories(
                        parent,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(parent);
            }
        }
        if (posix) {
            // created with 0600 from the start: never readable by others, not even briefly
            Files.createFile(
                    path,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(path);
        }
        Files.writeString(path, content, StandardCharsets.UTF_8);
    }
}
