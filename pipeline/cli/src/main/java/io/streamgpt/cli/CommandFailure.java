package io.streamgpt.cli;

/**
 * The command could not do its work for a reason outside its options (a service that did not start,
 * a directory of another cluster): {@code streamgpt} prints the message as one line and exits with
 * {@link StreamGpt#EXIT_FAILURE}, without a stack trace. The message must say what failed and where
 * to look (a log, a file).
 */
public final class CommandFailure extends RuntimeException {

    public CommandFailure(String message) {
        super(message);
    }

    public CommandFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
