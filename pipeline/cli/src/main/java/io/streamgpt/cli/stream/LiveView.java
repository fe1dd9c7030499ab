package io.streamgpt.cli.stream;

import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.JobConfig;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Prints the job's loss records and samples as they arrive on their topics, and the input's
 * unknown-character rate ({@link InputRate}) when it changes.
 */
public final class LiveView implements AutoCloseable {

    private final KafkaConsumer<String, String> consumer;
    private final JobConfig config;
    private final PrintWriter out;
    private long lastTokens = -1;
    private long lastTime;
    private final long sinceMs;
    private final InputRate input;
    private long skipped; // foreign or damaged records on the two topics, counted and skipped

    /** Shows records written from {@code sinceMs} on (topics may hold records of earlier runs). */
    LiveView(JobConfig config, PrintWriter out, long sinceMs) {
        this(config, out, sinceMs, null);
    }

    /** The same with the input line from {@code input} (null: none). */
    LiveView(JobConfig config, PrintWriter out, long sinceMs, InputRate input) {
        this.input = input;
        this.config = config;
        this.out = out;
        this.sinceMs = sinceMs;
        consumer = KafkaStreams.textConsumer(config.kafka().clientSettings(), "streamgpt-view");
        consumer.subscribe(List.of(config.topics().losses(), config.topics().samples()));
    }

    /** The step of the last loss record a run with max_steps writes; 0 when it trains forever. */
    static long lastReportedStep(JobConfig config) {
        if (config.replicas().maxSteps() == 0) {
            return 0;
        }
        long lastRound = // with streamed fragments a round every K / F steps
                config.replicas().maxSteps()
                        / config.sync().stepsPerRound()
                        * config.sync().stepsPerRound();
        return Math.max(
                1, lastRound / config.evaluation().interval() * config.evaluation().interval());
    }

    /**
     * Prints what arrived within a second; true once a loss record at {@code stopAt} (if > 0)
     * arrived.
     */
    boolean poll(long stopAt) throws InterruptedException {
        boolean done = false;
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1))) {
            if (record.topic().equals(config.topics().losses())) {
                EvalRecords.LossesTopicRecord read =
                        EvalRecords.LossesTopicRecord.parse(record.value());
                Reports.LossRecord loss = read.loss();
                if (loss == null) {
                    if (read.isForeign()) { // another kind is the job's too
                        skip(record);
                    }
                    continue;
                }
                if (loss.timeMs() < sinceMs) {
                    continue;
                }
                print(loss);
                done |= stopAt > 0 && loss.step() >= stopAt;
            } else {
                Reports.SampleRecord sample =
                        Reports.fromJsonOrNull(record.value(), Reports.SampleRecord.class);
                if (sample == null) {
                    skip(record);
                    continue;
                }
                if (sample.timeMs() < sinceMs) {
                    continue;
                }
                out.printf(
                        Locale.ROOT,
                        "--- sample at step %d ---%n%s%n---%n",
                        sample.step(),
                        sample.text());
            }
        }
        String inputLine = input == null ? null : done ? input.finalLine() : input.changedLine();
        if (inputLine != null) {
            out.println(inputLine);
        }
        out.flush();
        return done;
    }

    /** A record that is not the job's: one line with where it is, and the view goes on. */
    private void skip(ConsumerRecord<String, String> record) {
        skipped++;
        out.printf(
                Locale.ROOT,
                "(skipped a record that is not the job's on %s, partition %d, offset %d; %d so"
                        + " far)%n",
                record.topic(),
                record.partition(),
                record.offset(),
                skipped);
    }

    /** Records skipped because they were not the job's loss or sample records. */
    long skipped() {
        return skipped;
    }

    private void print(Reports.LossRecord loss) {
        String speed = "";
        if (lastTokens >= 0 && loss.timeMs() > lastTime) {
            speed =
                    String.format(
                            Locale.ROOT,
                            " | %6.0f tok/s",
                            (loss.tokens() - lastTokens) * 1000.0 / (loss.timeMs() - lastTime));
        }
        lastTokens = loss.tokens();
        lastTime = loss.timeMs();
        StringBuilder replicas = new StringBuilder();
        for (Float l : loss.replicaTrainLoss()) {
            replicas.append(replicas.length() == 0 ? "" : ", ")
                    .append(l == null ? "-" : String.format(Locale.ROOT, "%.3f", l));
        }
        out.printf(
                Locale.ROOT,
                "step %6d | round %5d%s | train %s (%s) | val %s%n",
                loss.step(),
                loss.round(),
                speed,
                format(loss.trainLoss()),
                replicas,
                format(loss.valLoss()));
    }

    private static String format(Float value) {
        return value == null ? "-" : String.format(Locale.ROOT, "%.4f", value);
    }

    @Override
    public void close() {
        consumer.close();
    }
}
