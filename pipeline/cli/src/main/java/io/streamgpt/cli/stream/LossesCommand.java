package io.streamgpt.cli.stream;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.TopicsConfig;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/**
 * Prints the loss records of the losses topic: a table for people, or CSV or JSON lines for tools;
 * with {@code --follow} it keeps printing new ones. The job's other evaluation records (val_data,
 * prequential, lineage) are counted by kind and records that are not the job's are counted and
 * skipped (the counts go to standard error).
 */
@Command(
        name = "losses",
        mixinStandardHelpOptions = true,
        modelTransformer = LossesCommand.Options.class,
        description =
                "Print the job's loss records (train and validation loss per evaluated step) as a"
                        + " table, CSV or JSON lines.")
public final class LossesCommand implements Callable<Integer> {

    /** The job's Kafka and the topics this command reads. */
    public static final class Options extends KafkaOptions {
        public Options() {
            super(TopicsConfig.LOSSES);
        }
    }

    /** The output format; a table when neither is given. */
    static final class Format {
        @Option(names = "--csv", description = "CSV with a header line.")
        boolean csv;

        @Option(names = "--jsonl", description = "One JSON record per line, as on the topic.")
        boolean jsonl;
    }

    static final String CSV_HEADER =
            "step,round,generation,tokens,train_loss,val_loss,val_windows,time_ms";

    @Spec CommandSpec spec;

    @ArgGroup(exclusive = true)
    Format format = new Format();

    @Option(names = "--follow", description = "Keep printing new records until interrupted.")
    boolean follow;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String topic = ParamOptions.value(spec, TopicsConfig.LOSSES);
        try (LossReader reader = LossReader.open(KafkaOptions.settings(spec), topic)) {
            if (format.csv) {
                out.println(CSV_HEADER);
            } else if (!format.jsonl) { // JSON lines have no header
                out.println(
                        String.format(
                                Locale.ROOT,
                                "%8s %6s %3s %12s %8s %8s",
                                "step",
                                "round",
                                "gen",
                                "tokens",
                                "train",
                                "val"));
            }
            print(out, reader.readAll(Duration.ofSeconds(30)));
            long foreign = reader.foreign();
            while (follow && !Thread.currentThread().isInterrupted()) {
                print(out, reader.poll(Duration.ofSeconds(1)));
                if (reader.foreign() > foreign) {
                    foreign = reader.foreign();
                    spec.commandLine()
                            .getErr()
                            .printf("(%d records skipped: not the job's records)%n", foreign);
                }
            }
            PrintWriter err = spec.commandLine().getErr();
            if (!reader.evaluations().isEmpty()) {
                err.println(evaluationsLine(reader.evaluations(), topic));
            }
            if (reader.foreign() > 0) {
                err.printf(
                        "(%d records on %s skipped: not the job's records)%n",
                        reader.foreign(), topic);
            }
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage(), e); // no topic, no Kafka: one line
        }
        return 0;
    }

    /**
     * The job's other evaluation records, which this table does not show: e.g. "(6 evaluation
     * records on losses not shown: lineage 2, prequential 2, val_data 2)".
     */
    static String evaluationsLine(Map<String, Long> byKind, String topic) {
        long total = byKind.values().stream().mapToLong(Long::longValue).sum();
        StringJoiner kinds = new StringJoiner(", ");
        byKind.forEach((kind, count) -> kinds.add(kind + " " + count));
        return "(" + total + " evaluation records on " + topic + " not shown: " + kinds + ")";
    }

    private void print(PrintWriter out, List<Reports.LossRecord> losses) {
        for (Reports.LossRecord loss : losses) {
            out.println(line(loss));
        }
        out.flush();
    }

    String line(Reports.LossRecord loss) {
        if (format.jsonl) {
            return Reports.toJson(loss);
        }
        if (format.csv) {
            return String.format(
                    Locale.ROOT,
                    "%d,%d,%d,%d,%s,%s,%d,%d",
                    loss.step(),
                    loss.round(),
                    loss.generation(),
                    loss.tokens(),
                    loss.trainLoss() == null ? "" : loss.trainLoss(),
                    loss.valLoss() == null ? "" : loss.valLoss(),
                    loss.valWindows(),
                    loss.timeMs());
        }
        return String.format(
                Locale.ROOT,
                "%8d %6d %3d %12d %8s %8s",
                loss.step(),
                loss.round(),
                loss.generation(),
                loss.tokens(),
                loss.trainLoss() == null
                        ? "-"
                        : String.format(Locale.ROOT, "%.4f", loss.trainLoss()),
                loss.valLoss() == null ? "-" : String.format(Locale.ROOT, "%.4f", loss.valLoss()));
    }
}
