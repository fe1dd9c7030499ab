package io.streamgpt.cli;

import java.nio.file.Path;

/**
 * Locations inside the streamgpt checkout: the system property {@code streamgpt.home}, else the
 * launcher's STREAMGPT_HOME, else the working directory.
 */
public final class Paths {

    private Paths() {}

    public static Path home() {
        String home = System.getProperty("streamgpt.home", System.getenv("STREAMGPT_HOME"));
        return Path.of(home != null ? home : System.getProperty("user.dir"));
    }

    /** The tiny Shakespeare corpus shipped with the project. */
    public static Path shakespeare() {
        return home().resolve("data").resolve("tinyshakespeare.txt");
    }
}
