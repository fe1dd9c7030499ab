package io.streamgpt.cli.stack;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A process that logs {@code args[0]} numbered lines of about 100 bytes through log4j and prints
 * {@code args[1]} to stdout: a stack service that logs a lot, for {@link StackLogsTest}.
 */
public final class LogFlood {

    private LogFlood() {}

    public static void main(String[] args) {
        Logger log = LogManager.getLogger(LogFlood.class);
        int lines = Integer.parseInt(args[0]);
        for (int i = 0; i < lines; i++) {
            log.info("line {} {}", i, "x".repeat(40));
        }
        System.out.println(args[1]);
        LogManager.shutdown();
    }
}
