package io.streamgpt.cli;

import org.apache.kafka.common.KafkaException;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * What {@code streamgpt} says when a command fails, and its exit code: one line on stderr, the
 * stack trace only with {@code --verbose}.
 *
 * <ul>
 *   <li>{@link StreamGpt#EXIT_USAGE} (2): the command line or a config is wrong, before anything
 *       ran: an {@link IllegalArgumentException} (picocli's own parameter errors get 2 too), a
 *       named input file that does not exist.
 *   <li>{@link StreamGpt#EXIT_FAILURE} (1): the work failed in a state of the world, not of the
 *       options: a {@link CommandFailure} (no job running, a port in use, a service that exited), a
 *       service that cannot be reached, anything else. When a service the command points at through
 *       an option ({@code --bootstrap-servers}, {@code --flink}) does not accept a connection, the
 *       line names it and that option, whatever the exception said.
 * </ul>
 *
 * An {@link IllegalArgumentException} caused by a timeout or a Kafka error (the checks before a job
 * starts wrap "Kafka did not answer" in one) is an unavailable service, not a usage error.
 */
final class Failures {

    /** The options that point a command at a service, with the service's name. */
    private record ServiceOption(String option, String service) {}

    private static final List<ServiceOption> SERVICE_OPTIONS =
            List.of(
                    new ServiceOption("--bootstrap-servers", "Kafka"),
                    new ServiceOption("--flink", "Flink's REST API"));

    /**
     * Commands that run their own in-process Kafka unless told otherwise: for them the default
     * {@code --bootstrap-servers} is not where they went, so only a given one is probed.
     */
    private static final java.util.Set<String> OWN_KAFKA =
            java.util.Set.of("streamgpt local", "streamgpt bench pipeline", "streamgpt bench soak");

    /**
     * Said once, here, wherever Kafka is reported unreachable or silent: a secured broker spoken to
     * without its client config takes the connection but never answers.
     */
    static final String SECURED_KAFKA_HINT =
            " (a secured Kafka needs --kafka-config, see docs/security.md)";

    /** How long a probe of a service's address waits for a connection. */
    private static final int PROBE_TIMEOUT_MS = 1000;

    private Failures() {}

    /** Prints the failure of {@code command} and returns its exit code. */
    static int report(Exception e, CommandLine command, CommandLine.ParseResult parsed) {
        PrintWriter err = command.getErr();
        int exit;
        String line;
        Optional<String> unreachable =
                isUsageError(e) || portInUse(e).isPresent()
                        ? Optional.empty()
                        : unreachableService(command, leaf(parsed), oneLine(e.getMessage(), e));
        if (unreachable.isPresent()) {
            exit = StreamGpt.EXIT_FAILURE;
            line = unreachable.get();
        } else if (isUsageError(e)) {
            exit = StreamGpt.EXIT_USAGE;
            line =
                    e instanceof NoSuchFileException missing
                            ? "no file " + missing.getFile()
                            : oneLine(e.getMessage(), e);
        } else {
            exit = StreamGpt.EXIT_FAILURE;
            line = describe(e) + (kafkaTimedOut(e) ? SECURED_KAFKA_HINT : "");
        }
        boolean verbose = verbose(parsed);
        boolean unexpected =
                unreachable.isEmpty()
                        && exit == StreamGpt.EXIT_FAILURE
                        && portInUse(e).isEmpty()
                        && !isExpected(e);
        err.println(
                "streamgpt: "
                        + line
                        + (unexpected && !verbose ? " (--verbose shows the stack trace)" : ""));
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return exit;
    }

    /** Whether {@code --verbose} was given, on {@code streamgpt} or on a subcommand. */
    static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    private static CommandLine.ParseResult leaf(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult p = parsed;
        while (p != null && p.subcommand() != null) {
            p = p.subcommand();
        }
        return p;
    }

    private static boolean isUsageError(Exception e) {
        if (e instanceof NoSuchFileException) {
            return true;
        }
        if (!(e instanceof IllegalArgumentException)) {
            return false;
        }
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof TimeoutException
                    || cause instanceof KafkaException
                    || cause instanceof java.net.ConnectException) {
                return false;
            }
        }
        return true;
    }

    /**
     * Failures whose message is the whole story (a {@link CommandFailure}, a config error, a
     * service's own answer): no hint at a stack trace.
     */
    private static boolean isExpected(Exception e) {
        return e instanceof CommandFailure
                || e instanceof IllegalArgumentException
                || e instanceof IllegalStateException
                || e instanceof IOException
                || e instanceof KafkaException;
    }

    /**
     * The first service the command points at that does not accept a TCP connection, as the line to
     * print: the failure's own message when it names the address already, else "cannot reach", then
     * what to do.
     */
    private static Optional<String> unreachableService(
            CommandLine command, CommandLine.ParseResult leaf, String message) {
        CommandSpec spec = command.getCommandSpec();
        for (ServiceOption service : SERVICE_OPTIONS) {
            OptionSpec option = spec.findOption(service.option());
            if (option == null || option.getValue() == null) {
                continue;
            }
            if (OWN_KAFKA.contains(spec.qualifiedName())
                    && (leaf == null || !leaf.hasMatchedOption(service.option()))) {
                continue;
            }
            String address = String.valueOf((Object) option.getValue());
            if (!anyAccepts(address)) {
                String what =
                        message.contains(address)
                                ? message
                                : "cannot reach " + service.service() + " at " + address;
                return Optional.of(
                        what
                                + (service.service().equals("Kafka") ? SECURED_KAFKA_HINT : "")
                                + ": start it (`streamgpt stack up`) or point "
                                + service.option()
                                + " elsewhere");
            }
        }
        return Optional.empty();
    }

    /**
     * Whether any of {@code address}'s endpoints ({@code host:port[,host:port]} or a URL) accepts a
     * connection within the probe timeout.
     */
    static boolean anyAccepts(String address) {
        for (String endpoint : address.split(",")) {
            String hostPort = endpoint.strip();
            String host;
            int port;
            try {
                if (hostPort.contains("://")) {
                    URI uri = URI.create(hostPort);
                    host = uri.getHost();
                    port =
                            uri.getPort() > 0
                                    ? uri.getPort()
                                    : "https".equals(uri.getScheme()) ? 443 : 80;
                } else {
                    int colon = hostPort.lastIndexOf(':');
                    host = hostPort.substring(0, colon);
                    port = Integer.parseInt(hostPort.substring(colon + 1));
                }
            } catch (RuntimeException unparsable) {
                return true; // not an address this can probe: let the failure speak
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(host, port), PROBE_TIMEOUT_MS);
                return true;
            } catch (IOException refused) {
                // try the next endpoint
            }
        }
        return false;
    }

    private static Optional<BindException> portInUse(Exception e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof BindException bind) {
                return Optional.of(bind);
            }
        }
        return Optional.empty();
    }

    /** One line for a failure of the work. */
    private static String describe(Exception e) {
        Optional<BindException> bind = portInUse(e);
        if (bind.isPresent()) {
            String reason = oneLine(bind.get().getMessage(), bind.get());
            String message = oneLine(e.getMessage(), e);
            return "a port is in use: "
                    + (message.equals(reason) ? reason : message + " (" + reason + ")")
                    + ": stop what holds it or choose another port";
        }
        if (isExpected(e)) {
            return oneLine(e.getMessage(), e);
        }
        return e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + oneLine(e.getMessage(), e));
    }

    /** Whether a Kafka client gave up waiting for the broker somewhere behind {@code e}. */
    private static boolean kafkaTimedOut(Exception e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof org.apache.kafka.common.errors.TimeoutException
                    || (cause instanceof TimeoutException
                            && String.valueOf(e.getMessage()).contains("Kafka"))) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String message, Throwable e) {
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return message.lines().findFirst().orElse("").strip();
    }
}
